// Overview: requests per second by protocol, open sessions, drops, plugin errors and the spool,
// updated by the `overview` event the server sends every 2 s; requests/s over the last minutes
// as a chart.

import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError, api } from "../api.ts";
import { Chart, type Series } from "../chart.tsx";
import { ErrorBox } from "../components.tsx";
import { formatRate } from "../format.ts";
import { useLiveEvent } from "../live.ts";
import type { Overview } from "../types.ts";

const HISTORY = 150; // 5 minutes of 2 s updates

interface Point {
  t: number;
  o: Overview;
}

export function OverviewPage() {
  const [history, setHistory] = useState<Point[]>([]);
  const [error, setError] = useState<string | null>(null);
  const add = useCallback((o: Overview) => {
    setError(null);
    setHistory((h) => [...h.slice(-(HISTORY - 1)), { t: Date.now() / 1000, o }]);
  }, []);
  useEffect(() => {
    api.overview().then(add, (e: Error) =>
      setError(e instanceof ApiError && e.status === 404 ? "This Tally does not report an overview (GET /api/overview answers 404)." : e.message),
    );
  }, [add]);
  useLiveEvent("overview", add);
  const last = history[history.length - 1]?.o;
  const x = history.map((p) => p.t);
  const series: Series[] = [
    { label: "RADIUS", color: "#2563eb", values: history.map((p) => p.o.requestsPerSecond.radius), format: formatRate },
    { label: "TACACS+", color: "#059669", values: history.map((p) => p.o.requestsPerSecond.tacacs), format: formatRate },
    { label: "OpenVPN", color: "#d97706", values: history.map((p) => p.o.requestsPerSecond.openvpn), format: formatRate },
  ];
  return (
    <section>
      <h1>Overview</h1>
      <ErrorBox error={error} />
      {last !== undefined && (
        <>
          <div class="tiles">
            <Tile label="RADIUS req/s" value={formatRate(last.requestsPerSecond.radius)} id="radius" />
            <Tile label="TACACS+ req/s" value={formatRate(last.requestsPerSecond.tacacs)} id="tacacs" />
            <Tile label="OpenVPN req/s" value={formatRate(last.requestsPerSecond.openvpn)} id="openvpn" />
            <Tile label="Open sessions" value={String(last.openSessions)} id="open-sessions" href="#/sessions" />
            <Tile label="Drops" value={String(last.drops)} id="drops" warn={last.drops > 0} />
            <Tile label="Plugin errors" value={String(last.pluginErrors)} id="plugin-errors" warn={last.pluginErrors > 0} />
            <Tile label="Spool depth" value={String(last.spoolDepth)} id="spool-depth" warn={last.spoolDepth > 0} />
          </div>
          {history.length > 1 && <Chart title="Requests per second (since this page opened)" x={x} series={series} height={200} />}
        </>
      )}
    </section>
  );
}

function Tile({ label, value, id, warn = false, href }: { label: string; value: string; id: string; warn?: boolean; href?: string }) {
  const body = (
    <>
      <span class="tile-value" data-testid={`tile-${id}`}>
        {value}
      </span>
      <span class="tile-label">{label}</span>
    </>
  );
  return href ? (
    <a class={`tile ${warn ? "warn" : ""}`} href={href}>
      {body}
    </a>
  ) : (
    <div class={`tile ${warn ? "warn" : ""}`}>{body}</div>
  );
}
