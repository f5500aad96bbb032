// A running Tally's drop counters, read from its /metrics (public by default): what the server
// itself counted, by reason, for tests that provoke drops in a child process.

/** tally_drops_total for `protocol`, by reason (reasons never dropped read 0). */
export async function dropCounts(httpPort: number, protocol: "radius" | "tacacs"): Promise<Record<string, number>> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  const counts: Record<string, number> = {};
  const line = /^tally_drops_total\{([^}]*)\} (\d+(?:\.\d+)?(?:e\+\d+)?)$/;
  for (const text of (await res.text()).split("\n")) {
    const m = line.exec(text);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (labels.protocol === protocol) counts[labels.reason!] = Number(m[2]);
  }
  return counts;
}
