// The HTTP side of Tally (fastify): the REST API under /api (JSON, described by the OpenAPI
// document at /api/openapi.json, built from the same route schemas that validate requests),
// a live event stream of session changes, /healthz, and the dashboard's static files at /.
// Every path but the configured public ones needs a bearer token; tokens are configured as
// SHA-256 hashes and compared in constant time.

import { createHash, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { extname, join, normalize, resolve } from "node:path";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { Logger } from "pino";
import type { SessionEvents } from "../accounting/events.ts";
import type { DisconnectOutcome } from "../disconnect/disconnector.ts";
import { sessionToJson, type Session, type SessionStatus } from "../model/session.ts";
import { recordToJson, type Protocol } from "../model/record.ts";
import type { Store, UsageDay } from "../store/store.ts";
import { buildOpenApi, type RouteDoc } from "./openapi.ts";

export interface HttpOptions {
  listen: { host: string; port: number };
  tokens: readonly { name: string; sha256: string }[];
  publicPaths: readonly string[];
  /** Where the built dashboard is (index.html and its assets); null: not served. */
  dashboardDir: string | null;
}

export interface HttpDeps {
  store: Store;
  events: SessionEvents;
  disconnect(session: Session, reason: string | null): Promise<DisconnectOutcome>;
  reload(): Promise<void>;
  /** Prometheus text and its content type; absent: /metrics answers 404. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** What plugins say about a user (the quota's state), by plugin name. */
  userStatus?: (user: string) => Promise<Record<string, Record<string, unknown>>>;
  /** The dashboard's overview figures; absent: /api/overview answers 404. */
  overview?: () => Promise<Record<string, unknown>>;
  logger: Logger;
}

export interface RunningHttp {
  address: { host: string; port: number };
  /** New tokens and public paths (a reload); the listen address needs a restart. */
  update(options: Pick<HttpOptions, "tokens" | "publicPaths">): void;
  close(): Promise<void>;
}

/** The SHA-256 (hex) a token is configured as: `tally tokens create` prints and stores it. */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".map": "application/json",
  ".ico": "image/x-icon",
};

/** An opaque cursor for the next page of sessions (newest first: updated_at, then id). */
function encodeCursor(s: Session): string {
  return Buffer.from(JSON.stringify([s.updatedAt, s.id])).toString("base64url");
}

function decodeCursor(cursor: string): { updatedAt: number; id: number } | null {
  try {
    const v = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    if (Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && Number.isSafeInteger(v[1])) return { updatedAt: v[0] as number, id: v[1] as number };
  } catch {
    // falls through
  }
  return null;
}

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

function parseTime(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2}))?$/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new HttpError(400, `${name}: expected an ISO date such as 2026-11-22 or 2026-11-22T10:00:00Z, got "${value}"`);
  return ms;
}

/** Sums days into months (YYYY-MM). */
function byMonth(days: readonly UsageDay[]): UsageDay[] {
  const months = new Map<string, UsageDay>();
  for (const d of days) {
    const key = d.day.slice(0, 7);
    const m = months.get(key) ?? { day: key, inputOctets: 0, outputOctets: 0, sessionTime: 0, sessions: 0 };
    m.inputOctets += d.inputOctets;
    m.outputOctets += d.outputOctets;
    m.sessionTime += d.sessionTime;
    // A session active on several days counts once per day: the month's count is an upper bound.
    m.sessions += d.sessions;
    months.set(key, m);
  }
  return [...months.values()];
}

const sessionSchema = { type: "object", additionalProperties: true, description: "A session, as `tally sessions --json` prints it" } as const;
const recordSchema = { type: "object", additionalProperties: true, description: "An accounting record, as `tally records --json` prints it" } as const;
const idParams = { type: "object", properties: { id: { type: "integer", minimum: 1 } }, required: ["id"] } as const;

