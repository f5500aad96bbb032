// The load loop of `tally bench`: closed (a fixed number of requests in flight, each lane
// sending its next request when the previous one is answered) or open (a fixed rate, whatever
// the answers do, latency counted from when each request was due). Bounded by a request
// count or a duration, always; a progress line on a terminal.

import { LoadStats, Samples, type LoadReport, type Outcome } from "./stats.ts";

export interface Workload {
  request(): Promise<Outcome>;
}

export interface LoopOptions {
  /** Stop after this many requests (whichever of requests / seconds comes first). */
  requests: number;
  seconds: number;
  /** Closed loop: requests in flight. */
  concurrency: number;
  /** Open loop: requests per second (overrides concurrency). */
  rate?: number;
  /** Open loop: at most this many in flight; more count as errors (the target cannot keep up). */
  maxInFlight: number;
  progress: boolean;
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

export async function runLoop(workload: Workload, o: LoopOptions, label: { workload: string; target: string }): Promise<LoadReport> {
  const stats = new LoadStats();
  const late = o.rate === undefined ? null : new Samples();
  const started = nowUs();
  const deadline = started + o.seconds * 1e6;
  const cpu0 = process.cpuUsage();
  let issued = 0;
  const more = () => issued < o.requests && nowUs() < deadline;

  const progress = o.progress ? setInterval(() => drawProgress(stats.done, o.requests, (nowUs() - started) / 1e6, o.seconds), 250) : null;
  try {
    if (o.rate === undefined) {
      const lane = async () => {
        while (more()) {
          issued++;
          const t0 = nowUs();
          const outcome = await workload.request();
          stats.record(outcome, nowUs() - t0);
        }
      };
      await Promise.all(Array.from({ length: o.concurrency }, lane));
    } else {
      const rate = o.rate;
      let inFlight = 0;
      let resolveAll: () => void = () => {};
      const allDone = new Promise<void>((r) => (resolveAll = r));
      const tick = () => {
        const elapsed = (nowUs() - started) / 1e6;
        const due = Math.min(o.requests, Math.floor(elapsed * rate));
        while (issued < due && nowUs() < deadline) {
          // Each request's latency runs from when it was due, so a late generator shows.
          const dueAt = started + (issued / rate) * 1e6;
          issued++;
          late!.add(nowUs() - dueAt);
          if (inFlight >= o.maxInFlight) {
            stats.record("error", 0);
            continue;
          }
          inFlight++;
          void workload.request().then((outcome) => {
            inFlight--;
            stats.record(outcome, nowUs() - dueAt);
            if (!more() && inFlight === 0) resolveAll();
          });
        }
        if (!more()) {
          clearInterval(timer);
          if (inFlight === 0) resolveAll();
        }
      };
      const timer = setInterval(tick, 1);
      await allDone;
    }
  } finally {
    if (progress) {
      clearInterval(progress);
      process.stderr.write("\r\x1b[K");
    }
  }
  const seconds = (nowUs() - started) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  return {
    workload: label.workload,
    target: label.target,
    loop: o.rate === undefined ? `closed loop, ${o.concurrency} in flight` : `open loop, ${o.rate}/s`,
    requests: stats.done,
    ok: stats.ok,
    errors: stats.errors,
    timeouts: stats.timeouts,
    seconds,
    perSecond: stats.ok / seconds,
    latencyMs: stats.percentiles(),
    ...(late === null ? {} : { sendLateMs: late.percentiles() }),
    generatorCpu: (cpu.user + cpu.system) / 1e6 / seconds,
  };
}

function drawProgress(done: number, total: number, elapsed: number, seconds: number): void {
  const share = Math.min(1, Math.max(total === Infinity ? 0 : done / total, elapsed / seconds));
  const width = 30;
  const filled = Math.round(share * width);
  const rate = elapsed > 0 ? Math.round(done / elapsed) : 0;
  process.stderr.write(`\r[${"=".repeat(filled)}${" ".repeat(width - filled)}] ${done} requests, ${rate}/s, ${elapsed.toFixed(1)} s`);
}
