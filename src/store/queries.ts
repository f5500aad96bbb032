// The filtered, newest-first listings both stores run (listSessions, listCommands), as
// parameterized SQL that SQLite and PostgreSQL both accept: each store only supplies its
// placeholder syntax. Values never become SQL text, so a store that caches statements by
// their text (SQLite) caches one per shape of query, not one per page.

import type { CommandFilter, SessionFilter } from "./store.ts";

const DEFAULT_LIMIT = 1000;

interface Condition {
  /** A column, or a row value such as (updated_at, id). */
  left: string;
  op: "=" | ">=" | "<";
  value: string | number | readonly number[];
}

export interface Listing {
  table: "records" | "sessions";
  /** Conditions without values, e.g. "command IS NOT NULL". */
  fixed: readonly string[];
  conditions: readonly Condition[];
  orderBy: string;
  limit: number;
}

function conditions(entries: [string, Condition["op"], Condition["value"] | undefined][]): Condition[] {
  return entries.filter((e): e is [string, Condition["op"], Condition["value"]] => e[2] !== undefined).map(([left, op, value]) => ({ left, op, value }));
}

function checkedLimit(limit: number | undefined): number {
  const lim = limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(lim) || lim < 0) throw new RangeError(`bad limit ${lim}`);
  return lim;
}

/** Sessions by last update, newest first; `before` continues after a page (keyset on updated_at, id). */
export function sessionListing(filter: SessionFilter): Listing {
  const b = filter.before;
  if (b !== undefined && !(Number.isSafeInteger(b.updatedAt) && Number.isSafeInteger(b.id))) throw new RangeError("bad page cursor");
  return {
    table: "sessions",
    fixed: [],
    conditions: conditions([
      ["status", "=", filter.status],
      ['"user"', "=", filter.user],
      ["nas", "=", filter.nas],
      ["protocol", "=", filter.protocol],
      ["disconnect", "=", filter.disconnect],
      ["updated_at", ">=", filter.since],
      ["started_at", "<", filter.until],
      ["(updated_at, id)", "<", b === undefined ? undefined : [b.updatedAt, b.id]],
    ]),
    orderBy: "updated_at DESC, id DESC",
    limit: checkedLimit(filter.limit),
  };
}

/** Records that carry a command (the audit trail), newest first. */
export function commandListing(filter: CommandFilter): Listing {
  return {
    table: "records",
    fixed: ["command IS NOT NULL"],
    conditions: conditions([
      ['"user"', "=", filter.user],
      ["nas", "=", filter.nas],
      ["event_time", ">=", filter.since],
    ]),
    orderBy: "event_time DESC, id DESC",
    limit: checkedLimit(filter.limit),
  };
}

/** The listing as SQL; `placeholder(n)` is the store's n-th parameter (1-based): "?" or "$n". */
export function listingSql(l: Listing, placeholder: (n: number) => string): { sql: string; params: (string | number)[] } {
  const params: (string | number)[] = [];
  const next = (v: string | number) => {
    params.push(v);
    return placeholder(params.length);
  };
  const where = [
    ...l.fixed,
    ...l.conditions.map((c) => `${c.left} ${c.op} ${Array.isArray(c.value) ? `(${(c.value as readonly number[]).map(next).join(", ")})` : next(c.value as string | number)}`),
  ];
  const sql = `SELECT * FROM ${l.table}${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY ${l.orderBy} LIMIT ${next(l.limit)}`;
  return { sql, params };
}
