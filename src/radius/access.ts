// Decides an Access-Request (RFC 2865): PAP or CHAP against the user directory, and the reply
// attributes of an Access-Accept. Returns what to answer; the server builds and signs it.

import { timingSafeEqual } from "node:crypto";
import { UserDirectory, type UserEntry } from "../auth/users.ts";
import type { AuthenticateRequest, ReplyAttributes } from "../plugins/api.ts";
import type { PluginHost } from "../plugins/host.ts";
import { decodeAttributes, encodeAttribute } from "./attributes.ts";
import { Attr, PacketCode } from "./constants.ts";
import { chapPasswordMatches, unhideUserPassword } from "./crypto.ts";
import type { Dictionary } from "./dictionary.ts";
import { findAttribute, readText, type RadiusPacket, type RawAttribute } from "./packet.ts";

export interface AccessDecision {
  code: typeof PacketCode.AccessAccept | typeof PacketCode.AccessReject;
  attributes: RawAttribute[];
  user: string | null;
  method: "pap" | "chap" | "none";
  /** Which plugin decided, when one did. */
  decidedBy?: "plugins" | "users";
  /** Why, for the log (never sent: the NAS only sees a generic Reply-Message). */
  reason: string;
  /** The Acct-Interim-Interval an Access-Accept carries (seconds), if any. */
  interimInterval?: number;
}

export interface AccessContext {
  users: UserDirectory;
  plugins: PluginHost;
  dictionary: Dictionary;
  secret: Buffer;
  /** The configured client's name. */
  client: string;
  /** Seconds; sent as Acct-Interim-Interval when the user's reply has none (0: not sent). */
  defaultInterimInterval: number;
}

export const REJECT_MESSAGE = "Authentication failed";

/** The reply attributes of a user, as wire attributes. Throws a readable error on a bad entry. */
export function encodeReply(
  dict: Dictionary,
  reply: Record<string, string | number>,
  defaultInterimInterval: number,
  interimInterval?: number,
): { attributes: RawAttribute[]; interval: number | undefined } {
  const out: RawAttribute[] = [];
  let configured: number | undefined;
  for (const [name, value] of Object.entries(reply)) {
    if (name.toLowerCase() === "acct-interim-interval") {
      // A plugin's interval (from authenticate) wins over the configured one.
      if (interimInterval !== undefined) continue;
      configured = Number(value);
    }
    out.push(...encodeAttribute(dict, name, value));
  }
  const interval = interimInterval ?? (configured !== undefined ? undefined : defaultInterimInterval);
  if (interval !== undefined && interval > 0) out.push(...encodeAttribute(dict, "Acct-Interim-Interval", interval));
  const sent = interval !== undefined && interval > 0 ? interval : configured;
  return { attributes: out, interval: sent !== undefined && Number.isInteger(sent) && sent > 0 ? sent : undefined };
}

function reject(dict: Dictionary, user: string | null, method: AccessDecision["method"], reason: string): AccessDecision {
  return {
    code: PacketCode.AccessReject,
    attributes: encodeAttribute(dict, "Reply-Message", REJECT_MESSAGE),
    user,
    method,
    reason,
  };
}

function checkChap(user: UserEntry, packet: RadiusPacket, chapPassword: Buffer): boolean | "no-cleartext" {
  if (user.cleartext === null) return "no-cleartext";
  const challenge = findAttribute(packet, Attr.ChapChallenge) ?? packet.authenticator;
  return chapPasswordMatches(chapPassword, challenge, Buffer.from(user.cleartext, "utf8"));
}

