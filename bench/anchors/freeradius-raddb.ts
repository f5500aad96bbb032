// The raddb of the FreeRADIUS anchor: a copy of Debian's /etc/freeradius/3.0 with paths moved
// into the anchor's temp dir, no privilege switch (root, 0700 dir), no EAP (it needs the
// package's certificates) and no stock site, plus one virtual server "anchor" on 127.0.0.1 with
// the client 127.0.0.1 (require_message_authenticator = no).
//
// Modes (the accounting section is what an accounting benchmark measures):
//   detail  accounting { detail }  the stock detail-file writer (no fsync), stock thread pool
//   sqlite  accounting { sql }     rlm_sql_sqlite on a file; ONE worker thread and a pool of one
//                                  connection, because SQLite has one writer: with the stock
//                                  pool most writes fail "database is locked", and a 1-connection
//                                  pool under the stock threads fails "No connections available"
//                                  (the v3 pool does not wait)
//   files   authorize { files pap } authenticate { pap } with the given users, for PAP
//           benchmarks; accounting is answered (ok) without storing anything
// Every mode listens for authentication and accounting, authenticates the given users by PAP,
// and runs preacct { preprocess acct_unique } as the stock default site does.
//
// Deviations from the stock config, each so that FreeRADIUS is not handicapped by the rig:
//   recv_buff (4 MiB) in the listen sections: with the kernel's 208 KiB default a burst of a few
//     hundred requests overflows the socket, and every drop costs the client a retransmit timeout;
//   reject_delay = 0: rejects are not held back a second (a PAP bench has right passwords anyway);
//   max_requests 2^20 instead of 16384: an answered request stays tracked for cleanup_delay (5 s)
//     per client source port and ID, so a load generator spreading over more than 64 sockets
//     would make the stock server drop new requests ("Dropping request (N is too many)").
//     radclient reuses one socket and never gets there.

import { cp, mkdir, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FreeRadiusMode } from "./freeradius.ts";

export const STOCK_RADDB = "/etc/freeradius/3.0";
export const RECV_BUFF = 4 * 1024 * 1024;
const MAX_REQUESTS = 1 << 20;
const SQLITE_THREADS = 1;

export interface RaddbSpec {
  /** The anchor's temp dir: raddb/, log/, run/, radacct/ go there. */
  dir: string;
  mode: FreeRadiusMode;
  secret: string;
  users: { name: string; password: string }[];
  ports: { auth: number; acct: number };
  /** recv_buff of both listen sections (bytes). */
  recvBuff: number;
  /** sqlite mode: the database file. */
  sqliteFile?: string;
}

/**
 * A single-quoted string for clients.conf, the sql module and the users file: literal there
 * (double quotes expand ${...} and %{...}), with \' for a quote. FreeRADIUS 3.2 keeps any other
 * backslash as it is ('a\\b' is two backslashes; found by trying radclient against it), so a
 * value with a backslash cannot always be written and is refused.
 */
function quote(s: string, what: string): string {
  if ([...s].some((c) => c === "\\" || c < " " || c === "\x7f")) throw new Error(`FreeRADIUS anchor: ${what} contains a backslash or a control character`);
  return `'${s.replace(/'/g, "\\'")}'`;
}

/** Sets `key = value` on the one uncommented line of that key; a changed stock file fails loudly. */
function setKey(text: string, key: string, value: string | null): string {
  const re = new RegExp(`^([ \\t]*)${key}[ \\t]*=.*$`, "gm");
  const n = text.match(re)?.length ?? 0;
  if (n !== 1) throw new Error(`FreeRADIUS anchor: expected one "${key} =" line in the stock config, found ${n}`);
  return text.replace(re, (_m, indent: string) => (value === null ? `${indent}#${key} (removed by the anchor)` : `${indent}${key} = ${value}`));
}

function stockNumber(text: string, key: string): number {
  const v = new RegExp(`^[ \\t]*${key}[ \\t]*=[ \\t]*(\\d+)`, "m").exec(text)?.[1];
  if (v === undefined) throw new Error(`FreeRADIUS anchor: no "${key} =" in the stock radiusd.conf`);
  return Number(v);
}

