// Loads tally.yaml: parse, validate, resolve secrets from env/files and paths relative to the
// file. Every error names the file, the key and what was expected, because an operator reads it
// at 3 a.m. with a NAS down.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { configSchema, parseAddressRange, parseListenAddress, type ConfigFile, type SecretSource } from "./schema.ts";

type RulesFile = NonNullable<ConfigFile["users"][number]["tacacs"]>;

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: invalid configuration\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export interface ClientConfig {
  name: string;
  address: { address: string; prefix: number; family: "ipv4" | "ipv6" };
  /** RADIUS shared secret; null: this client does not speak RADIUS. */
  secret: Buffer | null;
  /** TACACS+ key; null: this client does not speak TACACS+. */
  tacacsKey: Buffer | null;
  /** How this client is recognised on the TLS listeners; null: it cannot use them. */
  certificate: CertificateIdentity | null;
  /** RADIUS requests per second from all its addresses; null: no limit. */
  rateLimit: RateLimit | null;
  /** The NAS names its Accounting-Requests may carry; null: any. */
  nas: string[] | null;
  /** BlastRADIUS: see src/radius/blastradius.ts. */
  requireMessageAuthenticator: boolean | "auto";
  limitProxyState: boolean | "auto";
  /** The NAS's dynamic-authorization server (RFC 5176). */
  coa: { address: string | null; port: number; secret: Buffer | null; timeoutMs: number; retries: number };
  coaInterimInterval: boolean;
  disconnect: { action: "coa" | "command" | "http"; command: string | null; url: string | null; timeoutMs: number };
}

/** A token bucket: `rate` per second, `burst` at once. */
export interface RateLimit {
  rate: number;
  burst: number;
}

/** What a TLS peer's certificate must show; see certificateIdentitySchema. */
export interface CertificateIdentity {
  /** Subject fields that must be equal, e.g. { CN: "edge1.example.net" }; null: any subject. */
  subject: Record<string, string> | null;
  /** One of these must be among the certificate's SANs ("DNS:x", "IP:x", "URI:x", "email:x"); null: any. */
  san: string[] | null;
}

/** Absolute paths of the TLS files (re-read on SIGHUP). */
export interface TlsFiles {
  cert: string;
  key: string;
  ca: string;
  crl: string | null;
}

export interface RadsecListenConfig {
  listen: { host: string; port: number };
  idleTimeout: number;
  handshakeTimeout: number;
  maxConnections: number;
  maxConnectionsPerSource: number;
}

/** TACACS+ authorization rules with values as strings and patterns compiled. */
export interface TacacsRules {
  shell: Record<string, string> | null;
  services: Record<string, Record<string, string>>;
  commands: { match: RegExp; permit: boolean; source: string }[];
  defaultCommand: "permit" | "deny" | null;
}

export interface OpenVpnRadiusConfig {
  server: string;
  authPort: number;
  acctPort: number;
  secret: string;
  timeout: number;
  retries: number;
  nasIpAddress: string | null;
  /** Where DM/CoA requests arrive; null: none accepted. */
  dynamicAuthorization: { host: string; port: number } | null;
}

export interface OpenVpnConfig {
  name: string;
  management: { host: string; port: number } | { path: string };
  password: string | null;
  defaultInterimInterval: number;
  /** Only used by `tally openvpn`. */
  radius?: OpenVpnRadiusConfig | null;
}

export interface PluginConfig {
  /** As written in the config: a built-in name or a path. */
  module: string;
  /** A built-in's name, or the absolute path of a module file. */
  resolved: { builtin: string } | { path: string };
  options: Record<string, unknown>;
  /** Milliseconds per hook call. */
  timeoutMs: number;
  /** Shown instead of the plugin's own name. */
  name?: string;
  /** The folder of the config file, for relative paths in options. */
  baseDir: string;
}

export interface GroupConfig {
  name: string;
  reply: Record<string, string | number>;
  tacacs: TacacsRules | null;
}

export interface UserConfig {
  name: string;
  password: string;
  enable: string | null;
  groups: string[];
  reply: Record<string, string | number>;
  tacacs: TacacsRules | null;
}

export type StoreConfig =
  | { sqlite: string }
  | { postgres: string; poolSize: number; spool: boolean; journal: string };

