// What a load run measures: answers by outcome, latency of every verified answer (kept whole,
// so percentiles are exact, not estimated), the generator's own CPU and the wall time.

export type Outcome = "ok" | "error" | "timeout";

export interface Percentiles {
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** Durations in microseconds, all kept, so that percentiles are exact. */
export class Samples {
  private values = new Uint32Array(1 << 16);
  private count = 0;

  add(us: number): void {
    if (this.count === this.values.length) {
      const bigger = new Uint32Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.count++] = Math.max(0, Math.min(us, 0xffffffff));
  }

  /** Exact percentiles, in ms. */
  percentiles(): Percentiles {
    const sorted = this.values.slice(0, this.count).sort();
    const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! / 1000);
    return { p50: at(0.5), p99: at(0.99), p999: at(0.999), max: sorted.length === 0 ? 0 : sorted[sorted.length - 1]! / 1000 };
  }
}

export class LoadStats {
  ok = 0;
  errors = 0;
  timeouts = 0;
  /** Latencies of verified answers. */
  private readonly latencies = new Samples();

  record(outcome: Outcome, latencyUs: number): void {
    if (outcome === "ok") {
      this.ok++;
      this.latencies.add(latencyUs);
    } else if (outcome === "error") {
      this.errors++;
    } else {
      this.timeouts++;
    }
  }

  get done(): number {
    return this.ok + this.errors + this.timeouts;
  }

  /** Exact percentiles (ms) of the verified answers. */
  percentiles(): Percentiles {
    return this.latencies.percentiles();
  }
}

export interface LoadReport {
  workload: string;
  target: string;
  /** "closed (concurrency N)" or "open (R/s)". */
  loop: string;
  requests: number;
  ok: number;
  errors: number;
  timeouts: number;
  seconds: number;
  /** Verified answers per second of wall time. */
  perSecond: number;
  latencyMs: Percentiles;
  /**
   * Open loop: how late the generator sent each request after it was due (its own timer and
   * CPU, not the server's). Latency counts from the due time, so this much of it is the
   * generator's.
   */
  sendLateMs?: Percentiles;
  /** The generator's own CPU (user + system) as a share of one core over the run. */
  generatorCpu: number;
  /** `--warmup`: the load sent before the measured run, not counted in any figure above. */
  warmup?: { seconds: number; requests: number; ok: number };
}

export function formatReport(r: LoadReport): string {
  const l = r.latencyMs;
  return [
    `${r.workload} -> ${r.target}, ${r.loop}`,
    `  ${r.ok} ok, ${r.errors} errors, ${r.timeouts} timeouts in ${r.seconds.toFixed(2)} s: ${Math.round(r.perSecond)} req/s`,
    `  latency ms: p50 ${l.p50.toFixed(3)}  p99 ${l.p99.toFixed(3)}  p99.9 ${l.p999.toFixed(3)}  max ${l.max.toFixed(3)}`,
    ...(r.sendLateMs === undefined ? [] : [`  sent late by ms: p50 ${r.sendLateMs.p50.toFixed(3)}  p99 ${r.sendLateMs.p99.toFixed(3)}  max ${r.sendLateMs.max.toFixed(3)} (the generator's own delay, part of the latency)`]),
    `  generator CPU: ${(r.generatorCpu * 100).toFixed(0)} % of a core`,
    ...(r.warmup === undefined ? [] : [`  after a warm-up of ${r.warmup.seconds.toFixed(1)} s (${r.warmup.requests} requests, ${r.warmup.ok} ok, not counted)`]),
  ].join("\n");
}
