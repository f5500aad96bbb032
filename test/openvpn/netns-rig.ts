// A real OpenVPN 2.6 server and clients for tests, each in a network namespace this rig makes
// itself (joined by a veth pair, tun devices, certificates generated here), with the server's
// management interface on a unix socket so that Tally, in the root namespace, can reach it.
// Everything started here is stopped by PID, and the namespaces are deleted, on stop().
// Addresses are only those inside the rig's own namespaces (10.199.N.0/24, 10.8.N.0/24).

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Why this machine cannot run the rig, or null when it can. Tests skip with this reason. */
export async function rigUnavailable(): Promise<string | null> {
  if (process.getuid?.() !== 0) return "needs root (ip netns, tun)";
  if (!existsSync("/dev/net/tun")) return "no /dev/net/tun";
  for (const tool of ["/usr/sbin/openvpn", "/usr/bin/openssl", "/usr/sbin/ip"]) {
    if (!existsSync(tool) && !existsSync(tool.replace("/usr/sbin", "/sbin"))) return `${tool} is not installed`;
  }
  try {
    await run("ip", ["netns", "list"]);
  } catch (e) {
    return `ip netns does not work here: ${(e as Error).message}`;
  }
  return null;
}

export interface RigClient {
  name: string;
  child: ChildProcess;
  log: string;
  /** Resolves when the client's log says the tunnel is up (or rejects after `ms`). */
  connected(ms?: number): Promise<void>;
  /** Resolves when the client process exits. */
  exited(): Promise<number | null>;
  stop(): Promise<void>;
}

