// Turns a TACACS+ accounting REQUEST (RFC 8907 section 7) into the protocol-neutral
// AccountingRecord: START / STOP / WATCHDOG become start / stop / interim, the standard
// attribute-value pairs (section 8.3) fill the counters, and every pair is kept as received.
// Records carrying `cmd` are command accounting: the audit trail, not session state.

import { hash } from "node:crypto";
import type { AccountingRecord, RecordKind } from "../model/record.ts";
import { parseArg, type AcctRequest } from "./bodies.ts";
import { AcctFlag } from "./constants.ts";

export interface TacacsRecordContext {
  client: string;
  /** The device's address: TACACS+ carries no NAS identity of its own. */
  nas: string;
  receivedAt: number;
}

/**
 * The flag combinations RFC 8907 section 7.2 allows; anything else is answered with ERROR.
 * WATCHDOG together with START is a watchdog "with update".
 */
const kindByFlags = new Map<number, RecordKind>([
  [AcctFlag.Start, "start"],
  [AcctFlag.Stop, "stop"],
  [AcctFlag.Watchdog, "interim"],
  [AcctFlag.Watchdog | AcctFlag.Start, "interim"],
]);

export type TacacsToRecordResult = { ok: true; record: AccountingRecord } | { ok: false; reason: "invalid-flags" };

function counter(text: string | undefined): number | null {
  if (text === undefined) return null;
  const digits = text.trim();
  if (!/^\d+$/.test(digits)) return null;
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : null;
}

/** start_time / stop_time are seconds since the epoch; an unusable value falls back to receipt time. */
function epochMs(text: string | undefined): number | null {
  const s = counter(text);
  return s === null || s === 0 ? null : s * 1000;
}

/**
 * SHA-256 of the request's fields as JSON, base64url. Stored keys must stay the same across
 * upgrades: test/tacacs/to-record.test.ts holds the former createHash form as its reference.
 */
export function dedupKeyOf(nas: string, req: AcctRequest): string {
  // One-shot hash(): no Hash object per record (the string is hashed as UTF-8 either way).
  const fields = JSON.stringify(["tacacs", nas, req.flags, req.authenMethod, req.privLvl, req.authenType, req.authenService, req.user, req.port, req.remAddr, req.args]);
  return hash("sha256", fields, "base64url");
}

export function recordFromAcctRequest(req: AcctRequest, ctx: TacacsRecordContext): TacacsToRecordResult {
  const kind = kindByFlags.get(req.flags);
  if (kind === undefined) return { ok: false, reason: "invalid-flags" };

  const pairs = req.args.map(parseArg);
  // The first occurrence of a pair names it; cmd-arg repeats and is read separately.
  const first = new Map<string, string>();
  for (const p of pairs) if (!first.has(p.name)) first.set(p.name, p.value);

  const cmd = first.get("cmd");
  const command =
    cmd === undefined || cmd === ""
      ? null
      : [cmd, ...pairs.filter((p) => p.name === "cmd-arg" && p.value !== "<cr>").map((p) => p.value)].join(" ");
  const eventTime =
    (kind === "stop" ? epochMs(first.get("stop_time")) : null) ?? (kind === "start" ? epochMs(first.get("start_time")) : null) ?? ctx.receivedAt;

  const record: AccountingRecord = {
    protocol: "tacacs",
    kind,
    receivedAt: ctx.receivedAt,
    eventTime,
    client: ctx.client,
    nas: ctx.nas,
    user: req.user === "" ? null : req.user,
    sessionId: first.get("task_id") ?? null,
    inputOctets: counter(first.get("bytes_in")),
    outputOctets: counter(first.get("bytes_out")),
    inputPackets: counter(first.get("paks_in")),
    outputPackets: counter(first.get("paks_out")),
    sessionTime: counter(first.get("elapsed_time")),
    terminateCause: first.get("reason") ?? first.get("disc-cause") ?? null,
    framedAddress: first.get("addr") ?? null,
    clientAddress: req.remAddr === "" ? null : req.remAddr,
    nasPort: req.port === "" ? null : req.port,
    command,
    attributes: pairs.map((p) => ({ name: p.name, value: p.value })),
    dedupKey: dedupKeyOf(ctx.nas, req),
  };
  return { ok: true, record };
}
