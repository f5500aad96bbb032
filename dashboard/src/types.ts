// The JSON shapes of Tally's HTTP API, as the dashboard reads them (src/model/session.ts
// sessionToJson, src/model/record.ts recordToJson).

// The session shape is the server's own (one definition, type-only: nothing of the server is
// bundled).
import type { SessionJson } from "../../src/model/session.ts";
import type { Protocol } from "../../src/model/record.ts";

export type { Protocol } from "../../src/model/record.ts";
export type { SessionJson, SessionStatus } from "../../src/model/session.ts";
export type { RecordJson } from "../../src/model/record.ts";


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