export interface Config {
  /** Absolute path of the file this came from. */
  file: string;
  store: StoreConfig;
  radius: {
    auth: { host: string; port: number } | null;
    acct: { host: string; port: number } | null;
    dictionaries: string[];
    receiveBuffer: number;
    duplicateWindow: number;
    /** Per source address; null: no limit. */
    rateLimitPerSource: RateLimit | null;
    maxPending: number;
    /** Null: no RadSec listener. */
    radsec: RadsecListenConfig | null;
  };
  tacacs: {
    listen: { host: string; port: number } | null;
    /** TACACS+ over TLS 1.3; null: none. */
    tls: { host: string; port: number } | null;
    idleTimeout: number;
    maxConnections: number;
    maxConnectionsPerSource: number;
    maxPending: number;
    handshakeTimeout: number;
    packetTimeout: number;
    maxBodyLength: number;
    loginRounds: number;
  };
  clients: ClientConfig[];
  /** Null: no TLS listener may be configured. */
  tls: TlsFiles | null;
  groups: GroupConfig[];
  users: UserConfig[];
  plugins: PluginConfig[];
  openvpn: OpenVpnConfig[];
  /** Null: no HTTP server. */
  http: { listen: { host: string; port: number }; tokens: { name: string; sha256: string }[]; publicPaths: string[] } | null;
  accounting: ConfigFile["accounting"];
  log: ConfigFile["log"];
}

export const DEFAULT_CONFIG_PATH = "tally.yaml";

/** Where the config is: --config, else $TALLY_CONFIG, else ./tally.yaml. */
export function configPath(explicit?: string): string {
  return resolve(explicit ?? process.env.TALLY_CONFIG ?? DEFAULT_CONFIG_PATH);
}

function keyPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? String(p) : `.${String(p)}`;
  return out === "" ? "(top level)" : out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = keyPath(issue.path);
  if (issue.code === "unrecognized_keys") {
    return `${where}: unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  }
  if (issue.code === "invalid_type" && issue.message.includes("received undefined")) {
    return `${where}: missing (expected ${issue.expected})`;
  }
  return `${where}: ${issue.message}`;
}

function resolveSecret(file: string, key: string, source: SecretSource, problems: string[]): string {
  if (typeof source === "string") return source;
  if ("env" in source) {
    const v = process.env[source.env];
    if (v === undefined || v === "") problems.push(`${key}: environment variable ${source.env} is not set`);
    return v ?? "";
  }
  const path = isAbsolute(source.file) ? source.file : resolve(dirname(file), source.file);
  try {
    // A trailing newline in a secret file is an editor's, not part of the secret.
    return readFileSync(path, "utf8").replace(/\r?\n$/, "");
  } catch (e) {
    problems.push(`${key}: cannot read secret file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    return "";
  }
}

/** "CN=edge1, O=Example" -> { CN: "edge1", O: "Example" } (the schema checked the shape). */
function parseSubject(text: string): Record<string, string> {
  return Object.fromEntries(
    text.split(",").map((part) => {
      const eq = part.indexOf("=");
      return [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
    }),
  );
}

function bucket(limit: { rate: number; burst?: number | undefined }): RateLimit {
  return { rate: limit.rate, burst: limit.burst ?? Math.max(1, Math.ceil(limit.rate)) };
}

const avText = (v: string | number | boolean) => String(v);

function compileRules(rules: RulesFile | undefined, who: string, source: string): TacacsRules | null {
  if (rules === undefined) return null;
  const strings = (r: Record<string, string | number | boolean>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, avText(v)]));
  return {
    shell: rules.shell === undefined ? null : strings(rules.shell),
    services: Object.fromEntries(Object.entries(rules.services).map(([k, v]) => [k, strings(v)])),
    commands: rules.commands.map((c, i) => ({ match: new RegExp(c.match), permit: c.permit, source: `${source}.commands[${i}] (${who})` })),
    defaultCommand: rules.defaultCommand ?? null,
  };
}