export interface Layout {
  raddb: string;
  radacct: string;
  sqliteFile?: string;
  /** The thread pool and, for sqlite, the connection pool, for `describe`. */
  threads: string;
}

export async function writeRaddb(o: RaddbSpec): Promise<Layout> {
  const { dir, ports, recvBuff, sqliteFile } = o;
  const raddb = join(dir, "raddb");
  const radacct = join(dir, "radacct");
  // verbatimSymlinks keeps mods-enabled/* pointing into the copy's mods-available.
  await cp(STOCK_RADDB, raddb, { recursive: true, verbatimSymlinks: true });
  await Promise.all(["log", "run", "radacct"].map((d) => mkdir(join(dir, d))));

  let conf = await readFile(join(raddb, "radiusd.conf"), "utf8");
  conf = setKey(conf, "raddbdir", raddb);
  conf = setKey(conf, "logdir", join(dir, "log"));
  conf = setKey(conf, "radacctdir", radacct);
  conf = setKey(conf, "run_dir", join(dir, "run"));
  // Running as root from a 0700 dir: no switch to the freerad user.
  conf = setKey(conf, "user", null);
  conf = setKey(conf, "group", null);
  conf = setKey(conf, "reject_delay", "0");
  conf = setKey(conf, "max_requests", String(MAX_REQUESTS));
  let threads = `thread pool ${stockNumber(conf, "start_servers")}-${stockNumber(conf, "max_servers")} (stock)`;
  if (o.mode === "sqlite") {
    // The sql module's pool follows these (start/min/max/spare = ${thread[pool].*}): one each.
    for (const k of ["start_servers", "max_servers", "min_spare_servers", "max_spare_servers"]) {
      conf = setKey(conf, k, String(SQLITE_THREADS));
    }
    threads = `${SQLITE_THREADS} worker thread, pool of ${SQLITE_THREADS} connection`;
  }
  await writeFile(join(raddb, "radiusd.conf"), conf);

  // EAP needs TLS certificates the package generates only for its own service; no stock site.
  await rm(join(raddb, "mods-enabled", "eap"), { force: true });
  for (const f of await readdir(join(raddb, "sites-enabled"))) await rm(join(raddb, "sites-enabled", f), { force: true });

  await writeFile(
    join(raddb, "clients.conf"),
    `client localhost {\n\tipaddr = 127.0.0.1\n\tsecret = ${quote(o.secret, "the secret")}\n\trequire_message_authenticator = no\n}\n`,
  );
  const users = o.users.map((u) => `${quote(u.name, "a user name")}\tCleartext-Password := ${quote(u.password, "a password")}\n`);
  await writeFile(join(raddb, "mods-config", "files", "authorize"), users.join(""));

  let accounting = "ok";
  if (o.mode === "detail") accounting = "detail";
  if (o.mode === "sqlite") {
    accounting = "sql";
    await symlink("../mods-available/sql", join(raddb, "mods-enabled", "sql"));
    let sql = await readFile(join(raddb, "mods-available", "sql"), "utf8");
    sql = setKey(sql, "driver", '"rlm_sql_sqlite"');
    // rlm_sql_sqlite creates the file and runs the bootstrap schema when the file is missing.
    sql = setKey(sql, "filename", quote(sqliteFile!, "the SQLite path"));
    await writeFile(join(raddb, "mods-available", "sql"), sql);
  }

  const listen = (type: string, port: number) =>
    `  listen {\n    type = ${type}\n    ipaddr = 127.0.0.1\n    port = ${port}\n    recv_buff = ${recvBuff}\n  }\n`;
  await writeFile(
    join(raddb, "sites-enabled", "anchor"),
    `server anchor {\n${listen("auth", ports.auth)}${listen("acct", ports.acct)}` +
      `  authorize {\n    files\n    pap\n  }\n` +
      `  authenticate {\n    Auth-Type PAP {\n      pap\n    }\n  }\n` +
      `  preacct {\n    preprocess\n    acct_unique\n  }\n` +
      `  accounting {\n    ${accounting}\n  }\n}\n`,
  );
  return { raddb, radacct, sqliteFile, threads };
}
