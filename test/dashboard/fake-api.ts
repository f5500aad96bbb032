// A stand-in for Tally's HTTP API (the contract of issue 9) over in-memory data, serving the
// built dashboard from dist/dashboard/: the browser tests drive the dashboard against it.
// Tests change its data and push events (`emitSession`) as Tally would on accounting.

import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { readFile } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { extname, join, normalize } from "node:path";
import type { DisconnectResult, NasJson, Overview, RecordJson, SessionJson, UsageBucket } from "../../dashboard/src/types.ts";

export interface FakeData {
  sessions: SessionJson[];
  records: RecordJson[];
  commands: RecordJson[];
  nas: NasJson[];
  overview: Overview;
  /** Per user, the usage buckets the API answers with, by granularity. */
  usage: Record<string, { day: UsageBucket[]; hour: UsageBucket[] }>;
  /** What POST /disconnect answers. */
  disconnectOutcome: { outcome: string; detail?: string };
}

export interface FakeApi {
  url: string;
  data: FakeData;
  /** Every request to /api/*, method and path, in order. */
  requests: { method: string; url: string; body: unknown }[];
  /** Adds or replaces a session and sends it as an `event: session`. */
  emitSession(s: SessionJson): void;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
  ".txt": "text/plain; charset=utf-8",
};

export function makeSession(over: Partial<SessionJson> & { id: number }): SessionJson {
  const now = new Date().toISOString();
  return {
    protocol: "radius",
    client: "lab",
    nas: "nas1",
    user: "alice",
    sessionId: `s${over.id}`,
    status: "open",
    startedAt: now,
    updatedAt: now,
    stoppedAt: null,
    inputOctets: 0,
    outputOctets: 0,
    inputPackets: 0,
    outputPackets: 0,
    sessionTime: 0,
    terminateCause: null,
    framedAddress: null,
    clientAddress: null,
    nasPort: null,
    interimInterval: 300,
    nextUpdateDue: null,
    disconnect: null,
    disconnectReason: null,
    note: null,
    ...over,
  };
}

export async function startFakeApi(opts: { token: string; distDir: string; data: FakeData; overviewMs?: number }): Promise<FakeApi> {
  const { token, distDir, data } = opts;
  const app: FastifyInstance = Fastify({ logger: false });
  const requests: FakeApi["requests"] = [];
  const streams = new Set<ServerResponse>();

  app.addHook("onRequest", async (req: FastifyRequest, reply: FastifyReply) => {
    if (!req.url.startsWith("/api/")) return;
    if (req.headers.authorization !== `Bearer ${token}`) {
      return reply.code(401).send({ error: "missing or wrong bearer token" });
    }
  });
  app.addHook("preHandler", async (req) => {
    if (req.url.startsWith("/api/")) requests.push({ method: req.method, url: req.url, body: req.body ?? null });
  });

  app.get("/api/sessions", async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const limit = Number(q.limit ?? 100);
    const start = Number(q.cursor ?? 0);
    const all = data.sessions
      .filter((s) => (!q.status || s.status === q.status) && (!q.user || s.user === q.user) && (!q.nas || s.nas === q.nas) && (!q.protocol || s.protocol === q.protocol))
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt) || b.id - a.id);
    const page = all.slice(start, start + limit);
    return { sessions: page, next: start + limit < all.length ? String(start + limit) : null };
  });
  app.get("/api/sessions/:id", async (req, reply) => {
    const id = Number((req.params as { id: string }).id);
    const session = data.sessions.find((s) => s.id === id);
    if (!session) return reply.code(404).send({ error: `no session with id ${id}` });
    return { session, records: data.records.filter((r) => r.sessionId === session.sessionId) };
  });
  app.post("/api/sessions/:id/disconnect", async (req, reply) => {
    const id = Number((req.params as { id: string }).id);
    const i = data.sessions.findIndex((s) => s.id === id);
    if (i < 0) return reply.code(404).send({ error: `no session with id ${id}` });
    const reason = (req.body as { reason?: string } | null)?.reason ?? null;
    const session = { ...data.sessions[i]!, disconnect: data.disconnectOutcome.outcome as SessionJson["disconnect"], disconnectReason: reason };
    data.sessions[i] = session;
    const result: DisconnectResult = { session, ...data.disconnectOutcome };
    return result;
  });
  app.get("/api/users/:name/usage", async (req, reply) => {
    const name = (req.params as { name: string }).name;
    const q = req.query as { since?: string; by?: string };
    const by = q.by === "hour" ? "hour" : "day";
    const u = data.usage[name];
    if (!u) return reply.code(404).send({ error: `no usage for ${name}` });
    const buckets = u[by];
    const sum = (k: keyof UsageBucket) => buckets.reduce((a, b) => a + (b[k] as number), 0);
    return {
      user: name,
      since: q.since ?? null,
      sessions: sum("sessions"),
      inputOctets: sum("inputOctets"),
      outputOctets: sum("outputOctets"),
      sessionTime: sum("sessionTime"),
      buckets,
    };
  });
  app.get("/api/nas", async () => ({ nas: data.nas }));
  app.get("/api/audit", async (req) => {
    const q = req.query as Record<string, string | undefined>;
    return { commands: data.commands.filter((c) => (!q.user || c.user === q.user) && (!q.nas || c.nas === q.nas)).slice(0, Number(q.limit ?? 1000)) };
  });
  app.get("/api/overview", async () => data.overview);
  app.get("/api/events", (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", Connection: "keep-alive" });
    res.write(": hello\n\n");
    streams.add(res);
    req.raw.on("close", () => streams.delete(res));
  });

  const send = (event: string, payload: unknown) => {
    for (const res of streams) res.write(`event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`);
  };
  const ticker = setInterval(() => send("overview", data.overview), opts.overviewMs ?? 2000);

  // The dashboard's files; anything else that is not /api/ gets index.html (hash routes).
  app.get("/*", async (req, reply) => {
    const path = normalize(decodeURIComponent(req.url.split("?")[0]!)).replace(/^(\.\.[/\\])+/, "");
    const file = join(distDir, path === "/" ? "index.html" : path);
    try {
      const body = await readFile(file.startsWith(distDir) ? file : join(distDir, "index.html"));
      return reply.type(TYPES[extname(file)] ?? "application/octet-stream").send(body);
    } catch {
      return reply.type(TYPES[".html"]!).send(await readFile(join(distDir, "index.html")));
    }
  });
  app.addHook("preClose", async () => {
    clearInterval(ticker);
    for (const res of streams) res.end();
    streams.clear();
  });

  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  return {
    url,
    data,
    requests,
    emitSession(s) {
      const i = data.sessions.findIndex((x) => x.id === s.id);
      if (i >= 0) data.sessions[i] = s;
      else data.sessions.push(s);
      send("session", s);
    },
    close: () => app.close(),
  };
}
