// A steady RADIUS accounting load from pyrad (test/interop/pyrad/client.py, mode `steady`): 16
// Starts of new sessions always in flight, each retransmitted until answered, as NASes do while
// their server is down or restarting. Every session whose Accounting-Response pyrad verified is
// collected as it is printed, so a test can compare them with the store afterwards.

import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { repoRoot, SECRET } from "./harness.ts";

const pyradClient = join(repoRoot, "test/interop/pyrad/client.py");

export interface SteadyLoad {
  child: ChildProcess;
  /** Acct-Session-Ids acknowledged so far, in the order the answers came. */
  acknowledged: string[];
  /** pyrad's summary once it stopped (the stop file appeared, or maxSeconds passed). */
  finished: Promise<{ done: number; acknowledged: number }>;
}

export function startSteadyLoad(port: number, prefix: string, stopFile: string, maxSeconds: number): SteadyLoad {
  const child = spawn("/usr/bin/python3", [pyradClient, "steady", "127.0.0.1", String(port), SECRET, prefix, "16", stopFile, String(maxSeconds)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const acknowledged: string[] = [];
  let buffered = "";
  let summary = "";
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  child.stdout!.on("data", (c: Buffer) => {
    buffered += c.toString();
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.startsWith("{")) summary = line;
      else if (line !== "") acknowledged.push(line);
    }
  });
  const finished = new Promise<{ done: number; acknowledged: number }>((resolve, reject) => {
    child.once("exit", (code) => {
      if (code === 0 && summary !== "") resolve(JSON.parse(summary) as { done: number; acknowledged: number });
      else reject(new Error(`pyrad load exited ${code}: ${stderr}`));
    });
  });
  return { child, acknowledged, finished };
}
