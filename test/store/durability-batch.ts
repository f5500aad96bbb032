// The batches the durability test's child writes, shared so the parent can check them.

import type { AccountingRecord } from "../../src/model/record.ts";
import { MIN, T0, rec } from "./fixtures.ts";

export function batchFor(n: number): AccountingRecord[] {
  const sessionId = `dur-${n}`;
  const at = T0 + n * MIN;
  return [
    rec({ kind: "start", sessionId, eventTime: at, dedupKey: `${sessionId}-start` }),
    rec({ kind: "interim", sessionId, eventTime: at + 1000, inputOctets: n, outputOctets: 2 * n, sessionTime: 1, dedupKey: `${sessionId}-interim` }),
    rec({
      kind: "stop",
      sessionId,
      eventTime: at + 2000,
      inputOctets: 2 ** 33 + n,
      outputOctets: 3 * n,
      sessionTime: 2,
      terminateCause: "User-Request",
      dedupKey: `${sessionId}-stop`,
    }),
  ];
}
