// What the instrumented modules (transports, the accounting core, the plugin host, the
// disconnector) report: a few calls, nothing of prom-client. They take it as an optional
// dependency; without one they behave exactly as before. metrics.ts implements it.

export type MetricsProtocol = "radius" | "tacacs" | "openvpn";

/**
 * What was asked: RADIUS access / accounting / status (other: a code Tally does not serve);
 * TACACS+ authen / author / acct; OpenVPN access (a client connecting) / accounting.
 */
export type RequestType = "access" | "accounting" | "status" | "other" | "authen" | "author" | "acct";

/**
 * How it ended. accept / reject / challenge: authentication and authorization (challenge: a
 * TACACS+ GETUSER, GETPASS or GETDATA prompt). ok: accounting stored and acknowledged, a
 * Status-Server answered. disconnect: stored and acknowledged, a plugin asked to cut the user
 * off. error: a plugin answered error or a failure inside Tally (RADIUS then stays silent,
 * TACACS+ answers ERROR). duplicate: a retransmission answered from the duplicate cache, or a
 * record the store already had. dropped: counted in the drops too, by reason.
 */
export type RequestOutcome = "accept" | "reject" | "challenge" | "ok" | "disconnect" | "error" | "duplicate" | "dropped";

export type PluginCallResult = "ok" | "error" | "timeout";

export interface RequestMetrics {
  /** One request and how it ended; `seconds` from its receipt to the answer sent, null when none was sent. */
  request(protocol: MetricsProtocol, type: RequestType, outcome: RequestOutcome, seconds: number | null): void;
  /** A packet or connection dropped, by the transport's own reason (radius/drops.ts, tacacs/server.ts). */
  drop(protocol: MetricsProtocol, reason: string): void;
}

export interface CommitMetrics {
  /** One store transaction of `records` records that took `seconds`; ok false: it failed. */
  commit(seconds: number, records: number, ok: boolean): void;
}

export interface PluginMetrics {
  pluginCall(plugin: string, hook: string, result: PluginCallResult): void;
}

export interface DisconnectMetrics {
  /** A disconnect carried out: acknowledged, refused or unanswered. */
  disconnect(outcome: string): void;
}

export interface MetricsSink extends RequestMetrics, CommitMetrics, PluginMetrics, DisconnectMetrics {}

/** Seconds since `start` (a performance.now() reading). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}
