// What a load run measures: answers by outcome, latency of every verified answer (kept whole,
// so percentiles are exact, not estimated), the generator's own CPU and the wall time.

export type Outcome = "ok" | "error" | "timeout";

export class LoadStats {
  ok = 0;
  errors = 0;
  timeouts = 0;
  /** Latencies of verified answers, in microseconds. */
  private latencies = new Uint32Array(1 << 16);
  private count = 0;

  record(outcome: Outcome, latencyUs: number): void {
    if (outcome === "ok") {
      this.ok++;
      if (this.count === this.latencies.length) {
        const bigger = new Uint32Array(this.latencies.length * 2);
        bigger.set(this.latencies);
        this.latencies = bigger;
      }
      this.latencies[this.count++] = Math.min(latencyUs, 0xffffffff);
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
  percentiles(): { p50: number; p99: number; p999: number; max: number } {
    const sorted = this.latencies.slice(0, this.count).sort();
    const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! / 1000);
    return { p50: at(0.5), p99: at(0.99), p999: at(0.999), max: sorted.length === 0 ? 0 : sorted[sorted.length - 1]! / 1000 };
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
  latencyMs: { p50: number; p99: number; p999: number; max: number };
  /** The generator's own CPU (user + system) as a share of one core over the run. */
  generatorCpu: number;
}

export function formatReport(r: LoadReport): string {
  const l = r.latencyMs;
  return [
    `${r.workload} -> ${r.target}, ${r.loop}`,
    `  ${r.ok} ok, ${r.errors} errors, ${r.timeouts} timeouts in ${r.seconds.toFixed(2)} s: ${Math.round(r.perSecond)} req/s`,
    `  latency ms: p50 ${l.p50.toFixed(3)}  p99 ${l.p99.toFixed(3)}  p99.9 ${l.p999.toFixed(3)}  max ${l.max.toFixed(3)}`,
    `  generator CPU: ${(r.generatorCpu * 100).toFixed(0)} % of a core`,
  ].join("\n");
}
