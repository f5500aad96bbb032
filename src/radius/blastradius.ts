// BlastRADIUS (CVE-2024-3596) defences for Access-Request, per client: when a Message-Authenticator
// is required, and when a Proxy-State without one is refused. "auto" learns from the client's own
// traffic, with the rules FreeRADIUS 3.2.5+ uses for `require_message_authenticator = auto` and
// `limit_proxy_state = auto` (FreeRADIUS's proto_radius decode step): the learnt state lives in the
// running server, keyed by client name, so a reload keeps it and a restart forgets it.

import { Attr } from "./constants.ts";
import type { DropReason } from "./drops.ts";
import type { RadiusPacket } from "./packet.ts";

/** A client's setting: always, never, or learnt from what the client sends. */
export type BlastRadiusSetting = boolean | "auto";

export interface BlastRadiusClient {
  name: string;
  requireMessageAuthenticator: BlastRadiusSetting;
  limitProxyState: BlastRadiusSetting;
}

interface Learnt {
  /** A valid Message-Authenticator arrived in an Access-Request (without EAP-Message). */
  sentMessageAuthenticator: boolean;
  /** limitProxyState auto: the first Access-Request has been looked at. */
  sawFirstRequest: boolean;
  /** limitProxyState auto: that first Access-Request carried no Proxy-State (a NAS, not a proxy). */
  firstRequestWithoutProxyState: boolean;
}

export interface BlastRadiusVerdict {
  /** Why to drop the request; null: let it through. */
  drop: DropReason | null;
  /** What this request taught the policy, for one info log line each. */
  learnt: { key: "requireMessageAuthenticator" | "limitProxyState"; now: boolean; why: string }[];
}

export class BlastRadiusPolicy {
  private readonly learnt = new Map<string, Learnt>();

  /**
   * Checks an Access-Request whose Message-Authenticator, if present, is already known to be
   * valid (an invalid one is dropped before this), and learns from it when it passes.
   */
  check(client: BlastRadiusClient, packet: RadiusPacket, hasMessageAuthenticator: boolean): BlastRadiusVerdict {
    let state = this.learnt.get(client.name);
    if (state === undefined) {
      state = { sentMessageAuthenticator: false, sawFirstRequest: false, firstRequestWithoutProxyState: false };
      this.learnt.set(client.name, state);
    }
    const has = (type: number) => packet.attributes.some((a) => a.type === type);
    const hasProxyState = has(Attr.ProxyState);

    const requireMa = client.requireMessageAuthenticator === true || (client.requireMessageAuthenticator === "auto" && state.sentMessageAuthenticator);
    const limitProxyState = client.limitProxyState === true || (client.limitProxyState === "auto" && state.firstRequestWithoutProxyState);
    if (!hasMessageAuthenticator && requireMa) return { drop: "missing-message-authenticator", learnt: [] };
    if (!hasMessageAuthenticator && hasProxyState && limitProxyState) return { drop: "proxy-state-without-message-authenticator", learnt: [] };

    const learnt: BlastRadiusVerdict["learnt"] = [];
    // requireMessageAuthenticator auto: one valid Message-Authenticator proves the client can send
    // it, so from then on it must (an attacker cannot forge one without the secret). Not from a
    // request with EAP-Message: RFC 3579 makes EAP carry one anyway, which says nothing about the
    // client's other requests.
    // With requireMessageAuthenticator false nothing is learnt, as in FreeRADIUS.
    if (client.requireMessageAuthenticator !== false && !state.sentMessageAuthenticator && hasMessageAuthenticator && !has(Attr.EapMessage)) {
      state.sentMessageAuthenticator = true;
      if (client.requireMessageAuthenticator === "auto") {
        learnt.push({ key: "requireMessageAuthenticator", now: true, why: "the client sent a valid Message-Authenticator" });
      }
    }
    // limitProxyState auto, FreeRADIUS's rule: decided once, by the client's first Access-Request
    // (while no Message-Authenticator is required of it). Without Proxy-State the client is a NAS,
    // and a later Proxy-State without Message-Authenticator is refused; with Proxy-State it is a
    // proxy, and Proxy-State stays allowed. Only the first request counts, so that a spoofed
    // request cannot later switch a real proxy over and cut it off.
    if (!state.sentMessageAuthenticator && client.limitProxyState === "auto" && !state.sawFirstRequest) {
      state.sawFirstRequest = true;
      state.firstRequestWithoutProxyState = !hasProxyState;
      learnt.push({
        key: "limitProxyState",
        now: !hasProxyState,
        why: hasProxyState ? "the first Access-Request carried Proxy-State (a proxy)" : "the first Access-Request carried no Proxy-State",
      });
    }
    return { drop: null, learnt };
  }
}
