// The shape of tally.yaml, validated with zod. Later issues extend it (tacacs, plugins,
// openvpn, http); every key documented in docs/configuration.md.

import { isIP } from "node:net";
import { z } from "zod";

/** A secret or password: inline, or read from an environment variable or a file at start. */
export const secretSource = z.union(
  [
    z.string().min(1, "expected a non-empty string"),
    z.strictObject({ env: z.string().min(1) }),
    z.strictObject({ file: z.string().min(1) }),
  ],
  { error: "expected a string, { env: NAME } or { file: PATH }" },
);
export type SecretSource = z.infer<typeof secretSource>;

/** "host:port" with an IPv4 address or a bracketed IPv6 address, e.g. "127.0.0.1:1812", "[::1]:1812". */
export const listenAddress = z.string().refine((s) => parseListenAddress(s) !== null, {
  error: 'expected "ADDRESS:PORT", e.g. "127.0.0.1:1812" or "[::1]:1812"',
});

export function parseListenAddress(s: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(s);
  if (!m) return null;
  const host = (m[1] ?? m[2])!;
  const port = Number(m[3]);
  if (isIP(host) === 0 || port < 0 || port > 65535) return null;
  return { host, port };
}

/** An address or CIDR block: "127.0.0.1", "10.0.0.0/8", "::1", "2001:db8::/32". */
export const addressRange = z.string().refine((s) => parseAddressRange(s) !== null, {
  error: 'expected an IP address or CIDR block, e.g. "192.0.2.10" or "10.0.0.0/8"',
});

export function parseAddressRange(s: string): { address: string; prefix: number; family: "ipv4" | "ipv6" } | null {
  const [address, prefixText, ...rest] = s.split("/");
  if (address === undefined || rest.length > 0) return null;
  const v = isIP(address);
  if (v === 0) return null;
  const family = v === 4 ? "ipv4" : "ipv6";
  const max = v === 4 ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: max, family };
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  return prefix <= max ? { address, prefix, family } : null;
}

/** true, false or "auto" (the BlastRADIUS settings, as FreeRADIUS's yes / no / auto). */
const blastRadiusSetting = z.union([z.boolean(), z.literal("auto")], { error: 'expected true, false or "auto"' });

/** A token bucket: `rate` per second on average, up to `burst` at once. */
export const rateLimitSchema = z.strictObject({
  rate: z.number().positive({ error: "expected requests per second above 0" }),
  /** Requests allowed at once after a quiet spell; default: one second's worth. */
  burst: z.number().int().min(1).optional(),
});

/**
 * Who a TLS peer is (RadSec, TACACS+ over TLS): its certificate must chain to `tls.ca` and
 * match every part given here. `subject`: each "KEY=VALUE" given must equal the certificate
 * subject's (e.g. "CN=edge1.example.net,O=Example"); `san`: at least one of these entries must be
 * among the certificate's subject alternative names ("DNS:edge1.example.net", "IP:192.0.2.1",
 * "URI:...", "email:...").
 */
export const certificateIdentitySchema = z
  .strictObject({
    subject: z.string().regex(/^\s*[A-Za-z][A-Za-z0-9.]*=[^,]+(\s*,\s*[A-Za-z][A-Za-z0-9.]*=[^,]+)*\s*$/, 'expected "KEY=VALUE[,KEY=VALUE...]", e.g. "CN=edge1.example.net"').optional(),
    san: z.array(z.string().regex(/^(DNS|IP|URI|email):.+$/, 'expected "DNS:NAME", "IP:ADDRESS", "URI:URI" or "email:ADDRESS"')).min(1).optional(),
  })
  .refine((c) => c.subject !== undefined || c.san !== undefined, { error: 'expected "subject", "san" or both' });

/** The certificate Tally presents on its TLS listeners, and the CA that signs its peers' certificates. */
export const tlsSchema = z.strictObject({
  /** PEM server certificate, with its intermediates after it. */
  cert: z.string().min(1, "expected the path of a PEM certificate file"),
  /** PEM private key of that certificate (unencrypted). */
  key: z.string().min(1, "expected the path of a PEM private key file"),
  /** PEM CA certificate(s); a peer's certificate must chain to one of them. */
  ca: z.string().min(1, "expected the path of a PEM CA certificate file"),
  /** PEM certificate revocation list(s), optional. */
  crl: z.string().min(1, "expected the path of a PEM CRL file").optional(),
});

const replyValue = z.union([z.string(), z.number()], { error: "expected a string or a number" });

