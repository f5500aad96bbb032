// The JSON shapes of Tally's HTTP API, as the dashboard reads them (src/model/session.ts
// sessionToJson; records as `tally records --json`).

// The session shape is the server's own (one definition, type-only: nothing of the server is
// bundled).
import type { SessionJson } from "../../src/model/session.ts";
import type { Protocol } from "../../src/model/record.ts";

export type { Protocol } from "../../src/model/record.ts";
export type { SessionJson, SessionStatus } from "../../src/model/session.ts";

export interface RecordJson {
  id: number;
  protocol: Protocol;
  kind: "start" | "interim" | "stop" | "on" | "off";
  receivedAt: string;
  eventTime: string;
  client: string;
  nas: string;
  user: string | null;
  sessionId: string | null;
  inputOctets: number | null;
  outputOctets: number | null;
  sessionTime: number | null;
  terminateCause: string | null;
  clientAddress: string | null;
  nasPort: string | null;
  command: string | null;
  attributes: { name: string; value: string | number; tag?: number }[];
}

export interface SessionsPage {
  sessions: SessionJson[];
  next: string | null;
}

export interface UsageBucket {
  period: string;
  inputOctets: number;
  outputOctets: number;
  sessionTime: number;
  sessions: number;
}

export interface Usage {
  user: string;
  since: string | null;
  sessions: number;
  inputOctets: number;
  outputOctets: number;
  sessionTime: number;
  buckets: UsageBucket[];
  /** Present only when the quota plugin reports a state for the user. */
  quota?: Record<string, unknown>;
}

export interface NasJson {
  nas: string;
  protocol: Protocol;
  openSessions: number;
  sessions: number;
  lastSeen: string;
}

export interface Overview {
  requestsPerSecond: { radius: number; tacacs: number; openvpn: number };
  openSessions: number;
  drops: number;
  pluginErrors: number;
  spoolDepth: number;
}

export interface DisconnectResult {
  session: SessionJson;
  outcome: string;
  detail?: string;
}
