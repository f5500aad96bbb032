// Reading a running Tally's Prometheus metrics over HTTP (`GET /metrics`, public by default):
// drop counts by protocol and reason, which count every drop, where the log is throttled.

/** tally_drops_total by "protocol:reason", scraped from http://127.0.0.1:PORT/metrics. */
export async function scrapeDrops(httpPort: number): Promise<Record<string, number>> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics: HTTP ${res.status}`);
  const drops: Record<string, number> = {};
  for (const line of (await res.text()).split("\n")) {
    const m = /^tally_drops_total\{(.*)\} (\S+)$/.exec(line);
    if (m === null) continue;
    const labels = Object.fromEntries([...m[1]!.matchAll(/([a-z_]+)="([^"]*)"/g)].map(([, k, v]) => [k!, v!]));
    drops[`${labels.protocol}:${labels.reason}`] = Number(m[2]);
  }
  return drops;
}

/** The drops counted between two scrapes, only the reasons that grew. */
export function dropsBetween(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const grown: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v > (before[k] ?? 0)) grown[k] = v - (before[k] ?? 0);
  return grown;
}