export const clientSchema = z.strictObject({
  name: z.string().min(1, "expected a non-empty name"),
  address: addressRange,
  /** RADIUS shared secret. */
  secret: secretSource.optional(),
  /** TACACS+ key; a client without one cannot use TACACS+. */
  tacacsKey: secretSource.optional(),
  /**
   * Refuse Access-Requests without a valid Message-Authenticator (BlastRADIUS, CVE-2024-3596);
   * "auto": once the client has sent one (src/radius/blastradius.ts).
   */
  requireMessageAuthenticator: blastRadiusSetting.default("auto"),
  /** Refuse Access-Requests with Proxy-State but no Message-Authenticator; "auto": FreeRADIUS's first-request rule. */
  limitProxyState: blastRadiusSetting.default("auto"),
  /**
   * Identifies this client on the TLS listeners (RadSec, TACACS+ over TLS) by its certificate;
   * a client with one needs no secret or key for those.
   */
  certificate: certificateIdentitySchema.optional(),
  /** RADIUS requests per second from all of this client's addresses together; more are dropped. */
  rateLimit: rateLimitSchema.optional(),
  /**
   * The NASes this client may send accounting for (NAS-Identifier, else NAS-IP-Address); an
   * Accounting-Request naming another is dropped. Default: any (a proxy forwards for many).
   */
  nas: z.array(z.string().min(1, "expected a NAS-Identifier or an address")).min(1, "expected at least one NAS name").optional(),
  /** Where the NAS's dynamic-authorization server listens (RFC 5176). */
  coa: z
    .strictObject({
      /** Default: the session's NAS-IP-Address, else the client's address when it is one host. */
      address: z.string().refine((a) => isIP(a) !== 0, { error: "expected an IP address" }).optional(),
      port: z.number().int().min(1).max(65535).default(3799),
      /** Default: the client's RADIUS secret. */
      secret: secretSource.optional(),
      /** Seconds for the first attempt; each retry waits twice as long. */
      timeout: z.number().positive().max(60).default(1),
      retries: z.number().int().min(0).max(10).default(3),
    })
    .optional(),
  /** Send a CoA-Request with Acct-Interim-Interval when a plugin changes a session's interval. */
  coaInterimInterval: z.boolean({ error: "expected true or false" }).default(false),
  /** How to cut a user off: RFC 5176 Disconnect-Request (default), a program, or an HTTP POST. */
  disconnect: z
    .strictObject({
      action: z.enum(["coa", "command", "http"]).default("coa"),
      /** action command: the program, run with USER NAS PORT REMOTE-ADDRESS SESSION-ID. */
      command: z.string().min(1).optional(),
      /** action http: the URL that receives the session as JSON. */
      url: z.url({ protocol: /^https?$/, error: "expected an http(s) URL" }).optional(),
      /** Seconds the command or the HTTP call may take. */
      timeout: z.number().positive().max(300).default(10),
    })
    .refine((d) => d.action !== "command" || d.command !== undefined, { error: 'action "command" needs a "command"', path: ["command"] })
    .refine((d) => d.action !== "http" || d.url !== undefined, { error: 'action "http" needs a "url"', path: ["url"] })
    .optional(),
});

/** A regular expression given as a string; checked to compile. */
const regexSource = z.string().refine(
  (s) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  },
  { error: "expected a valid regular expression" },
);

const avValue = z.union([z.string(), z.number(), z.boolean()], { error: "expected a string, number or boolean" });

/** TACACS+ authorization for a user or group (RFC 8907 section 6). */
export const tacacsRulesSchema = z.strictObject({
  /** Attribute-value pairs returned when a shell starts (service=shell without cmd). */
  shell: z.record(z.string(), avValue).optional(),
  /** Other services (ppp, arap, ...) the user may start, with the pairs to return. */
  services: z.record(z.string(), z.record(z.string(), avValue)).default({}),
  /** Command authorization: first match wins (user rules before group rules). */
  commands: z.array(z.strictObject({ match: regexSource, permit: z.boolean({ error: "expected true or false" }) })).default([]),
  /** What an unmatched command gets; "deny" unless a rule set says otherwise. */
  defaultCommand: z.enum(["permit", "deny"]).optional(),
});

export const groupSchema = z.strictObject({
  name: z.string().min(1, "expected a non-empty name"),
  /** RADIUS reply attributes every member gets (a member's own reply wins). */
  reply: z.record(z.string(), replyValue).default({}),
  tacacs: tacacsRulesSchema.optional(),
});

export const userSchema = z.strictObject({
  name: z.string().min(1, "expected a non-empty name"),
  password: secretSource,
  /** TACACS+ enable password; without one, enable is granted up to the user's shell priv-lvl. */
  enable: secretSource.optional(),
  groups: z.array(z.string().min(1)).default([]),
  reply: z.record(z.string(), replyValue).default({}),
  tacacs: tacacsRulesSchema.optional(),
});

