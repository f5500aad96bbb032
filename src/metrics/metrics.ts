// Tally's Prometheus metrics: one Metrics per running Tally, owning its own prom-client
// Registry (never the global one, so two Tallies in one process, as in tests, keep apart).
// The modules report through the small MetricsSink interface (sink.ts); gauges that the
// store or the connectors know (open sessions, spool depth, OpenVPN clients) are read when
// scraped. `snapshot()` is the dashboard's overview. Every metric is described in
// docs/metrics.md.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { MetricsProtocol, MetricsSink, PluginCallResult, RequestOutcome, RequestType } from "./sink.ts";

export type { MetricsSink } from "./sink.ts";

/** Latency buckets, in seconds: 0.1 ms to 5 s. */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Records per store transaction. */
export const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000];

/** The overview's rates are over this window, sampled once a second. */
const WINDOW_MS = 10_000;
const SAMPLE_MS = 1000;

/** What Metrics reads when scraped; each may be given later (connectors start after the store). */
export interface MetricsSources {
  /** Sessions with status open (Store.countSessions). */
  openSessions?: () => Promise<number>;
  /** Records waiting in the spool journal; 0 without a spool. */
  spoolDepth?: () => number;
  /** Clients connected to each OpenVPN server, by connector name. */
  openvpnClients?: () => Record<string, number>;
}

/** The dashboard's overview page. */
export interface Overview {
  /** Requests per second over about the last 10 s, by protocol (every outcome, drops with a known type included). */
  requestsPerSecond: Record<MetricsProtocol, number>;
  openSessions: number;
  /** Every drop since start, all protocols and reasons. */
  drops: number;
  /** Plugin calls that threw, rejected or timed out, since start. */
  pluginErrors: number;
  spoolDepth: number;
  /** 99th percentile of store commit latency over about the last 10 s (ms); absent without commits then. */
  storeCommitP99Ms?: number;
}

interface Sample {
  at: number;
  requests: Record<MetricsProtocol, number>;
  /** Commits per latency bucket (not cumulative); the last is above the largest bound. */
  commits: number[];
}

interface RequestChildren {
  count: Counter.Internal;
  latency: Histogram.Internal<"protocol" | "type">;
}

export class Metrics implements MetricsSink {
  readonly registry = new Registry();
  sources: MetricsSources;

  private readonly requests: Counter<"protocol" | "type" | "outcome">;
  private readonly drops: Counter<"protocol" | "reason">;
  private readonly latency: Histogram<"protocol" | "type">;
  /** Per protocol, type and outcome: a small closed set. */
  private readonly requestChildren: Partial<Record<string, Partial<Record<string, Partial<Record<string, RequestChildren>>>>>> = {};
  private readonly commitLatency: Histogram;
  private readonly commitRecords: Histogram;
  private readonly commitFailures: Counter;
  private readonly pluginCalls: Counter<"plugin" | "hook">;
  private readonly pluginErrors: Counter<"plugin" | "hook">;
  private readonly pluginTimeouts: Counter<"plugin" | "hook">;
  private readonly disconnects: Counter<"outcome">;

  /** Plain totals beside the Prometheus ones, for snapshot() without parsing the registry. */
  private readonly requestTotals: Record<MetricsProtocol, number> = { radius: 0, tacacs: 0, openvpn: 0 };
  private readonly commitBuckets: number[] = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  private dropTotal = 0;
  private pluginFailureTotal = 0;
  private lastOpenSessions = 0;
  private readonly samples: Sample[] = [];
  private readonly sampler: NodeJS.Timeout;

