// Decides an Access-Request (RFC 2865): PAP or CHAP against the user directory, and the reply
// attributes of an Access-Accept. Returns what to answer; the server builds and signs it.

import { UserDirectory, type UserEntry } from "../auth/users.ts";
import { encodeAttribute } from "./attributes.ts";
import { Attr, PacketCode } from "./constants.ts";
import { chapPasswordMatches, unhideUserPassword } from "./crypto.ts";
import type { Dictionary } from "./dictionary.ts";
import { findAttribute, readText, type RadiusPacket, type RawAttribute } from "./packet.ts";

export interface AccessDecision {
  code: typeof PacketCode.AccessAccept | typeof PacketCode.AccessReject;
  attributes: RawAttribute[];
  user: string | null;
  method: "pap" | "chap" | "none";
  /** Why, for the log (never sent: the NAS only sees a generic Reply-Message). */
  reason: string;
}

export interface AccessContext {
  users: UserDirectory;
  dictionary: Dictionary;
  secret: Buffer;
  /** Seconds; sent as Acct-Interim-Interval when the user's reply has none (0: not sent). */
  defaultInterimInterval: number;
}

export const REJECT_MESSAGE = "Authentication failed";

/** The reply attributes of a user, as wire attributes. Throws a readable error on a bad entry. */
export function encodeReply(dict: Dictionary, reply: Record<string, string | number>, defaultInterimInterval: number): RawAttribute[] {
  const out: RawAttribute[] = [];
  let hasInterval = false;
  for (const [name, value] of Object.entries(reply)) {
    if (name.toLowerCase() === "acct-interim-interval") hasInterval = true;
    out.push(...encodeAttribute(dict, name, value));
  }
  if (!hasInterval && defaultInterimInterval > 0) {
    out.push(...encodeAttribute(dict, "Acct-Interim-Interval", defaultInterimInterval));
  }
  return out;
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

  const user = await ctx.users.find(name);
  if (user === null) return reject(ctx.dictionary, name, method, "unknown user");

  if (hiddenPassword !== undefined) {
    const password = unhideUserPassword(hiddenPassword, ctx.secret, packet.authenticator);
    if (password === null) return reject(ctx.dictionary, name, method, "malformed User-Password");
    if (!UserDirectory.checkPassword(user, password)) return reject(ctx.dictionary, name, method, "wrong password");
  } else {
    if (chapPassword!.length !== 17) return reject(ctx.dictionary, name, method, "malformed CHAP-Password");
    const ok = checkChap(user, packet, chapPassword!);
    if (ok === "no-cleartext") return reject(ctx.dictionary, name, method, "CHAP needs a cleartext password; this user has a hash");
    if (!ok) return reject(ctx.dictionary, name, method, "wrong CHAP response");
  }

  try {
    return {
      code: PacketCode.AccessAccept,
      attributes: encodeReply(ctx.dictionary, user.reply, ctx.defaultInterimInterval),
      user: name,
      method,
      reason: "ok",
    };
  } catch (e) {
    return reject(ctx.dictionary, name, method, `reply attributes: ${(e as Error).message}`);
  }
}
