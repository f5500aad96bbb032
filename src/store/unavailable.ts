// Which store errors mean "the store cannot be reached right now" (retry later: spool the
// records) rather than "the store refused these records" (a bug or bad data: reject). One
// function, so the spool, the start-up retry and the logs agree.

/** Socket errors of Node's net and dns modules: the server is down or the path to it is. */
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);

/**
 * PostgreSQL SQLSTATEs other than class 08 (connection exception): the server is shutting
 * down (57P01 admin_shutdown, 57P02 crash_shutdown), starting or recovering (57P03
 * cannot_connect_now), or full (53300 too_many_connections).
 */
const SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300"]);

/**
 * node-postgres's own errors, which carry no code: the socket closed under a query (pg
 * Client: "Connection terminated unexpectedly", or "Connection terminated" when the client was
 * being ended), a dead client reused, a connect or query timeout (pg Client's
 * connectionTimeoutMillis and query_timeout; pg-pool's connectionTimeoutMillis when connecting
 * and when waiting for a free client).
 */
const PG_MESSAGES = new Set([
  "Connection terminated",
  "Connection terminated unexpectedly",
  "Connection terminated due to connection timeout",
  "Client has encountered a connection error and is not queryable",
  "timeout expired",
  "Query read timeout",
  "timeout exceeded when trying to connect",
]);

function unavailableHere(err: object): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") {
    if (SOCKET_CODES.has(code) || SQLSTATES.has(code)) return true;
    // Class 08: a SQLSTATE is five characters, digits and upper-case letters.
    if (/^08[0-9A-Z]{3}$/.test(code)) return true;
  }
  const message = (err as { message?: unknown }).message;
  return typeof message === "string" && PG_MESSAGES.has(message);
}

/**
 * True when `err` says the store is unreachable for now: a socket error, a PostgreSQL
 * connection-class SQLSTATE or shutdown, or node-postgres's connection-lost and timeout
 * errors. Looks through `cause` (a store that wraps the driver's error) and the errors of an
 * AggregateError (Node's connect tries every address of a name and reports them together).
 */
export function isStoreUnavailable(err: unknown): boolean {
  const seen = new Set<object>();
  const look = (e: unknown): boolean => {
    if (e === null || typeof e !== "object" || seen.has(e)) return false;
    seen.add(e);
    if (unavailableHere(e)) return true;
    if (e instanceof AggregateError && e.errors.some(look)) return true;
    return look((e as { cause?: unknown }).cause);
  };
  return look(err);
}