/** Validates an already-parsed document; `file` is used for messages and relative paths. */
export function buildConfig(file: string, doc: unknown): Config {
  const parsed = configSchema.safeParse(doc ?? {});
  if (!parsed.success) throw new ConfigError(file, parsed.error.issues.map(describeIssue));
  const c = parsed.data;
  const problems: string[] = [];
  const baseDir = dirname(file);
  const rel = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));

  const seenClients = new Set<string>();
  const clients = c.clients.map((cl, i): ClientConfig => {
    if (seenClients.has(cl.name)) problems.push(`clients[${i}].name: "${cl.name}" is used by an earlier client; names must be unique`);
    seenClients.add(cl.name);
    if (cl.secret === undefined && cl.tacacsKey === undefined && cl.certificate === undefined) {
      problems.push(`clients[${i}]: expected a RADIUS "secret", a TACACS+ "tacacsKey", a TLS "certificate", or several`);
    }
    const secret = (key: "secret" | "tacacsKey") => {
      const source = cl[key];
      return source === undefined ? null : Buffer.from(resolveSecret(file, `clients[${i}].${key}`, source, problems), "utf8");
    };
    const radiusSecret = secret("secret");
    const command = cl.disconnect?.command;
    return {
      name: cl.name,
      address: parseAddressRange(cl.address)!,
      secret: radiusSecret,
      tacacsKey: secret("tacacsKey"),
      certificate: cl.certificate === undefined ? null : { subject: cl.certificate.subject === undefined ? null : parseSubject(cl.certificate.subject), san: cl.certificate.san ?? null },
      rateLimit: cl.rateLimit === undefined ? null : bucket(cl.rateLimit),
      nas: cl.nas ?? null,
      requireMessageAuthenticator: cl.requireMessageAuthenticator,
      limitProxyState: cl.limitProxyState,
      coa: {
        address: cl.coa?.address ?? null,
        port: cl.coa?.port ?? 3799,
        secret: cl.coa?.secret === undefined ? radiusSecret : Buffer.from(resolveSecret(file, `clients[${i}].coa.secret`, cl.coa.secret, problems), "utf8"),
        timeoutMs: Math.round((cl.coa?.timeout ?? 1) * 1000),
        retries: cl.coa?.retries ?? 3,
      },
      coaInterimInterval: cl.coaInterimInterval,
      disconnect: {
        action: cl.disconnect?.action ?? "coa",
        // A bare name is looked up on PATH; a path is relative to the config file.
        command: command === undefined ? null : command.includes("/") ? rel(command) : command,
        url: cl.disconnect?.url ?? null,
        timeoutMs: Math.round((cl.disconnect?.timeout ?? 10) * 1000),
      },
    };
  });
  const groupNames = new Set<string>();
  const groups = c.groups.map((g, i): GroupConfig => {
    if (groupNames.has(g.name)) problems.push(`groups[${i}].name: "${g.name}" is defined twice`);
    groupNames.add(g.name);
    return { name: g.name, reply: g.reply, tacacs: compileRules(g.tacacs, `group ${g.name}`, `groups[${i}].tacacs`) };
  });
  const seenUsers = new Set<string>();
  const users = c.users.map((u, i): UserConfig => {
    if (seenUsers.has(u.name)) problems.push(`users[${i}].name: "${u.name}" is defined twice`);
    seenUsers.add(u.name);
    u.groups.forEach((g, j) => {
      if (!groupNames.has(g)) problems.push(`users[${i}].groups[${j}]: no group named "${g}" in groups`);
    });
    return {
      name: u.name,
      password: resolveSecret(file, `users[${i}].password`, u.password, problems),
      enable: u.enable === undefined ? null : resolveSecret(file, `users[${i}].enable`, u.enable, problems),
      groups: u.groups,
      reply: u.reply,
      tacacs: compileRules(u.tacacs, `user ${u.name}`, `users[${i}].tacacs`),
    };
  });
  const plugins = c.plugins.map((p): PluginConfig => {
    const isPath = p.module.startsWith(".") || p.module.startsWith("/");
    return {
      module: p.module,
      resolved: isPath ? { path: rel(p.module) } : { builtin: p.module },
      options: p.options,
      timeoutMs: Math.round(p.timeout * 1000),
      name: p.name,
      baseDir,
    };
  });
  const openvpn = c.openvpn.map((o, i): OpenVpnConfig => {
    const hostPort = parseListenAddress(o.management);
    return {
      name: o.name,
      management: hostPort ?? { path: rel(o.management) },
      password: o.password === undefined ? null : resolveSecret(file, `openvpn[${i}].password`, o.password, problems),
      defaultInterimInterval: o.defaultInterimInterval,
      radius:
        o.radius === undefined
          ? null
          : {
              server: o.radius.server,
              authPort: o.radius.authPort,
              acctPort: o.radius.acctPort,
              secret: resolveSecret(file, `openvpn[${i}].radius.secret`, o.radius.secret, problems),
              timeout: o.radius.timeout,
              retries: o.radius.retries,
              nasIpAddress: o.radius.nasIpAddress ?? null,
              dynamicAuthorization: o.radius.dynamicAuthorization === undefined ? null : parseListenAddress(o.radius.dynamicAuthorization.listen),
            },
    };
  });
  const usesTls = c.radius.radsec !== null || c.tacacs.tls !== null;
  if (usesTls && c.tls === undefined) problems.push(`tls: missing (expected { cert, key, ca } files: ${c.radius.radsec !== null ? "radius.radsec" : "tacacs.tls"} is set)`);
  if (usesTls && !clients.some((cl) => cl.certificate !== null)) {
    problems.push('clients: no client has a "certificate", so no peer could use the TLS listeners');
  }
  if (problems.length > 0) throw new ConfigError(file, problems);

  return {
    file,
    store:
      c.store.postgres !== undefined
        ? { postgres: c.store.postgres, poolSize: c.store.poolSize ?? 10, spool: c.store.spool ?? true, journal: rel(c.store.journal ?? "./tally-spool.journal") }
        : { sqlite: rel(c.store.sqlite!) },
    radius: {
      auth: c.radius.auth === null ? null : parseListenAddress(c.radius.auth),
      acct: c.radius.acct === null ? null : parseListenAddress(c.radius.acct),
      dictionaries: c.radius.dictionaries.map(rel),
      receiveBuffer: c.radius.receiveBuffer,
      duplicateWindow: c.radius.duplicateWindow,
      rateLimitPerSource: c.radius.rateLimit === undefined ? null : bucket(c.radius.rateLimit.perSource),
      maxPending: c.radius.maxPending,
      radsec: c.radius.radsec === null ? null : { ...c.radius.radsec, listen: parseListenAddress(c.radius.radsec.listen)! },
    },
    tacacs: {
      ...c.tacacs,
      listen: c.tacacs.listen === null ? null : parseListenAddress(c.tacacs.listen),
      tls: c.tacacs.tls === null ? null : parseListenAddress(c.tacacs.tls),
    },
    clients,
    tls: c.tls === undefined ? null : { cert: rel(c.tls.cert), key: rel(c.tls.key), ca: rel(c.tls.ca), crl: c.tls.crl === undefined ? null : rel(c.tls.crl) },
    groups,
    users,
    plugins,
    openvpn,
    accounting: c.accounting,
    log: c.log,
    http: c.http === undefined ? null : { listen: parseListenAddress(c.http.listen)!, tokens: c.http.tokens, publicPaths: c.http.publicPaths },
  };
}