export interface OpenVpnRig {
  dir: string;
  /** The server's management interface (unix socket). */
  managementSocket: string;
  serverLog: string;
  nsServer: string;
  nsClient: string;
  serverAddress: string;
  /** The server's address inside the tunnel. */
  tunnelServerAddress: string;
  startClient(opts: { user: string; password: string; name?: string; extraConfig?: string[] }): Promise<RigClient>;
  /** Runs a command in the client namespace (e.g. ping through the tunnel). */
  inClient(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }>;
  /** Stops the server (SIGTERM, or SIGKILL with `kill`: no goodbyes) and starts it again. */
  restartServer(opts?: { kill?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

let rigCount = 0;

async function waitForText(file: string, text: string | RegExp, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const content = existsSync(file) ? readFileSync(file, "utf8") : "";
    if (typeof text === "string" ? content.includes(text) : text.test(content)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not seen within ${ms} ms; log ends:\n${content.slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopChild(child: ChildProcess, ms = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** What `prepareServer` gets: the rig's directory and where the server's config will be. */
export interface RigServerFiles {
  dir: string;
  serverConf: string;
  serverAddress: string;
}

export async function startRig(
  opts: {
    managementClientAuth?: boolean;
    serverConfig?: string[];
    /**
     * Called once before the server first starts, to write files into the rig's directory
     * (e.g. a plugin's config); returns more server config lines, which may name those files.
     */
    prepareServer?: (files: RigServerFiles) => string[];
  } = {},
): Promise<OpenVpnRig> {
  const n = (process.pid % 200) + (rigCount++ % 50);
  const tag = `${process.pid.toString(36)}${rigCount}`;
  const nsServer = `tly-s-${tag}`;
  const nsClient = `tly-c-${tag}`;
  const subnet = `10.199.${n}`;
  const tunnel = `10.8.${n}`;
  const serverAddress = `${subnet}.1`;
  const dir = mkdtempSync(join(tmpdir(), "tally-ovpn-"));
  const children: ChildProcess[] = [];
  const created: string[] = [];
  const sh = (args: string[]) => run("ip", args);

  const cleanup = async () => {
    for (const c of children.reverse()) await stopChild(c);
    for (const ns of created) {
      // Anything left in our own namespaces, by PID.
      try {
        const { stdout } = await run("ip", ["netns", "pids", ns]);
        for (const pid of stdout.split(/\s+/).filter(Boolean)) process.kill(Number(pid), "SIGKILL");
      } catch {
        /* already gone */
      }
      await run("ip", ["netns", "del", ns]).catch(() => {});
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (const ns of [nsServer, nsClient]) {
      await sh(["netns", "add", ns]);
      created.push(ns);
      await sh(["-n", ns, "link", "set", "lo", "up"]);
    }
    const vs = `tv${tag}s`.slice(0, 15);
    const vc = `tv${tag}c`.slice(0, 15);
    await sh(["-n", nsServer, "link", "add", vs, "type", "veth", "peer", "name", vc, "netns", nsClient]);
    await sh(["-n", nsServer, "addr", "add", `${serverAddress}/24`, "dev", vs]);
    await sh(["-n", nsClient, "addr", "add", `${subnet}.2/24`, "dev", vc]);
    await sh(["-n", nsServer, "link", "set", vs, "up"]);
    await sh(["-n", nsClient, "link", "set", vc, "up"]);

    // PKI: a throw-away CA, a server and a client certificate (EC P-256).
    const pki = join(dir, "pki");
    await run("mkdir", ["-p", pki]);
    const ossl = (args: string[]) => run("openssl", args, { cwd: pki });
    await ossl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=tally-test-ca", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    for (const name of ["server", "client"]) {
      await ossl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`]);
      writeFileSync(join(pki, `${name}.ext`), `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage=${name === "server" ? "serverAuth" : "clientAuth"}\n`);
      await ossl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`]);
    }

    const managementSocket = join(dir, "management.sock");
    const serverLog = join(dir, "server.log");
    const serverConf = join(dir, "server.conf");
    writeFileSync(
      serverConf,
      [
        "dev tun",
        "proto udp4",
        `local ${serverAddress}`,
        "port 1194",
        "topology subnet",
        `server ${tunnel}.0 255.255.255.0`,
        `ca ${pki}/ca.crt`,
        `cert ${pki}/server.crt`,
        `key ${pki}/server.key`,
        "dh none",
        "keepalive 5 30",
        "disable-dco",
        "duplicate-cn",
        "verify-client-cert require",
        `management ${managementSocket} unix`,
        ...(opts.managementClientAuth === false ? [] : ["management-client-auth"]),
        "verb 3",
        ...(opts.serverConfig ?? []),
        ...(opts.prepareServer?.({ dir, serverConf, serverAddress }) ?? []),
        "",
      ].join("\n"),
    );
    const startServer = async () => {
      writeFileSync(serverLog, "");
      const server = spawn("ip", ["netns", "exec", nsServer, "openvpn", "--config", serverConf, "--log-append", serverLog], { stdio: "ignore" });
      children.push(server);
      await waitForText(serverLog, "Initialization Sequence Completed", 15_000, "OpenVPN server start");
      return server;
    };
    let server = await startServer();

    const rig: OpenVpnRig = {
      dir,
      managementSocket,
      serverLog,
      nsServer,
      nsClient,
      serverAddress,
      tunnelServerAddress: `${tunnel}.1`,
      async startClient({ user, password, name, extraConfig }) {
        const id = name ?? `client${children.length}`;
        const auth = join(dir, `${id}.up`);
        writeFileSync(auth, `${user}\n${password}\n`, { mode: 0o600 });
        const conf = join(dir, `${id}.conf`);
        const log = join(dir, `${id}.log`);
        writeFileSync(
          conf,
          [
            "client",
            "dev tun",
            "proto udp4",
            `remote ${serverAddress} 1194`,
            "nobind",
            `ca ${pki}/ca.crt`,
            `cert ${pki}/client.crt`,
            `key ${pki}/client.key`,
            "remote-cert-tls server",
            `auth-user-pass ${auth}`,
            "auth-retry none",
            "disable-dco",
            "explicit-exit-notify 1",
            "connect-retry 1",
            "verb 3",
            ...(extraConfig ?? []),
            "",
          ].join("\n"),
        );
        writeFileSync(log, "");
        const child = spawn("ip", ["netns", "exec", nsClient, "openvpn", "--config", conf, "--log-append", log], { stdio: "ignore" });
        children.push(child);
        const exit = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
        return {
          name: id,
          child,
          log,
          connected: (ms = 20_000) => waitForText(log, "Initialization Sequence Completed", ms, `client ${id} connect`),
          exited: () => exit,
          stop: () => stopChild(child),
        };
      },
      inClient: (cmd, args) => run("ip", ["netns", "exec", nsClient, cmd, ...args]),
      async restartServer({ kill = false } = {}) {
        if (kill && server.exitCode === null) {
          const gone = new Promise((r) => server.once("exit", r));
          server.kill("SIGKILL");
          await gone;
        }
        await stopChild(server);
        server = await startServer();
      },
      stop: cleanup,
    };
    return rig;
  } catch (e) {
    await cleanup();
    throw e;
  }
}
