// One FreeRADIUS detail entry -> the AccountingRecord the live RADIUS path would have built
// from the same Accounting-Request. The entry's attributes are encoded back to wire form
// through the dictionary, in the order FreeRADIUS wrote them, and handed to the same
// recordFromAccountingRequest the server uses: same fields, same session, same dedupKey.
//
// What FreeRADIUS adds that never travelled in the packet (its internal attributes:
// Acct-Unique-Session-Id, Tmp-*, Packet-Src-IP-Address, Timestamp, ...) is not part of the
// record; the source address and Timestamp say which client sent it and when it arrived.

import type { AccountingRecord } from "../model/record.ts";
import { encodeAttribute } from "../radius/attributes.ts";
import type { ClientTable } from "../radius/clients.ts";
import { Attr, PacketCode, VENDOR_ID_LENGTH } from "../radius/constants.ts";
import type { Dictionary } from "../radius/dictionary.ts";
import { dropReasonText } from "../radius/drops.ts";
import { findAttribute, type RawAttribute } from "../radius/packet.ts";
import { recordFromAccountingRequest } from "../radius/to-record.ts";
import { parseHex, parseIpv4, parseIpv6, readIpv4, readIpv6 } from "../radius/values.ts";
import type { DetailEntry, DetailLine } from "./detail-reader.ts";

export interface EntryContext {
  dictionary: Dictionary;
  clients: ClientTable;
  /** The client name for entries whose address no configured client covers (--client). */
  fallbackClient?: string;
}

export type EntryResult = { ok: true; record: AccountingRecord } | { ok: false; line: number; reason: string };

/**
 * FreeRADIUS's own attributes that its default configuration (or the detail module) writes
 * into detail files. Any other attribute the dictionary numbers above 255 (FreeRADIUS's
 * internal dictionary, when loaded through radius.dictionaries) is treated the same way.
 */
const SERVER_SIDE = new Set(
  [
    "Packet-Type", "Packet-Src-IP-Address", "Packet-Dst-IP-Address", "Packet-Src-IPv6-Address",
    "Packet-Dst-IPv6-Address", "Packet-Src-Port", "Packet-Dst-Port", "Client-IP-Address",
    "Client-IPv6-Address", "Client-Shortname", "Acct-Unique-Session-Id", "Acct-Session-Start-Time",
    "FreeRADIUS-Acct-Session-Start-Time", "Freeradius-Proxied-To", "Realm", "Stripped-User-Name",
    "Stripped-User-Domain", "Huntgroup-Name", "Hint", "Virtual-Server", "Module-Success-Message",
    "Module-Failure-Message", "SQL-User-Name", "Timestamp",
  ].map((n) => n.toLowerCase()),
);
/** Where the request came from, in the order they are trusted. */
const SOURCE_ADDRESS = ["packet-src-ip-address", "packet-src-ipv6-address", "client-ip-address", "client-ipv6-address"];

