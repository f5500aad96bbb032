// Test helpers for the store: a record factory and a throw-away SQLite file.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AccountingRecord } from "../../src/model/record.ts";

/** 2024-01-15T23:00:00Z: an hour before midnight UTC, so tests can cross a day boundary. */
export const T0 = Date.UTC(2024, 0, 15, 23, 0, 0);
export const SEC = 1000;
export const MIN = 60 * SEC;

let seq = 0;

/**
 * An accounting record with sensible defaults: a RADIUS session "sess-1" of user "alice" on
 * NAS "nas-a", at T0. Each call gets a unique dedupKey unless one is given.
 */
export function rec(fields: Partial<AccountingRecord> & Pick<AccountingRecord, "kind">): AccountingRecord {
  const nasWide = fields.kind === "on" || fields.kind === "off";
  const eventTime = fields.eventTime ?? T0;
  const base: AccountingRecord = {
    protocol: "radius",
    kind: fields.kind,
    receivedAt: eventTime,
    eventTime,
    client: "lab",
    nas: "nas-a",
    user: nasWide ? null : "alice",
    sessionId: nasWide ? null : "sess-1",
    inputOctets: null,
    outputOctets: null,
    inputPackets: null,
    outputPackets: null,
    sessionTime: null,
    terminateCause: null,
    framedAddress: null,
    clientAddress: null,
    nasPort: null,
    command: null,
    attributes: [],
    dedupKey: `test-${process.pid}-${++seq}`,
  };
  const r: AccountingRecord = { ...base, ...fields };
  if (fields.attributes !== undefined) return r;
  // Attributes as a transport would list them, so the JSON round trip is exercised.
  const attributes = [{ name: "Acct-Status-Type", value: r.kind }, { name: "NAS-Identifier", value: r.nas }];
  if (r.sessionId !== null) attributes.push({ name: "Acct-Session-Id", value: r.sessionId });
  if (r.user !== null) attributes.push({ name: "User-Name", value: r.user });
  return { ...r, attributes };
}

export interface TempDir {
  readonly dir: string;
  /** A path inside the directory. */
  file(name: string): string;
  cleanup(): void;
}

export function tempDir(): TempDir {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tally-store-"));
  return {
    dir,
    file: (name) => path.join(dir, name),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