  constructor(sources: MetricsSources = {}) {
    this.sources = sources;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "tally_" });
    this.requests = new Counter({
      name: "tally_requests_total",
      help: "Requests received, by protocol, type and outcome (docs/metrics.md)",
      labelNames: ["protocol", "type", "outcome"],
      registers,
    });
    this.drops = new Counter({ name: "tally_drops_total", help: "Packets and connections dropped, by protocol and reason", labelNames: ["protocol", "reason"], registers });
    this.latency = new Histogram({
      name: "tally_request_duration_seconds",
      help: "From a request's receipt to its answer sent, by protocol and type",
      labelNames: ["protocol", "type"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.commitLatency = new Histogram({ name: "tally_store_commit_duration_seconds", help: "Store transactions (group commits), durable on return", buckets: LATENCY_BUCKETS, registers });
    this.commitRecords = new Histogram({ name: "tally_store_commit_records", help: "Records per store transaction", buckets: BATCH_BUCKETS, registers });
    this.commitFailures = new Counter({ name: "tally_store_commit_failures_total", help: "Store transactions that failed (their records not acknowledged)", registers });
    const pluginLabels = ["plugin", "hook"] as const;
    this.pluginCalls = new Counter({ name: "tally_plugin_calls_total", help: "Plugin hook calls, by plugin and hook", labelNames: pluginLabels, registers });
    this.pluginErrors = new Counter({ name: "tally_plugin_errors_total", help: "Plugin hook calls that threw or rejected", labelNames: pluginLabels, registers });
    this.pluginTimeouts = new Counter({ name: "tally_plugin_timeouts_total", help: "Plugin hook calls not answered within the plugin's timeout", labelNames: pluginLabels, registers });
    this.disconnects = new Counter({ name: "tally_disconnects_total", help: "Disconnects carried out, by outcome", labelNames: ["outcome"], registers });

    // Read when scraped. A failing source must not fail the scrape: the last value stays.
    const open: Gauge = new Gauge({
      name: "tally_sessions_open",
      help: "Sessions open in the store (all nodes sharing it)",
      registers,
      collect: async () => open.set(await this.openSessions()),
    });
    const spool: Gauge = new Gauge({
      name: "tally_spool_records",
      help: "Records waiting in the spool journal for the store; 0 without a spool",
      registers,
      collect: () => spool.set(this.spoolDepth()),
    });
    const openvpn: Gauge<"connector"> = new Gauge({
      name: "tally_openvpn_clients",
      help: "Clients connected to each OpenVPN server, by connector",
      labelNames: ["connector"],
      registers,
      collect: () => {
        openvpn.reset();
        for (const [connector, n] of Object.entries(this.sources.openvpnClients?.() ?? {})) openvpn.set({ connector }, n);
      },
    });

    this.sample();
    this.sampler = setInterval(() => this.sample(), SAMPLE_MS);
    this.sampler.unref();
  }

  /** Drop reasons a transport can give: shown at 0 from the start, so rates and alerts work before the first drop. */
  knownDropReasons(protocol: MetricsProtocol, reasons: readonly string[]): void {
    for (const reason of reasons) this.drops.inc({ protocol, reason }, 0);
  }

  request(protocol: MetricsProtocol, type: RequestType, outcome: RequestOutcome, seconds: number | null): void {
    // Once per request: the labelled children are looked up once and kept (prom-client
    // otherwise hashes the label object on every call), by protocol, type and outcome: small
    // closed sets, so no key string is built per request.
    const byOutcome = ((this.requestChildren[protocol] ??= {})[type] ??= {});
    let child = byOutcome[outcome];
    if (child === undefined) {
      child = { count: this.requests.labels({ protocol, type, outcome }), latency: this.latency.labels({ protocol, type }) };
      byOutcome[outcome] = child;
    }
    child.count.inc();
    this.requestTotals[protocol]++;
    if (seconds !== null) child.latency.observe(seconds);
  }

  drop(protocol: MetricsProtocol, reason: string): void {
    this.drops.inc({ protocol, reason });
    this.dropTotal++;
  }

  commit(seconds: number, records: number, ok: boolean): void {
    this.commitLatency.observe(seconds);
    this.commitRecords.observe(records);
    if (!ok) this.commitFailures.inc();
    const i = LATENCY_BUCKETS.findIndex((bound) => seconds <= bound);
    this.commitBuckets[i === -1 ? LATENCY_BUCKETS.length : i]!++;
  }

  pluginCall(plugin: string, hook: string, result: PluginCallResult): void {
    this.pluginCalls.inc({ plugin, hook });
    if (result === "ok") return;
    (result === "timeout" ? this.pluginTimeouts : this.pluginErrors).inc({ plugin, hook });
    this.pluginFailureTotal++;
  }

  disconnect(outcome: string): void {
    this.disconnects.inc({ outcome });
  }

  async snapshot(): Promise<Overview> {
    const now = this.current();
    const since = now.at - WINDOW_MS - SAMPLE_MS / 2;
    const oldest = this.samples.find((s) => s.at >= since) ?? now;
    const seconds = (now.at - oldest.at) / 1000;
    // At least a second: just after start a few requests over a few ms are not thousands a second.
    const rate = (p: MetricsProtocol) => (now.requests[p] - oldest.requests[p]) / Math.max(seconds, 1);
    const overview: Overview = {
      requestsPerSecond: { radius: rate("radius"), tacacs: rate("tacacs"), openvpn: rate("openvpn") },
      openSessions: await this.openSessions(),
      drops: this.dropTotal,
      pluginErrors: this.pluginFailureTotal,
      spoolDepth: this.spoolDepth(),
    };
    const p99 = quantile(0.99, now.commits.map((n, i) => n - oldest.commits[i]!));
    if (p99 !== null) overview.storeCommitP99Ms = p99 * 1000;
    return overview;
  }

  /** Stops the sampler; the registry can still be read. */
  close(): void {
    clearInterval(this.sampler);
  }

  private current(): Sample {
    return { at: performance.now(), requests: { ...this.requestTotals }, commits: [...this.commitBuckets] };
  }

  private sample(): void {
    this.samples.push(this.current());
    const keep = Math.ceil(WINDOW_MS / SAMPLE_MS) + 2;
    if (this.samples.length > keep) this.samples.splice(0, this.samples.length - keep);
  }

  private async openSessions(): Promise<number> {
    const count = this.sources.openSessions;
    if (count === undefined) return this.lastOpenSessions;
    try {
      this.lastOpenSessions = await count();
    } catch {
      // The store is unreachable (the spool says so in its own logs and metric): keep the last count.
    }
    return this.lastOpenSessions;
  }

  private spoolDepth(): number {
    return this.sources.spoolDepth?.() ?? 0;
  }
}

/**
 * The q-quantile of commits counted per latency bucket, interpolated linearly within the bucket
 * as Prometheus's histogram_quantile does (above the largest bound: that bound). Null without any.
 */
export function quantile(q: number, counts: readonly number[]): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i]!;
    if (below + n >= rank && n > 0) {
      if (i === LATENCY_BUCKETS.length) return LATENCY_BUCKETS.at(-1)!;
      const lower = i === 0 ? 0 : LATENCY_BUCKETS[i - 1]!;
      return lower + (LATENCY_BUCKETS[i]! - lower) * ((rank - below) / n);
    }
    below += n;
  }
  return LATENCY_BUCKETS.at(-1)!;
}
