// What the benchmark reads about a process from /proc: CPU seconds (whole process, or its main
// thread alone) and bytes written, so that each figure in BENCHMARKS.md comes from a command.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clkTck = 100; // USER_HZ on every Linux architecture Debian ships
    }
  }
  return clkTck;
}

function statCpu(path: string): number | null {
  let stat: string;
  try {
    stat = readFileSync(path, "utf8");
  } catch {
    return null;
  }
  // Fields after "(comm)": state is field 3, utime 14, stime 15.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / ticksPerSecond();
}

/** utime + stime of a process (all its threads), in seconds; null once it is gone. */
export function processCpu(pid: number): number | null {
  return statCpu(`/proc/${pid}/stat`);
}

/** utime + stime of the process's main thread alone (the JavaScript event loop for Node). */
export function mainThreadCpu(pid: number): number | null {
  return statCpu(`/proc/${pid}/task/${pid}/stat`);
}

/** Bytes the process has written through write(2) and friends (`wchar`). */
export function bytesWritten(pid: number): number | null {
  try {
    return Number(/^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"))?.[1] ?? NaN);
  } catch {
    return null;
  }
}