export async function startHttp(options: HttpOptions, deps: HttpDeps): Promise<RunningHttp> {
  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 64 * 1024 });
  const docs: RouteDoc[] = [];
  let hashes = options.tokens.map((t) => ({ name: t.name, hash: Buffer.from(t.sha256, "hex") }));
  let publicPaths = options.publicPaths;
  // The dashboard's files and the API's description are public; the data is not.
  const isPublic = (path: string) =>
    publicPaths.includes(path) || path === "/api/openapi.json" || (!path.startsWith("/api/") && path !== "/metrics" && path !== "/healthz");

  /** The token's name when the request carries a configured bearer token. */
  const authenticate = (req: FastifyRequest): string | null => {
    const header = req.headers.authorization;
    const m = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
    if (m === null) return null;
    const presented = createHash("sha256").update(m[1]!, "utf8").digest();
    let found: string | null = null;
    // Every configured hash is compared (no early exit), in constant time each.
    for (const t of hashes) if (t.hash.length === presented.length && timingSafeEqual(t.hash, presented)) found = t.name;
    return found;
  };

  app.addHook("onRequest", async (req, reply) => {
    const path = req.url.split("?")[0]!;
    if (isPublic(path)) return;
    if (authenticate(req) === null) {
      void reply.code(401).header("www-authenticate", 'Bearer realm="tally"').send({ error: "a valid bearer token is required (Authorization: Bearer TOKEN)" });
    }
  });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, req, reply) => {
    const status = err instanceof HttpError ? err.statusCode : err.validation !== undefined ? 400 : (err.statusCode ?? 500);
    if (status >= 500) deps.logger.error({ err, url: req.url }, "HTTP request failed");
    void reply.code(status).send({ error: err.message });
  });

  const route = <Q = Record<string, string>, P = Record<string, unknown>, B = unknown>(
    doc: RouteDoc,
    handler: (req: FastifyRequest<{ Querystring: Q; Params: P; Body: B }>, reply: FastifyReply) => Promise<unknown>,
  ) => {
    docs.push(doc);
    const url = doc.path.replace(/\{(\w+)\}/g, ":$1");
    const schema: Record<string, unknown> = {};
    if (doc.query) schema.querystring = doc.query;
    if (doc.params) schema.params = doc.params;
    if (doc.body) schema.body = doc.body;
    app.route({ method: doc.method, url, schema, handler: handler as never });
  };

  route<{ status?: SessionStatus; user?: string; nas?: string; protocol?: Protocol; since?: string; until?: string; limit?: number; cursor?: string }>(
    {
      method: "GET",
      path: "/api/sessions",
      summary: "Sessions, newest first (by last update), filtered, in pages",
      query: {
        type: "object",
        additionalProperties: false,
        properties: {
          status: { type: "string", enum: ["open", "closed", "stale"] },
          user: { type: "string" },
          nas: { type: "string" },
          protocol: { type: "string", enum: ["radius", "tacacs", "openvpn"] },
          since: { type: "string", description: "only sessions updated at or after this ISO time" },
          until: { type: "string", description: "only sessions started before this ISO time" },
          limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
          cursor: { type: "string", description: "`next` of the previous page" },
        },
      },
      response: { type: "object", properties: { sessions: { type: "array", items: sessionSchema }, next: { type: ["string", "null"] } } },
    },
    async (req) => {
      const q = req.query;
      const before = q.cursor === undefined ? undefined : (decodeCursor(q.cursor) ?? undefined);
      if (q.cursor !== undefined && before === undefined) throw new HttpError(400, "cursor: not a cursor this API gave");
      const limit = q.limit ?? 100;
      const sessions = await deps.store.listSessions({
        status: q.status,
        user: q.user,
        nas: q.nas,
        protocol: q.protocol,
        since: parseTime("since", q.since),
        until: parseTime("until", q.until),
        before,
        limit: limit + 1,
      });
      const page = sessions.slice(0, limit);
      return { sessions: page.map(sessionToJson), next: sessions.length > limit ? encodeCursor(page[page.length - 1]!) : null };
    },
  );

  route<Record<string, never>, { id: number }>(
    {
      method: "GET",
      path: "/api/sessions/{id}",
      summary: "One session and the timeline of its records",
      params: idParams,
      response: { type: "object", properties: { session: sessionSchema, records: { type: "array", items: recordSchema } } },
    },
    async (req) => {
      const session = await deps.store.getSession(req.params.id);
      if (session === null) throw new HttpError(404, `no session with id ${req.params.id}`);
      return { session: sessionToJson(session), records: (await deps.store.listRecords(session.id)).map(recordToJson) };
    },
  );

  route<Record<string, never>, { id: number }, { reason?: string } | undefined>(
    {
      method: "POST",
      path: "/api/sessions/{id}/disconnect",
      summary: "Cut the session off on its NAS (RFC 5176 Disconnect-Request, the client's command or HTTP action, or OpenVPN's client-kill)",
      params: idParams,
      body: { type: ["object", "null"], additionalProperties: false, properties: { reason: { type: "string", maxLength: 200 } } },
      response: {
        type: "object",
        properties: { session: sessionSchema, outcome: { type: "string", enum: ["acknowledged", "refused", "unanswered"] }, detail: { type: "string" } },
      },
    },
    async (req) => {
      const session = await deps.store.getSession(req.params.id);
      if (session === null) throw new HttpError(404, `no session with id ${req.params.id}`);
      if (session.status !== "open") throw new HttpError(409, `session ${session.id} is ${session.status}, not open`);
      const outcome = await deps.disconnect(session, req.body?.reason ?? "HTTP API");
      const after = (await deps.store.getSession(session.id)) ?? session;
      deps.events.publish(after);
      return { session: sessionToJson(after), outcome: outcome.state, detail: outcome.detail };
    },
  );

  route<{ since?: string; by?: "day" | "hour" | "month" }, { name: string }>(
    {
      method: "GET",
      path: "/api/users/{name}/usage",
      summary:
        "A user's usage: totals, and bytes, time and sessions per day, hour or month (UTC), by when they were used; `quota` (and `plugins`) with what the quota plugin says of the user when it is loaded",
      params: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
      query: {
        type: "object",
        additionalProperties: false,
        properties: { since: { type: "string", description: "ISO date or time" }, by: { type: "string", enum: ["day", "hour", "month"], default: "day" } },
      },
      response: { type: "object", additionalProperties: true },
    },
    async (req) => {
      const since = parseTime("since", req.query.since) ?? null;
      const by = req.query.by ?? "day";
      const u = await deps.store.usage(req.params.name, since, by === "hour" ? "hour" : "day");
      const buckets = by === "month" ? byMonth(u.days) : u.days;
      const plugins = deps.userStatus === undefined ? {} : await deps.userStatus(req.params.name);
      return {
        user: u.user,
        since: since === null ? null : new Date(since).toISOString(),
        by,
        sessions: u.sessions,
        inputOctets: u.inputOctets,
        outputOctets: u.outputOctets,
        sessionTime: u.sessionTime,
        buckets: buckets.map(({ day, ...rest }) => ({ period: day, ...rest })),
        // The quota plugin's view (limits, used, left, exhausted) when it is loaded.
        ...(plugins.quota !== undefined ? { quota: plugins.quota } : {}),
        plugins,
      };
    },
  );

  route(
    {
      method: "GET",
      path: "/api/nas",
      summary: "NASes (by identity and protocol) with their open and total sessions",
      response: { type: "object", properties: { nas: { type: "array", items: { type: "object", additionalProperties: true } } } },
    },
    async () => ({ nas: (await deps.store.listNas()).map((n) => ({ ...n, lastSeen: new Date(n.lastSeen).toISOString() })) }),
  );

  route<{ user?: string; nas?: string; since?: string; limit?: number }>(
    {
      method: "GET",
      path: "/api/audit",
      summary: "Commands users ran on devices (TACACS+ command accounting), newest first",
      query: {
        type: "object",
        additionalProperties: false,
        properties: { user: { type: "string" }, nas: { type: "string" }, since: { type: "string" }, limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 } },
      },
      response: { type: "object", properties: { commands: { type: "array", items: recordSchema } } },
    },
    async (req) => {
      const q = req.query;
      const commands = await deps.store.listCommands({ user: q.user, nas: q.nas, since: parseTime("since", q.since), limit: q.limit ?? 100 });
      return { commands: commands.map(recordToJson) };
    },
  );

  route(
    { method: "POST", path: "/api/reload", summary: "Re-read the configuration and plugins (as SIGHUP does)", response: { type: "object", additionalProperties: true } },
    async () => {
      try {
        await deps.reload();
      } catch (e) {
        throw new HttpError(422, `reload failed, the running configuration stays: ${(e as Error).message}`);
      }
      return { reloaded: true };
    },
  );

  route(
    { method: "GET", path: "/api/overview", summary: "Requests per second, open sessions, drops, plugin errors, spool depth", response: { type: "object", additionalProperties: true } },
    async () => {
      if (deps.overview === undefined) throw new HttpError(404, "no overview in this server");
      return deps.overview();
    },
  );

  route(
    {
      method: "GET",
      path: "/api/events",
      summary: "Server-sent events: `session` (a session as JSON) whenever one changes; a comment every 15 s keeps the stream open",
      response: { type: "string", description: "text/event-stream" },
      produces: "text/event-stream",
    },
    async (req, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no" });
      res.write(": tally events\n\n");
      const unsubscribe = deps.events.subscribe((s) => {
        res.write(`event: session\ndata: ${JSON.stringify(sessionToJson(s))}\n\n`);
      });
      const overview =
        deps.overview === undefined
          ? null
          : setInterval(() => {
              deps.overview!().then(
                (o) => res.write(`event: overview\ndata: ${JSON.stringify(o)}\n\n`),
                () => undefined,
              );
            }, 2000);
      const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
      req.raw.once("close", () => {
        unsubscribe();
        clearInterval(keepAlive);
        if (overview !== null) clearInterval(overview);
      });
    },
  );

  const openapi = buildOpenApi(docs);
  app.get("/api/openapi.json", async () => openapi);

  app.get("/healthz", async (_req, reply) => {
    try {
      await deps.store.listSessions({ limit: 1 });
      return { status: "ok" };
    } catch (e) {
      return reply.code(503).send({ status: "unavailable", error: (e as Error).message });
    }
  });

  app.get("/metrics", async (_req, reply) => {
    if (deps.metrics === undefined) return reply.code(404).send({ error: "no metrics in this server" });
    const m = await deps.metrics();
    return reply.type(m.contentType).send(m.body);
  });

  // The dashboard: its files, and index.html for any other path (client-side routes).
  const root = options.dashboardDir === null ? null : resolve(options.dashboardDir);
  app.setNotFoundHandler(async (req, reply) => {
    const path = decodeURIComponent(req.url.split("?")[0]!);
    if (req.method !== "GET" || path.startsWith("/api/")) return reply.code(404).send({ error: `no such endpoint: ${req.method} ${path}` });
    if (root === null || !existsSync(join(root, "index.html"))) {
      return reply.code(503).type("text/plain").send("The dashboard is not built here: run `npm run build:dashboard` (scripts/install.sh does).\n");
    }
    const file = normalize(join(root, path));
    const inside = file.startsWith(root + "/");
    const target = inside && existsSync(file) && statSync(file).isFile() ? file : join(root, "index.html");
    return reply.type(MIME[extname(target)] ?? "application/octet-stream").send(readFileSync(target));
  });

  await app.listen({ host: options.listen.host, port: options.listen.port });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : options.listen.port;
  return {
    address: { host: options.listen.host, port },
    update(next) {
      hashes = next.tokens.map((t) => ({ name: t.name, hash: Buffer.from(t.sha256, "hex") }));
      publicPaths = next.publicPaths;
    },
    close: () => app.close(),
  };
}
