// A user's page: totals, usage charts (bytes in/out per day and per hour, sessions per day)
// and the user's open sessions, kept current by `session` events.

import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { api } from "../api.ts";
import { Chart, type Series } from "../chart.tsx";
import { ErrorBox } from "../components.tsx";
import { formatBytes, formatDuration, usageTotals } from "../format.ts";
import { useLiveEvent } from "../live.ts";
import type { SessionJson, Usage, UsageBucket } from "../types.ts";
import { SessionsTable, useDisconnect } from "./sessions.tsx";

const DAY = 86_400_000;

/** A bucket's period ("2026-11-22", "2026-11-22T13", "2026-11") as seconds since the epoch. */
export function periodSeconds(period: string): number {
  const iso = period.length === 7 ? `${period}-01T00:00:00Z` : period.length === 10 ? `${period}T00:00:00Z` : `${period}:00:00Z`;
  return Date.parse(iso) / 1000;
}

function bytesSeries(buckets: UsageBucket[]): Series[] {
  return [
    { label: "in", color: "#2563eb", values: buckets.map((b) => b.inputOctets), format: formatBytes },
    { label: "out", color: "#d97706", values: buckets.map((b) => b.outputOctets), format: formatBytes },
  ];
}

/** The quota plugin's view of the user (GET /api/users/NAME/usage: `quota`). */
function QuotaState({ quota }: { quota: Record<string, unknown> }) {
  const num = (k: string) => (typeof quota[k] === "number" ? (quota[k] as number) : null);
  let text: string;
  if (quota.limited !== true) text = quota.exempt === true ? "exempt" : "no limit";
  else {
    const parts: string[] = [];
    const limitBytes = num("limitBytes");
    if (limitBytes !== null) parts.push(`${formatBytes(num("usedBytes") ?? 0)} of ${formatBytes(limitBytes)} used, ${formatBytes(Math.max(0, num("bytesLeft") ?? 0))} left`);
    const limitTime = num("limitTime");
    if (limitTime !== null) parts.push(`${formatDuration(num("usedTime") ?? 0)} of ${formatDuration(limitTime)}`);
    text = `${parts.join(" · ")} (${String(quota.period ?? "")})`;
  }
  const exhausted = quota.exhausted === true;
  return (
    <p class={exhausted ? "quota exhausted" : "quota"} data-testid="quota">
      Quota: {text}
      {exhausted ? " · exhausted" : ""}
    </p>
  );
}

export function UserPage({ name }: { name: string }) {
  const [days, setDays] = useState<Usage | null>(null);
  const [hours, setHours] = useState<Usage | null>(null);
  const [open, setOpen] = useState<SessionJson[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const now = Date.now();
    const since30d = new Date(Math.floor(now / DAY) * DAY - 29 * DAY).toISOString();
    const since48h = new Date(Math.floor(now / 3_600_000) * 3_600_000 - 47 * 3_600_000).toISOString();
    Promise.all([api.usage(name, since30d, "day"), api.usage(name, since48h, "hour"), api.sessions({ user: name, status: "open", limit: 100 })])
      .then(([d, h, s]) => {
        setDays(d);
        setHours(h);
        setOpen(s.sessions);
        setError(null);
      })
      .catch((e: Error) => setError(e.message));
  }, [name]);

  const onSession = useCallback(
    (s: SessionJson) => {
      if (s.user !== name) return;
      setOpen((list) => [s, ...list.filter((x) => x.id !== s.id)].filter((x) => x.status === "open"));
    },
    [name],
  );
  useLiveEvent("session", onSession);
  const dc = useDisconnect(onSession);

  const dayX = useMemo(() => (days === null ? [] : days.buckets.map((b) => periodSeconds(b.period))), [days]);
  const daySeries = useMemo(() => (days === null ? [] : bytesSeries(days.buckets)), [days]);
  const sessionSeries = useMemo<Series[]>(() => (days === null ? [] : [{ label: "sessions", color: "#059669", values: days.buckets.map((b) => b.sessions) }]), [days]);
  const hourX = useMemo(() => (hours === null ? [] : hours.buckets.map((b) => periodSeconds(b.period))), [hours]);
  const hourSeries = useMemo(() => (hours === null ? [] : bytesSeries(hours.buckets)), [hours]);

  return (
    <section>
      <h1>
        User <span class="mono">{name}</span>
      </h1>
      <ErrorBox error={error} />
      {days !== null && (
        <>
          <p class="totals" data-testid="usage-totals">
            Last 30 days: {usageTotals(days)}
          </p>
          {days.quota !== undefined && <QuotaState quota={days.quota} />}
          <div class="charts">
            <Chart title="Bytes per day (UTC), last 30 days" x={dayX} series={daySeries} bars />
            {hours !== null && <Chart title="Bytes per hour (UTC), last 48 hours" x={hourX} series={hourSeries} bars />}
            <Chart title="Sessions per day" x={dayX} series={sessionSeries} bars height={160} />
          </div>
        </>
      )}
      <h2>Current sessions</h2>
      {dc.banner}
      {open.length === 0 ? <p class="muted">No open sessions.</p> : <SessionsTable sessions={open} onDisconnect={dc.open} />}
      {dc.dialog}
    </section>
  );
}
