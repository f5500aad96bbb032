// The JSON shapes of Tally's HTTP API, as the dashboard reads them (src/model/session.ts
// sessionToJson; records as `tally records --json`).

export type Protocol = "radius" | "tacacs" | "openvpn";
export type SessionStatus = "open" | "closed" | "stale";

export interface SessionJson {
  id: number;
  protocol: Protocol;
  client: string;
  nas: string;
  user: string | null;
  sessionId: string;
  status: SessionStatus;
  startedAt: string;
  updatedAt: string;
  stoppedAt: string | null;
  inputOctets: number;
  outputOctets: number;
  inputPackets: number;
  outputPackets: number;
  sessionTime: number;
  terminateCause: string | null;
  framedAddress: string | null;
  clientAddress: string | null;
  nasPort: string | null;
  interimInterval: number | null;
  nextUpdateDue: string | null;
  disconnect: "requested" | "acknowledged" | "refused" | "unanswered" | null;
  disconnectReason: string | null;
  note: string | null;
}

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