export function parseConfigText(file: string, text: string): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return `${pos ? `line ${pos.line}, column ${pos.col}: ` : ""}YAML syntax: ${e.message.split("\n")[0]}`;
      }),
    );
  }
  return buildConfig(file, doc.toJS());
}

export function loadConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(path, [`cannot read the file: ${(e as NodeJS.ErrnoException).code ?? String(e)}`]);
  }
  return parseConfigText(path, text);
}

export const EXAMPLE_CONFIG = `# Tally configuration (written by \`tally serve\` because none existed).
# Every key is described in docs/configuration.md.

store:
  sqlite: ./tally.db            # the embedded store; relative paths are relative to this file

radius:
  auth: "127.0.0.1:1812"        # null disables a listener
  acct: "127.0.0.1:1813"
  # dictionaries: [/usr/share/freeradius/dictionary]   # extra FreeRADIUS dictionaries

tacacs:
  listen: "127.0.0.1:4949"      # 49 is the standard port; ports below 1024 need root

clients:                        # the NASes allowed to talk to Tally (RADIUS and TACACS+)
  - name: lab
    address: 127.0.0.0/8        # an address or CIDR block
    secret: testing123          # RADIUS secret; or { env: NAME } or { file: PATH }
    tacacsKey: testing123       # TACACS+ key
    requireMessageAuthenticator: auto   # BlastRADIUS: true, false, or auto (required once sent)
    limitProxyState: auto

groups:
  - name: netops
    tacacs:
      shell: { priv-lvl: 15 }   # returned when a shell starts
      commands:                 # first match wins; unmatched commands are denied
        - { match: "^show ", permit: true }
        - { match: "^reload", permit: false }

users:
  - name: alice
    password: alicepass         # or { env: NAME } or { file: PATH }
    groups: [netops]
    reply:
      Acct-Interim-Interval: 60
      Session-Timeout: 3600

accounting:
  defaultInterimInterval: 300   # seconds, when a user's reply sets none

http:                           # the HTTP API, /metrics and the dashboard (remove to turn off)
  listen: 127.0.0.1:8080
  tokens: []                    # add one with: tally tokens create NAME

log:
  level: info
`;

/** Writes the example config at `path` when no file is there; says whether it did. */
export function writeExampleConfigIfMissing(path: string): boolean {
  if (existsSync(path)) return false;
  writeFileSync(path, EXAMPLE_CONFIG, { mode: 0o600, flag: "wx" });
  return true;
}