function isServerSide(name: string, dictionary: Dictionary): boolean {
  const lower = name.toLowerCase();
  if (SERVER_SIDE.has(lower) || lower.startsWith("tmp-")) return true;
  const def = dictionary.attribute(name);
  return def !== undefined && def.vendorId === 0 && def.evsContainer === undefined && def.oid.length === 1 && def.oid[0]! > 255;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** The header FreeRADIUS writes (`%t`, ctime in the server's local time) as if it were UTC. */
function headerAsUtc(header: string | null): number | undefined {
  const m = header === null ? null : /^[A-Z][a-z]{2}\s+([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+(\d{4})$/.exec(header);
  if (!m) return undefined;
  const month = MONTHS.indexOf(m[1]!);
  if (month < 0) return undefined;
  return Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
}

/** Local wall-clock fields -> ms, in this process's time zone (TZ). */
function localTime(utcFields: number): number {
  const d = new Date(utcFields);
  return new Date(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()).getTime();
}

/**
 * A date as FreeRADIUS 3 prints it: "Nov 22 2026 06:00:00 UTC" (strftime "%b %e %Y %H:%M:%S
 * %Z", in the server's local time). UTC/GMT and numeric offsets are exact; another zone name
 * uses `zoneOffset` (the server's offset, known from an entry's header and Timestamp), else
 * this process's time zone. Seconds since 1970, or undefined.
 */
export function parseFreeradiusDate(text: string, zoneOffset: number | null): number | undefined {
  const m = /^([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2})(?:\s+(\S+))?$/.exec(text.trim());
  if (!m) return undefined;
  const month = MONTHS.indexOf(m[1]!);
  if (month < 0) return undefined;
  const fields = Date.UTC(Number(m[3]), month, Number(m[2]), Number(m[4]), Number(m[5]), Number(m[6]));
  const zone = m[7];
  let ms: number;
  const numeric = zone === undefined ? null : /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (zone !== undefined && /^(UTC|GMT|UT|Z)$/i.test(zone)) ms = fields;
  else if (numeric) ms = fields - (numeric[1] === "-" ? -1 : 1) * (Number(numeric[2]) * 60 + Number(numeric[3])) * 60_000;
  else if (zoneOffset !== null) ms = fields - zoneOffset;
  else ms = localTime(fields);
  return Math.floor(ms / 1000);
}

const QUARTER_HOUR = 15 * 60_000;

/** A `Name = 0x...` line FreeRADIUS wrote for an attribute its dictionary did not know. */
function unknownAttribute(l: DetailLine): RawAttribute[] | string | undefined {
  const std = /^Attr-(\d{1,3})$/.exec(l.name);
  const vsa = /^(?:Attr-26\.(\d+)\.(\d{1,3})|Vendor-(\d+)-Attr-(\d{1,3}))$/.exec(l.name);
  if (!std && !vsa) return undefined;
  const value = l.quoted ? undefined : parseHex(l.value);
  if (value === undefined) return `${l.name}: expected 0x followed by hex digits, got ${JSON.stringify(l.value)}`;
  if (std) {
    const type = Number(std[1]);
    if (type < 1 || type > 255) return `${l.name}: attribute number ${type} is not 1-255`;
    return [{ type, value }];
  }
  const vendor = Number(vsa![1] ?? vsa![3]);
  const type = Number(vsa![2] ?? vsa![4]);
  if (vendor > 0xffffffff || type > 255 || value.length > 253 - VENDOR_ID_LENGTH - 2) return `${l.name}: cannot be put in a Vendor-Specific attribute`;
  const head = Buffer.alloc(VENDOR_ID_LENGTH + 2);
  head.writeUInt32BE(vendor, 0);
  head[VENDOR_ID_LENGTH] = type;
  head[VENDOR_ID_LENGTH + 1] = value.length + 2;
  return [{ type: Attr.VendorSpecific, value: Buffer.concat([head, value]) }];
}

/** One line -> its wire attributes, or what is wrong with it. */
function encodeLine(dictionary: Dictionary, l: DetailLine, zoneOffset: number | null): RawAttribute[] | string {
  const raw = unknownAttribute(l);
  if (raw !== undefined) return raw;
  const def = dictionary.attribute(l.name);
  if (!def) return `unknown attribute ${l.name} (not in Tally's dictionary nor in radius.dictionaries)`;
  let value: string | number | Buffer;
  switch (def.dataType) {
    case "string":
      value = Buffer.from(l.value, "latin1");
      break;
    case "octets":
    case "abinary": {
      const bytes = l.quoted ? Buffer.from(l.value, "latin1") : parseHex(l.value);
      if (bytes === undefined) return `${l.name}: expected 0x followed by hex digits, got ${JSON.stringify(l.value)}`;
      value = bytes;
      break;
    }
    case "ipv6prefix": {
      // Whatever a NAS sent, FreeRADIUS writes the text and, when it sends the request on,
      // encodes all 16 prefix octets (RFC 3162 allows fewer, which encodeAttribute sends).
      const m = /^([0-9a-fA-F:.]+)\/([0-9]{1,3})$/.exec(l.value);
      const addr = m ? parseIpv6(m[1]!) : undefined;
      const bits = m ? Number(m[2]) : NaN;
      if (addr === undefined || !(bits <= 128)) return `${l.name}: expected an IPv6 prefix like 2001:db8::/64, got ${JSON.stringify(l.value)}`;
      value = Buffer.concat([Buffer.from([0, bits]), addr]);
      break;
    }
    case "date": {
      const seconds = /^[0-9]+$/.test(l.value) ? Number(l.value) : parseFreeradiusDate(l.value, zoneOffset);
      if (seconds === undefined) return `${l.name}: expected a date like "Nov 22 2026 06:00:00 UTC" or seconds since 1970, got ${JSON.stringify(l.value)}`;
      value = seconds;
      break;
    }
    default:
      value = l.value;
  }
  if (Buffer.isBuffer(value) && value.length === 0) {
    // An empty value arrived on the wire (RFC 8044 says not to send one, some NASes do);
    // encodeAttribute refuses to make one, so build it here for the plain attributes.
    if (def.vendorId === 0 && def.evsContainer === undefined && def.oid.length === 1 && l.tag === undefined) return [{ type: def.oid[0]!, value }];
    return `${l.name}: an empty value`;
  }
  try {
    return encodeAttribute(dictionary, def.name, value, l.tag === undefined ? {} : { tag: l.tag });
  } catch (e) {
    return (e as Error).message;
  }
}

function reject(line: number, reason: string): EntryResult {
  return { ok: false, line, reason };
}

export function recordFromDetailEntry(entry: DetailEntry, ctx: EntryContext): EntryResult {
  if (entry.problem) return reject(entry.problem.line, entry.problem.message);
  let timestamp: number | undefined;
  let source: string | undefined;
  const protocol: DetailLine[] = [];
  for (const l of entry.lines) {
    const lower = l.name.toLowerCase();
    if (lower === "timestamp") {
      if (!/^[0-9]{1,12}$/.test(l.value)) return reject(l.line, `Timestamp: expected seconds since 1970, got ${JSON.stringify(l.value)}`);
      timestamp = Number(l.value);
    } else if (lower === "packet-type") {
      if (l.value !== "Accounting-Request" && l.value !== String(PacketCode.AccountingRequest)) {
        return reject(l.line, `Packet-Type is ${l.value}, not Accounting-Request`);
      }
    } else if (SOURCE_ADDRESS.includes(lower)) {
      if (parseIpv4(l.value) === undefined && parseIpv6(l.value) === undefined) return reject(l.line, `${l.name}: not an IP address: ${JSON.stringify(l.value)}`);
      source ??= l.value;
    } else if (!isServerSide(l.name, ctx.dictionary)) {
      protocol.push(l);
    }
  }

  const header = headerAsUtc(entry.header);
  // The FreeRADIUS server's UTC offset when it wrote this entry: its local-time header
  // against the Timestamp of the same moment.
  const zoneOffset = header !== undefined && timestamp !== undefined ? Math.round((header - timestamp * 1000) / QUARTER_HOUR) * QUARTER_HOUR : null;
  const receivedAt = timestamp !== undefined ? timestamp * 1000 : header !== undefined ? localTime(header) : undefined;
  if (receivedAt === undefined) return reject(entry.line, "no Timestamp line and no date in the header: cannot tell when it was received");

  const attributes: RawAttribute[] = [];
  for (const l of protocol) {
    const encoded = encodeLine(ctx.dictionary, l, zoneOffset);
    if (typeof encoded === "string") return reject(l.line, encoded);
    attributes.push(...encoded);
  }
  const packet = { code: PacketCode.AccountingRequest, identifier: 0, authenticator: Buffer.alloc(16), attributes };

  const nasIp = findAttribute(packet, Attr.NasIpAddress);
  const nasIpv6 = findAttribute(packet, Attr.NasIpv6Address);
  const address = source ?? (nasIp && readIpv4(nasIp)) ?? (nasIpv6 && readIpv6(nasIpv6)) ?? undefined;
  const client = (address === undefined ? undefined : ctx.clients.find(address)?.name) ?? ctx.fallbackClient;
  if (client === undefined) {
    return reject(
      entry.line,
      address === undefined
        ? "no address to find the client by (Packet-Src-IP-Address, Client-IP-Address or NAS-IP-Address); give --client NAME"
        : `no client in the config covers ${address}; give --client NAME`,
    );
  }

  const result = recordFromAccountingRequest(packet, { client, sourceAddress: source ?? "", receivedAt, dictionary: ctx.dictionary });
  if (!result.ok) return reject(entry.line, `${result.reason}: ${dropReasonText[result.reason]}`);
  if (result.record.nas === "") return reject(entry.line, "no NAS identity (NAS-Identifier, NAS-IP-Address or a source address)");
  return result;
}
