// Talking to Tally's HTTP API: every call carries the bearer token; a 401 logs out.
// The live stream (/api/events) is read with fetch() and SseParser, reconnecting with backoff.

import { SseParser, type SseEvent } from "./sse.ts";
import type { DisconnectResult, NasJson, Overview, RecordJson, SessionJson, SessionsPage, Usage } from "./types.ts";

const TOKEN_KEY = "tally.token";

export function getToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}
export function setToken(token: string | null): void {
  if (token === null) localStorage.removeItem(TOKEN_KEY);
  else localStorage.setItem(TOKEN_KEY, token);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Called when the server answers 401 to a stored token (it was revoked or changed). */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(f: () => void): void {
  onUnauthorized = f;
}

async function request<T>(path: string, init: RequestInit = {}, token = getToken()): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { ...init, headers });
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: the status says enough
  }
  if (!res.ok) {
    const msg = typeof body === "object" && body !== null && "error" in body ? String((body as { error: unknown }).error) : `HTTP ${res.status}`;
    if (res.status === 401 && token === getToken()) onUnauthorized();
    throw new ApiError(res.status, msg);
  }
  return body as T;
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s === "" ? "" : `?${s}`;
}

export interface SessionFilter {
  status?: string;
  user?: string;
  nas?: string;
  protocol?: string;
  limit?: number;
  cursor?: string;
}

export const api = {
  /** Checks a token before it is kept: any authenticated call will do. */
  check: (token: string) => request<SessionsPage>("/api/sessions?limit=1", {}, token),
  sessions: (f: SessionFilter) => request<SessionsPage>(`/api/sessions${query({ ...f })}`),
  session: (id: number) => request<{ session: SessionJson; records: RecordJson[] }>(`/api/sessions/${id}`),
  disconnect: (id: number, reason?: string) =>
    request<DisconnectResult>(`/api/sessions/${id}/disconnect`, { method: "POST", body: JSON.stringify(reason ? { reason } : {}) }),
  usage: (user: string, since: string, by: "day" | "hour" | "month") =>
    request<Usage>(`/api/users/${encodeURIComponent(user)}/usage${query({ since, by })}`),
  nas: () => request<{ nas: NasJson[] }>("/api/nas"),
  audit: (f: { user?: string; nas?: string; limit?: number }) => request<{ commands: RecordJson[] }>(`/api/audit${query(f)}`),
  overview: () => request<Overview>("/api/overview"),
};

export type LiveState = "connecting" | "live" | "retrying";

/**
 * Reads /api/events until `signal` aborts, reconnecting after failures (1 s, doubling to 30 s).
 * Every event goes to `onEvent`; `onState` says whether the stream is up.
 */
export async function streamEvents(signal: AbortSignal, onEvent: (e: SseEvent) => void, onState: (s: LiveState) => void): Promise<void> {
  let delay = 1000;
  while (!signal.aborted) {
    onState("connecting");
    try {
      const token = getToken();
      const res = await fetch("/api/events", { headers: { Accept: "text/event-stream", Authorization: `Bearer ${token ?? ""}` }, signal });
      if (res.status === 401) {
        onUnauthorized();
        return;
      }
      if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`);
      onState("live");
      delay = 1000;
      const parser = new SseParser();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const e of parser.push(value)) onEvent(e);
      }
    } catch {
      if (signal.aborted) return;
    }
    onState("retrying");
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 30_000);
  }
}
