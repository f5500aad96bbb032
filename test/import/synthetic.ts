// A large detail file in FreeRADIUS 3's format, made without FreeRADIUS: `sessions` sessions of
// four entries each (Start, two Interim-Updates, Stop), written as a stream so the test does
// not hold the file in memory either. Used where size matters more than provenance.

import { createWriteStream } from "node:fs";
import { once } from "node:events";

export const ENTRIES_PER_SESSION = 4;
const BASE = 1_795_000_000; // seconds: 2026-11-18

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** rlm_detail's header (%t, ctime), here in UTC: "Wed Nov 18 09:46:40 2026". */
function ctime(seconds: number): string {
  const d = new Date(seconds * 1000);
  const day = String(d.getUTCDate()).padStart(2, " ");
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${day} ${d.toISOString().slice(11, 19)} ${d.getUTCFullYear()}`;
}

/** How FreeRADIUS prints a date attribute (strftime "%b %e %Y %H:%M:%S %Z"), here in UTC. */
function date(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")} ${d.getUTCFullYear()} ${d.toISOString().slice(11, 19)} UTC`;
}

function entry(i: number, kind: number): string {
  const t = BASE + i * 10 + kind * 60;
  const status = ["Start", "Interim-Update", "Interim-Update", "Stop"][kind]!;
  const lines = [
    `\tAcct-Status-Type = ${status}`,
    `\tUser-Name = "user${i % 97}"`,
    `\tAcct-Session-Id = "sess-${i}"`,
    '\tNAS-Identifier = "nas-synthetic"',
    "\tNAS-IP-Address = 127.0.0.2",
  ];
  if (kind > 0) {
    lines.push(`\tAcct-Input-Octets = ${kind * 1000 + (i % 1000)}`, `\tAcct-Output-Octets = ${kind * 2000}`, `\tAcct-Session-Time = ${kind * 60}`);
  }
  if (kind === 3) lines.push("\tAcct-Terminate-Cause = User-Request");
  lines.push(`\tEvent-Timestamp = "${date(t)}"`, `\tAcct-Unique-Session-Id = "${i.toString(16).padStart(32, "0")}"`, `\tTimestamp = ${t}`);
  return `${ctime(t)}\n${lines.join("\n")}\n\n`;
}

/** Writes `sessions` x 4 entries to `path`; resolves with the number of entries. */
export async function writeSyntheticDetail(path: string, sessions: number): Promise<number> {
  const out = createWriteStream(path);
  for (let i = 0; i < sessions; i++) {
    let chunk = "";
    for (let k = 0; k < ENTRIES_PER_SESSION; k++) chunk += entry(i, k);
    if (!out.write(chunk)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  return sessions * ENTRIES_PER_SESSION;
}
