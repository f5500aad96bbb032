// Wiring: builds a running Tally from a Config (store, dictionary, users, plugins, accounting,
// the reaper, listeners), reloads what can change without a restart (SIGHUP), and takes it
// down in the right order (the reaper, listeners, then the queue, then the plugins, then the
// store) so nothing accepted is left uncommitted.

import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { AccountingCore } from "../accounting/core.ts";
import { Reaper } from "../accounting/reaper.ts";
import { AccountingService } from "../accounting/service.ts";
import { UserDirectory } from "../auth/users.ts";
import { Disconnector } from "../disconnect/disconnector.ts";
import { ConfigError, loadConfig, type Config } from "../config/load.ts";
import type { Logger } from "../log.ts";
import { Metrics } from "../metrics/metrics.ts";
import { PluginHost } from "../plugins/host.ts";
import { storeView } from "../plugins/store-view.ts";
import { encodeReply } from "../radius/access.ts";
import { ClientTable } from "../radius/clients.ts";
import { Dictionary } from "../radius/dictionary.ts";
import { dropReasonText } from "../radius/drops.ts";
import { limitSettings } from "../radius/limits.ts";
import { RadsecServer } from "../radius/radsec.ts";
import { RadiusServer } from "../radius/server.ts";
import { openServerStore, SpoolingStore } from "../store/index.ts";
import type { Store } from "../store/store.ts";
import { TacacsServer, tacacsDropText } from "../tacacs/server.ts";
import { startHttp, type RunningHttp } from "../http/server.ts";
import { OpenVpnConnector } from "../openvpn/connector.ts";
import { LocalBackend } from "../openvpn/local-backend.ts";
import { TlsCredentials, TlsCredentialsError } from "../tls/credentials.ts";
import { flushDropLogs } from "../log-throttle.ts";
import { TlsClientTable } from "../tls/identity.ts";

