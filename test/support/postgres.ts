// A private PostgreSQL server for tests: Debian's binaries (installed by
// scripts/install-test-deps.sh), a fresh cluster in a temporary directory, listening on
// 127.0.0.1 at a free port and on a unix socket in its own directory. Nothing is assumed to be
// running; each test file starts its own cluster (so one test may stop and restart it) and each
// test creates and drops its own databases.

import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { freeTcpPort } from "./ports.ts";

const PG_LIB = "/usr/lib/postgresql";

/** bigint and numeric as JavaScript numbers, as the store reads them (the tests' values are safe). */
const numbersAsNumbers = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};

/** The newest PostgreSQL from Debian on this machine, or null. */
function binDir(): string | null {
  if (!fs.existsSync(PG_LIB)) return null;
  const versions = fs
    .readdirSync(PG_LIB)
    .filter((v) => fs.existsSync(path.join(PG_LIB, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length === 0 ? null : path.join(PG_LIB, versions[0]!, "bin");
}

/** Why PostgreSQL tests cannot run here, or null when they can. */
export function postgresUnavailable(): string | null {
  if (binDir() === null) return `PostgreSQL server binaries not found under ${PG_LIB} (scripts/install-test-deps.sh installs Debian's postgresql)`;
  if (process.getuid?.() === 0 && spawnSync("id", ["-u", "postgres"]).status !== 0) return "running as root but there is no postgres user to run the server as";
  return null;
}

export class PostgresServer {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bin: string,
    private readonly asPostgres: boolean,
  ) {}

  /** initdb + start. Superuser `tally`, trust authentication on loopback only. */
  static async start(): Promise<PostgresServer> {
    const why = postgresUnavailable();
    if (why !== null) throw new Error(why);
    const bin = binDir()!;
    const asPostgres = process.getuid?.() === 0;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tally-pg-"));
    fs.chmodSync(dir, 0o700);
    if (asPostgres) execFileSync("chown", ["postgres:postgres", dir]);
    const server = new PostgresServer(dir, await freeTcpPort(), bin, asPostgres);
    server.run("initdb", ["-D", server.data, "-U", "tally", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
    fs.appendFileSync(
      path.join(server.data, "postgresql.conf"),
      [
        `port = ${server.port}`,
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${dir}'`,
        // Durable as in production: the tests' claims about acknowledged records rely on it.
        "fsync = on",
        "synchronous_commit = on",
        "max_connections = 100",
        "",
      ].join("\n"),
    );
    await server.startServer();
    return server;
  }

  get data(): string {
    return path.join(this.dir, "data");
  }

  private run(tool: string, args: string[]): string {
    const file = path.join(this.bin, tool);
    const [cmd, argv] = this.asPostgres ? ["runuser", ["-u", "postgres", "--", file, ...args]] : [file, args];
    return execFileSync(cmd, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  }

  /** Starts the server (again) and waits until it accepts connections. */
  async startServer(): Promise<void> {
    this.run("pg_ctl", ["-D", this.data, "-l", path.join(this.dir, "server.log"), "-w", "-t", "60", "start"]);
  }

  /** Stops the server (fast shutdown: open connections are cut, as in an outage). */
  stopServer(): void {
    this.run("pg_ctl", ["-D", this.data, "-m", "fast", "-w", "-t", "60", "stop"]);
  }

  /** The postmaster's PID (from its pid file), or null when it is not running. */
  pid(): number | null {
    try {
      return Number(fs.readFileSync(path.join(this.data, "postmaster.pid"), "utf8").split("\n")[0]);
    } catch {
      return null;
    }
  }

  url(database = "postgres"): string {
    return `postgres://tally@127.0.0.1:${this.port}/${database}`;
  }

  async sql(text: string, database = "postgres", params: unknown[] = []): Promise<pg.QueryResult> {
    const c = new pg.Client({ connectionString: this.url(database), types: numbersAsNumbers });
    await c.connect();
    try {
      return await c.query(text, params);
    } finally {
      await c.end();
    }
  }

  /** Creates an empty database with a fresh name and returns its URL. */
  async createDatabase(prefix = "t"): Promise<string> {
    const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
    await this.sql(`CREATE DATABASE ${name}`);
    return this.url(name);
  }

  async dropDatabase(url: string): Promise<void> {
    const name = new URL(url).pathname.slice(1);
    await this.sql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }

  /** Stops the server if running and removes its directory. */
  destroy(): void {
    if (this.pid() !== null) {
      try {
        this.stopServer();
      } catch {
        // Already stopping or gone: the directory goes anyway.
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