/**
 * Exactly one of `sqlite` (the embedded default: one file) or `postgres` (several nodes, one
 * database). The spool only applies to PostgreSQL: a local file cannot be down while the disk the
 * journal is on is up.
 */
export const storeSchema = z
  .strictObject({
    sqlite: z.string().min(1, "expected a file path").optional(),
    postgres: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'expected a connection URL such as "postgres://tally:secret@127.0.0.1:5432/tally"')
      .optional(),
    /** Connections this node keeps to PostgreSQL. */
    poolSize: z.number().int().min(1).max(200).optional(),
    /** While PostgreSQL is unreachable, acknowledge records from a local fsync'd journal (true) or not at all (false). */
    spool: z.boolean().optional(),
    /** The spool journal's file. */
    journal: z.string().min(1, "expected a file path").optional(),
  })
  .superRefine((s, ctx) => {
    if ((s.sqlite === undefined) === (s.postgres === undefined)) {
      ctx.addIssue({ code: "custom", message: 'expected exactly one of "sqlite: FILE" or "postgres: URL"' });
    }
    if (s.sqlite !== undefined) {
      for (const key of ["poolSize", "spool", "journal"] as const) {
        if (s[key] !== undefined) ctx.addIssue({ code: "custom", path: [key], message: `"${key}" applies only to "postgres"` });
      }
    }
  });

/** A plugin: a built-in by name (`quota`) or a module path (`./plugins/mine.ts`). */
export const pluginSchema = z.strictObject({
  module: z.string().min(1, "expected a built-in plugin name or a module path"),
  /** Overrides the plugin's own name, e.g. to list one module twice. */
  name: z.string().min(1).optional(),
  options: z.record(z.string(), z.unknown()).default({}),
  /** Seconds each hook call may take before it counts as an error. */
  timeout: z.number().positive().max(60).default(2),
});

/** An OpenVPN server whose management interface Tally drives (--management-client-auth). */
export const openvpnSchema = z.strictObject({
  name: z.string().min(1, "expected a non-empty name"),
  /** "HOST:PORT" or the path of a unix socket (`management /path unix` in OpenVPN). */
  management: z.string().min(1, 'expected "127.0.0.1:7505" or a unix socket path'),
  password: secretSource.optional(),
  /** Seconds between interim updates when neither the auth reply nor a plugin sets one. */
  defaultInterimInterval: z.number().int().min(0).max(86400).default(60),
  /**
   * Only for `tally openvpn` (the connector on its own, beside a remote Tally or another RADIUS
   * server): where it authenticates and sends accounting, as a RADIUS NAS.
   */
  radius: z
    .strictObject({
      server: z.string().min(1, "expected the RADIUS server's address"),
      authPort: z.number().int().min(1).max(65535).default(1812),
      acctPort: z.number().int().min(1).max(65535).default(1813),
      secret: secretSource,
      /** Seconds to wait for the first answer; each retry waits twice as long. */
      timeout: z.number().positive().max(60).default(3),
      retries: z.number().int().min(0).max(10).default(3),
      /** Sent as NAS-IP-Address when set; NAS-Identifier is always the connector's name. */
      nasIpAddress: z.ipv4({ error: "expected an IPv4 address" }).optional(),
      /** Where Disconnect-Request / CoA-Request (RFC 5176) from the RADIUS server arrive. */
      dynamicAuthorization: z.strictObject({ listen: listenAddress }).optional(),
    })
    .optional(),
});