export interface RunningTally {
  store: Store;
  accounting: AccountingCore;
  radius: RadiusServer;
  /** Null without radius.radsec. */
  radsec: RadsecServer | null;
  tacacs: TacacsServer | null;
  dictionary: Dictionary;
  plugins(): PluginHost;
  disconnector: Disconnector;
  service: AccountingService;
  /** Null when the config has no http section. */
  http: RunningHttp | null;
  /** The TLS listeners' certificates (null without a `tls` section); reload() re-reads them. */
  tls: TlsCredentials | null;
  /** This Tally's metrics: `metrics.registry.metrics()` is the Prometheus text for /metrics. */
  metrics: Metrics;
  addresses: { auth?: AddressInfo; acct?: AddressInfo; radsec?: AddressInfo; tacacs?: { address: string; port: number }; tacacsTls?: { address: string; port: number } };
  /**
   * Re-reads the config file: clients, users, groups, dictionaries and plugins change for the
   * next request; in-flight requests finish with what they started with. On any error the
   * running set stays and the error is thrown. Listen addresses and the store need a restart.
   */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/** The built-in dictionary plus the config's extra ones; problems are config errors. */
export function loadDictionary(config: Config): Dictionary {
  const dictionary = Dictionary.builtin();
  config.radius.dictionaries.forEach((path, i) => {
    try {
      dictionary.loadFile(path);
    } catch (e) {
      throw new ConfigError(config.file, [`radius.dictionaries[${i}]: ${(e as Error).message}`]);
    }
  });
  return dictionary;
}

/** Every configured user's and group's reply must encode now, not at the first Access-Accept. */
export function checkReplies(config: Config, dictionary: Dictionary): void {
  const problems: string[] = [];
  const check = (key: string, reply: Record<string, string | number>) => {
    try {
      encodeReply(dictionary, reply, 0);
    } catch (e) {
      problems.push(`${key}.reply: ${(e as Error).message}`);
    }
  };
  config.groups.forEach((g, i) => check(`groups[${i}]`, g.reply));
  config.users.forEach((u, i) => check(`users[${i}]`, u.reply));
  if (problems.length > 0) throw new ConfigError(config.file, problems);
}

function restartOnly(old: Config, next: Config): string[] {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const changed: string[] = [];
  if (!same(old.store, next.store)) changed.push("store");
  if (!same(old.radius.auth, next.radius.auth) || !same(old.radius.acct, next.radius.acct)) changed.push("radius listen addresses");
  if (!same(old.radius.radsec, next.radius.radsec)) changed.push("radius.radsec");
  if (!same(old.tacacs, next.tacacs)) changed.push("tacacs");
  if (!same(old.accounting, next.accounting)) changed.push("accounting");
  if (!same(old.openvpn, next.openvpn)) changed.push("openvpn");
  if (!same(old.http?.listen ?? null, next.http?.listen ?? null)) changed.push("http listen address (or http on/off)");
  return changed;
}

/** The TLS files as a config error (naming the config file) when one cannot be used. */
function loadTls(config: Config): TlsCredentials | null {
  if (config.tls === null) return null;
  try {
    return new TlsCredentials(config.tls);
  } catch (e) {
    if (e instanceof TlsCredentialsError) throw new ConfigError(config.file, [e.message]);
    throw e;
  }
}

export async function startTally(config: Config, logger: Logger): Promise<RunningTally> {
  const tls = loadTls(config);
  let dictionary = loadDictionary(config);
  for (const w of dictionary.warnings) logger.debug({ warning: w }, "dictionary");
  checkReplies(config, dictionary);
  const store = await openServerStore(config.store, logger);
  const metrics = new Metrics({
    openSessions: () => store.countSessions("open"),
    spoolDepth: () => (store instanceof SpoolingStore ? store.depth : 0),
  });
  metrics.knownDropReasons("radius", Object.keys(dropReasonText));
  if (config.tacacs.listen !== null || config.tacacs.tls !== null) metrics.knownDropReasons("tacacs", Object.keys(tacacsDropText));
  let plugins: PluginHost;
  try {
    plugins = await PluginHost.load(config.plugins, storeView(store), logger, metrics);
  } catch (e) {
    metrics.close();
    await store.close();
    throw e;
  }
  for (const p of plugins.list()) logger.info({ plugin: p.name, module: p.module, hooks: p.hooks }, "plugin loaded");
  const accounting = new AccountingCore(
    store,
    // SQLite runs calls in order on its worker thread: it can take the next batch while it
    // commits one. PostgreSQL commits batches on several connections at once (those with
    // records of one session still fold in order: they take their locks in turn).
    {
      defaultInterimInterval: config.accounting.defaultInterimInterval,
      maxBatch: config.accounting.maxBatch,
      maxBatchesInFlight: "postgres" in config.store ? Math.max(2, Math.min(4, config.store.poolSize - 1)) : 2,
    },
    (err, size) => logger.error({ err, size }, "store commit failed; records not acknowledged"),
    metrics,
  );
  const disconnector = new Disconnector(config.clients, store, dictionary, logger, metrics);
  const service = new AccountingService(accounting, store, () => plugins, logger, disconnector);
  if (store instanceof SpoolingStore) {
    store.onReplayed((records, results) => service.replayed(records, results));
    // Records acknowledged before a crash or a stop go into the store before anything new is
    // accepted. While the store stays unreachable this waits (the replayer logs and retries)
    // and nothing is answered: NASes keep their records and resend.
    if (store.depth > 0) {
      logger.warn({ records: store.depth, journal: store.journalFile }, "replaying the spool journal before serving");
      await store.replay();
      logger.info({ journal: store.journalFile, ...store.stats }, "spool journal replayed; serving");
    }
  }
  const reaper = new Reaper(store, config.accounting, logger, (s) => service.sessionClosed(s));
  let users = new UserDirectory(config.users, config.groups, store);
  const radius = new RadiusServer(
    {
      auth: config.radius.auth,
      acct: config.radius.acct,
      receiveBuffer: config.radius.receiveBuffer,
      duplicateWindow: config.radius.duplicateWindow,
      defaultInterimInterval: config.accounting.defaultInterimInterval,
    },
    { clients: new ClientTable(config.clients), dictionary, users, accounting: service, plugins: () => plugins, logger, metrics, limits: limitSettings(config) },
  );
  // The config loader refuses radius.radsec without tls, so tls is there when radsec is.
  const radsec =
    config.radius.radsec === null || tls === null
      ? null
      : new RadsecServer(config.radius.radsec, { credentials: tls, clients: new TlsClientTable(config.clients), radius, logger, metrics });
  const tacacs =
    config.tacacs.listen === null && config.tacacs.tls === null
      ? null
      : new TacacsServer(config.tacacs, { clients: config.clients, users, accounting: service, plugins: () => plugins, logger, metrics, tls });
  const openvpnBackend = new LocalBackend({ users: () => users, plugins: () => plugins, accounting: service, store, metrics });
  const connectors = config.openvpn.map((o) => new OpenVpnConnector(o, openvpnBackend, logger));
  metrics.sources.openvpnClients = () => Object.fromEntries(connectors.map((c) => [c.name, c.connectedClients]));
  for (const c of connectors) disconnector.registerOpenVpn(c.name, (session) => c.kill(session));
  let addresses: RunningTally["addresses"];
  try {
    addresses = await radius.start();
    if (radsec) addresses.radsec = await radsec.start();
    if (tacacs) {
      const { tacacs: plain, tacacsTls } = await tacacs.start();
      if (plain) addresses.tacacs = plain;
      if (tacacsTls) addresses.tacacsTls = tacacsTls;
    }
    for (const c of connectors) c.start();
  } catch (e) {
    await radius.stop();
    await radsec?.stop();
    await tacacs?.stop();
    await plugins.close();
    metrics.close();
    await store.close();
    throw e;
  }

  let current = config;
  let http: RunningHttp | null = null;
  const reload = async () => {
    const next = loadConfig(current.file);
    const nextDictionary = loadDictionary(next);
    checkReplies(next, nextDictionary);
    const nextPlugins = await PluginHost.load(next.plugins, storeView(store), logger, metrics);
    if (tls !== null && next.tls !== null) {
      try {
        tls.reload(next.tls);
      } catch (e) {
        await nextPlugins.close();
        if (e instanceof TlsCredentialsError) throw new ConfigError(next.file, [e.message]);
        throw e;
      }
      logger.info({ cert: next.tls.cert, ca: next.tls.ca }, "TLS certificates reloaded");
    } else if ((tls === null) !== (next.tls === null)) {
      logger.warn("adding or removing the tls section takes a restart");
    }
    const ignored = restartOnly(current, next);
    if (ignored.length > 0) logger.warn({ changed: ignored }, "these settings change only with a restart");
    const old = plugins;
    plugins = nextPlugins;
    dictionary = nextDictionary;
    users = new UserDirectory(next.users, next.groups, store);
    radius.update({ clients: new ClientTable(next.clients), users, dictionary, limits: limitSettings(next) });
    radsec?.update(new TlsClientTable(next.clients));
    tacacs?.update({ clients: next.clients, users });
    disconnector.update(next.clients, dictionary);
    if (http !== null && next.http !== null) http.update(next.http);
    current = next;
    logger.info({ plugins: plugins.list().map((p) => p.name) }, "configuration reloaded");
    // The old plugins finish what they were given, then close.
    void old.close().catch((err: unknown) => logger.error({ err }, "closing the previous plugins failed"));
  };
  if (config.http !== null) {
    try {
      http = await startHttp(
        { ...config.http, dashboardDir: join(import.meta.dirname, "../../dist/dashboard") },
        {
          store,
          events: service.events,
          disconnect: (s, reason) => disconnector.disconnect(s, reason),
          reload,
          metrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
          overview: async () => ({ ...(await metrics.snapshot()) }),
          userStatus: (user) => plugins.userStatus(user),
          logger,
        },
      );
    } catch (e) {
      for (const c of connectors) c.stop();
      await Promise.all([radius.stop(), radsec?.stop(), tacacs?.stop()]);
      await plugins.close();
      metrics.close();
      await store.close();
      throw e;
    }
    const { host, port } = http.address;
    logger.info({ port: "http", address: `${host.includes(":") ? `[${host}]` : host}:${port}`, tokens: config.http.tokens.length }, "HTTP API listening");
    if (config.http.tokens.length === 0) logger.warn("http has no tokens: every /api request will be refused; make one with `tally tokens create NAME`");
  }

  reaper.start();
  const { reapInterval, staleGrace } = config.accounting;
  if (reapInterval === 0) logger.info("reaper disabled (accounting.reapInterval is 0): sessions whose updates stop stay open");
  else logger.info({ reapInterval, staleGrace }, "reaper running");

  return {
    store,
    accounting,
    radius,
    radsec,
    tacacs,
    get dictionary() {
      return dictionary;
    },
    plugins: () => plugins,
    disconnector,
    metrics,
    addresses,
    service,
    http,
    tls,
    reload,
    async stop() {
      // First: a run under way finishes (store and plugins still there); no new one starts.
      await reaper.stop();
      await http?.close();
      service.events.close();
      for (const c of connectors) c.stop();
      await Promise.all([radius.stop(), radsec?.stop(), tacacs?.stop()]);
      flushDropLogs(logger);
      await accounting.close();
      await plugins.close();
      metrics.close();
      await store.close();
    },
  };
}