export async function decideAccess(packet: RadiusPacket, ctx: AccessContext): Promise<AccessDecision> {
  const nameAttr = findAttribute(packet, Attr.UserName);
  const name = nameAttr === undefined ? null : (readText(nameAttr) ?? null);
  if (name === null) return reject(ctx.dictionary, null, "none", "no User-Name");

  const hiddenPassword = findAttribute(packet, Attr.UserPassword);
  const chapPassword = findAttribute(packet, Attr.ChapPassword);
  const method = hiddenPassword !== undefined ? "pap" : chapPassword !== undefined ? "chap" : "none";
  if (method === "none") return reject(ctx.dictionary, name, method, "neither User-Password nor CHAP-Password");

  let password: Buffer | null = null;
  if (hiddenPassword !== undefined) {
    password = unhideUserPassword(hiddenPassword, ctx.secret, packet.authenticator);
    if (password === null) return reject(ctx.dictionary, name, method, "malformed User-Password");
  } else if (chapPassword!.length !== 17) {
    return reject(ctx.dictionary, name, method, "malformed CHAP-Password");
  }

  let pluginReply: ReplyAttributes = {};
  let pluginInterval: number | undefined;
  if (ctx.plugins.size > 0) {
    const verdict = await ctx.plugins.authenticate(pluginRequest(packet, ctx, name, method, password, chapPassword));
    if (verdict.status === "reject") return { ...reject(ctx.dictionary, name, method, verdict.reason ?? "rejected by a plugin"), decidedBy: "plugins" };
    if (verdict.status === "accept") return accept(ctx, name, method, verdict.reply, verdict.interimInterval, verdict.reason ?? "accepted by a plugin", "plugins");
    pluginReply = verdict.reply;
    pluginInterval = verdict.interimInterval;
  }

  const user = await ctx.users.find(name);
  if (user === null) return reject(ctx.dictionary, name, method, "unknown user");

  if (password !== null) {
    if (!UserDirectory.checkPassword(user, password)) return reject(ctx.dictionary, name, method, "wrong password");
  } else {
    const ok = checkChap(user, packet, chapPassword!);
    if (ok === "no-cleartext") return reject(ctx.dictionary, name, method, "CHAP needs a cleartext password; this user has a hash");
    if (!ok) return reject(ctx.dictionary, name, method, "wrong CHAP response");
  }

  return accept(ctx, name, method, { ...user.reply, ...pluginReply }, pluginInterval, "ok", "users");
}

function accept(
  ctx: AccessContext,
  name: string,
  method: AccessDecision["method"],
  reply: ReplyAttributes,
  interimInterval: number | undefined,
  reason: string,
  decidedBy: AccessDecision["decidedBy"],
): AccessDecision {
  try {
    const encoded = encodeReply(ctx.dictionary, reply, ctx.defaultInterimInterval, interimInterval);
    return {
      code: PacketCode.AccessAccept,
      attributes: encoded.attributes,
      user: name,
      method,
      decidedBy,
      reason,
      interimInterval: encoded.interval,
    };
  } catch (e) {
    return reject(ctx.dictionary, name, method, `reply attributes: ${(e as Error).message}`);
  }
}

/** What plugins see of an Access-Request; passwords only through verifyPassword (and PAP's cleartext). */
function pluginRequest(
  packet: RadiusPacket,
  ctx: AccessContext,
  user: string,
  method: "pap" | "chap",
  password: Buffer | null,
  chapPassword: Buffer | undefined,
): AuthenticateRequest {
  const hidden = new Set<number>([Attr.UserPassword, Attr.ChapPassword, Attr.MessageAuthenticator]);
  const attributes = decodeAttributes(packet.attributes.filter((a) => !hidden.has(a.type)), ctx.dictionary);
  const text = (n: string) => {
    const v = attributes.find((a) => a.name === n)?.value;
    return v === undefined ? null : String(v);
  };
  return {
    protocol: "radius",
    user,
    method,
    password: password === null ? null : password.toString("utf8"),
    verifyPassword(candidate: string): boolean {
      const c = Buffer.from(candidate, "utf8");
      if (password !== null) return c.length === password.length && timingSafeEqual(c, password);
      const challenge = findAttribute(packet, Attr.ChapChallenge) ?? packet.authenticator;
      return chapPasswordMatches(chapPassword!, challenge, c);
    },
    client: ctx.client,
    nas: text("NAS-Identifier") ?? text("NAS-IP-Address"),
    clientAddress: text("Calling-Station-Id"),
    attributes,
  };
}