export const configSchema = z.strictObject({
  store: storeSchema.default({ sqlite: "./tally.db" }),
  radius: z
    .strictObject({
      auth: listenAddress.nullable().default("127.0.0.1:1812"),
      acct: listenAddress.nullable().default("127.0.0.1:1813"),
      /** Extra FreeRADIUS-format dictionaries loaded over the built-in one. */
      dictionaries: z.array(z.string().min(1)).default([]),
      /** Bytes of kernel receive buffer for each UDP socket; bursts overflow the default. */
      receiveBuffer: z.number().int().min(65536).default(4 * 1024 * 1024),
      /** Seconds a response stays cached to answer retransmissions (RFC 5080 section 2.2.2). */
      duplicateWindow: z.number().int().min(1).max(600).default(30),
      /** RADIUS requests per second from each source address; more are dropped. Default: none. */
      rateLimit: z.strictObject({ perSource: rateLimitSchema }).optional(),
      /** Requests being worked on at once (waiting for the store or plugins); more are dropped. */
      maxPending: z.number().int().min(1).max(1_000_000).default(20000),
      /** RADIUS over TLS (RFC 6614); needs the top-level `tls`. 2083 is the standard port. */
      radsec: z
        .strictObject({
          listen: listenAddress,
          /** Seconds a connection may carry no request before it is closed. */
          idleTimeout: z.number().int().min(1).max(86400).default(600),
          /** Seconds a TLS handshake may take. */
          handshakeTimeout: z.number().int().min(1).max(120).default(10),
          /** Most simultaneous connections, and from one source address. */
          maxConnections: z.number().int().min(1).max(100000).default(1000),
          maxConnectionsPerSource: z.number().int().min(1).max(100000).default(16),
        })
        .nullable()
        .default(null),
    })
    .default({
      auth: "127.0.0.1:1812",
      acct: "127.0.0.1:1813",
      dictionaries: [],
      receiveBuffer: 4 * 1024 * 1024,
      duplicateWindow: 30,
      maxPending: 20000,
      radsec: null,
    }),
  tacacs: z
    .strictObject({
      /** "ADDRESS:PORT"; 49 is the standard port (below 1024 needs root or CAP_NET_BIND_SERVICE). */
      listen: listenAddress.nullable().default(null),
      /** Seconds a connection may sit idle before it is closed. */
      idleTimeout: z.number().int().min(1).max(3600).default(60),
      /** TACACS+ over TLS 1.3 (RFC 9887); needs the top-level `tls`. 300 is the standard port. */
      tls: listenAddress.nullable().default(null),
      /** Most simultaneous connections (both listeners together); more are refused. */
      maxConnections: z.number().int().min(1).max(100000).default(1000),
      /** Most simultaneous connections from one source address. */
      maxConnectionsPerSource: z.number().int().min(1).max(100000).default(100),
      /** Requests being worked on at once (waiting for the store or plugins); beyond it connections are not read until some finish. */
      maxPending: z.number().int().min(1).max(1_000_000).default(20000),
      /** Seconds a TLS handshake may take. */
      handshakeTimeout: z.number().int().min(1).max(120).default(10),
      /** Seconds a packet may take to arrive once its first byte has (a byte-a-second sender is cut off). */
      packetTimeout: z.number().int().min(1).max(600).default(10),
      /** Largest body accepted; a larger header length closes the connection. */
      maxBodyLength: z.number().int().min(1024).max(1024 * 1024).default(65536),
      /** GETUSER/GETPASS rounds an ASCII login may take before it fails. */
      loginRounds: z.number().int().min(1).max(10).default(3),
    })
    .default({
      listen: null,
      tls: null,
      idleTimeout: 60,
      maxConnections: 1000,
      maxConnectionsPerSource: 100,
      maxPending: 20000,
      handshakeTimeout: 10,
      packetTimeout: 10,
      maxBodyLength: 65536,
      loginRounds: 3,
    }),
  /** Certificates for the TLS listeners (radius.radsec, tacacs.tls); re-read on SIGHUP. */
  tls: tlsSchema.optional(),
  clients: z.array(clientSchema).default([]),
  groups: z.array(groupSchema).default([]),
  users: z.array(userSchema).default([]),
  plugins: z.array(pluginSchema).default([]),
  openvpn: z.array(openvpnSchema).default([]),
  /** The HTTP API, /metrics and the dashboard; absent: no HTTP server. */
  http: z
    .strictObject({
      listen: listenAddress.default("127.0.0.1:8080"),
      /** Bearer tokens, stored hashed (`tally tokens create NAME` adds one). */
      tokens: z
        .array(
          z.strictObject({
            name: z.string().min(1, "expected a non-empty name"),
            sha256: z.string().regex(/^[0-9a-f]{64}$/, "expected the token's SHA-256 as 64 hex digits (tally tokens create makes it)"),
          }),
        )
        .default([]),
      /** Paths served without a token. */
      publicPaths: z.array(z.string().startsWith("/", 'expected a path such as "/metrics"')).default(["/healthz", "/metrics"]),
    })
    .optional(),
  accounting: z
    .strictObject({
      /** Seconds; sent as Acct-Interim-Interval when a user's reply has none. 0 disables. */
      defaultInterimInterval: z.number().int().min(0).max(86400 * 7).default(300),
      /** Most records committed in one transaction. */
      maxBatch: z.number().int().min(1).max(100000).default(1000),
      /** Seconds between reaper runs (closing sessions whose updates stopped); 0 disables the reaper. */
      reapInterval: z.number().int().min(0).max(86400).default(60),
      /** Seconds beyond two interim intervals before an open session counts as stale. */
      staleGrace: z.number().int().min(0).max(86400 * 7).default(60),
    })
    .default({ defaultInterimInterval: 300, maxBatch: 1000, reapInterval: 60, staleGrace: 60 }),
  log: z
    .strictObject({
      level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    })
    .default({ level: "info" }),
});

export type ConfigFile = z.infer<typeof configSchema>;
