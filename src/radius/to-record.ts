// Turns a verified RADIUS Accounting-Request into the protocol-neutral AccountingRecord
// (RFC 2866, RFC 2869 for Gigawords and Event-Timestamp). Pure: no I/O.

import { hash } from "node:crypto";
import type { AccountingRecord, RecordKind } from "../model/record.ts";
import { decodeAttributes } from "./attributes.ts";
import { AcctStatusType, Attr } from "./constants.ts";
import type { Dictionary } from "./dictionary.ts";
import { findAttribute, readInteger, readIpv4, readIpv6, readText, type RadiusPacket } from "./packet.ts";
import type { DropReason } from "./drops.ts";

const kindByStatusType = new Map<number, RecordKind>([
  [AcctStatusType.Start, "start"],
  [AcctStatusType.InterimUpdate, "interim"],
  [AcctStatusType.Stop, "stop"],
  [AcctStatusType.AccountingOn, "on"],
  [AcctStatusType.AccountingOff, "off"],
]);

/** Attributes that differ between a record and its retransmission (RFC 2866 section 5.2). */
const notPartOfIdentity = new Set<number>([Attr.AcctDelayTime, Attr.MessageAuthenticator, Attr.ProxyState]);

export interface RecordContext {
  client: string;
  sourceAddress: string;
  receivedAt: number;
  dictionary: Dictionary;
}

export type ToRecordResult = { ok: true; record: AccountingRecord } | { ok: false; reason: DropReason };

function text(p: RadiusPacket, type: number): string | null {
  const v = findAttribute(p, type);
  return v === undefined ? null : (readText(v) ?? null);
}

function integer(p: RadiusPacket, type: number): number | null {
  const v = findAttribute(p, type);
  return v === undefined ? null : (readInteger(v) ?? null);
}

/** Octets with their Gigawords folded into one 64-bit total (RFC 2869 section 5.1). */
function octets(p: RadiusPacket, low: number, high: number): number | null {
  const lo = integer(p, low);
  const hi = integer(p, high);
  if (lo === null && hi === null) return null;
  return (hi ?? 0) * 2 ** 32 + (lo ?? 0);
}

function address(p: RadiusPacket, v4: number, v6: number): string | null {
  const a = findAttribute(p, v4);
  if (a !== undefined) {
    const s = readIpv4(a);
    if (s !== undefined) return s;
  }
  const b = findAttribute(p, v6);
  return b === undefined ? null : (readIpv6(b) ?? null);
}

/** Reused for the dedup key's input: the main thread builds one key at a time. */
let identity = Buffer.allocUnsafe(8192);

/**
 * SHA-256 over "radius\0NAS\0CODE\0" and each attribute but those of notPartOfIdentity as
 * (type, value length, value): a retransmission gets the key of the first copy. The input is
 * assembled in one buffer and hashed at once (one update per attribute cost a fifth of the
 * record's making); the octets, and so the keys already stored, are those of the first version.
 */
export function dedupKeyOf(nas: string, p: RadiusPacket): string {
  const head = `radius\0${nas}\0${p.code}\0`;
  let need = Buffer.byteLength(head);
  for (const a of p.attributes) need += 2 + a.value.length;
  if (need > identity.length) identity = Buffer.allocUnsafe(need);
  let at = identity.write(head, 0);
  for (const a of p.attributes) {
    if (notPartOfIdentity.has(a.type)) continue;
    identity[at++] = a.type;
    identity[at++] = a.value.length;
    at += a.value.copy(identity, at);
  }
  return hash("sha256", identity.subarray(0, at), "base64url");
}

export function recordFromAccountingRequest(p: RadiusPacket, ctx: RecordContext): ToRecordResult {
  const statusType = integer(p, Attr.AcctStatusType);
  if (statusType === null) return { ok: false, reason: "missing-status-type" };
  const kind = kindByStatusType.get(statusType);
  if (kind === undefined) return { ok: false, reason: "unsupported-status-type" };
  const sessionId = text(p, Attr.AcctSessionId);
  if (sessionId === null && kind !== "on" && kind !== "off") return { ok: false, reason: "missing-session-id" };

  const nas =
    text(p, Attr.NasIdentifier) ??
    address(p, Attr.NasIpAddress, Attr.NasIpv6Address) ??
    ctx.sourceAddress;
  const eventTimestamp = integer(p, Attr.EventTimestamp);
  const delay = integer(p, Attr.AcctDelayTime) ?? 0;
  const eventTime = eventTimestamp !== null ? eventTimestamp * 1000 : ctx.receivedAt - delay * 1000;
  const cause = integer(p, Attr.AcctTerminateCause);
  const nasPort = text(p, Attr.NasPortId) ?? integer(p, Attr.NasPort)?.toString() ?? null;

  const record: AccountingRecord = {
    protocol: "radius",
    kind,
    receivedAt: ctx.receivedAt,
    eventTime,
    client: ctx.client,
    nas,
    user: text(p, Attr.UserName),
    sessionId: kind === "on" || kind === "off" ? null : sessionId,
    inputOctets: octets(p, Attr.AcctInputOctets, Attr.AcctInputGigawords),
    outputOctets: octets(p, Attr.AcctOutputOctets, Attr.AcctOutputGigawords),
    inputPackets: integer(p, Attr.AcctInputPackets),
    outputPackets: integer(p, Attr.AcctOutputPackets),
    sessionTime: integer(p, Attr.AcctSessionTime),
    terminateCause:
      cause === null ? null : (ctx.dictionary.standard(Attr.AcctTerminateCause)?.valueNames.get(cause) ?? String(cause)),
    framedAddress: address(p, Attr.FramedIpAddress, Attr.FramedIpv6Address),
    clientAddress: text(p, Attr.CallingStationId),
    nasPort,
    command: null,
    attributes: decodeAttributes(
      p.attributes.filter((a) => a.type !== Attr.MessageAuthenticator),
      ctx.dictionary,
    ),
    dedupKey: dedupKeyOf(nas, p),
  };
  return { ok: true, record };
}
