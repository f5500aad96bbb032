// One session and its accounting records, in the order they were stored.

import { useEffect, useState } from "preact/hooks";
import { api } from "../api.ts";
import { Bytes, DisconnectState, ErrorBox, StatusBadge, TableWrap, userLink } from "../components.tsx";
import { formatDuration, formatTime } from "../format.ts";
import type { RecordJson, SessionJson } from "../types.ts";

export function SessionPage({ id }: { id: number }) {
  const [data, setData] = useState<{ session: SessionJson; records: RecordJson[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.session(id).then(setData, (e: Error) => setError(e.message));
  }, [id]);
  if (data === null) return <ErrorBox error={error} />;
  const s = data.session;
  return (
    <section>
      <h1>
        Session {s.id} <StatusBadge s={s} /> <DisconnectState s={s} />
      </h1>
      <dl class="facts">
        <dt>User</dt>
        <dd>{userLink(s.user)}</dd>
        <dt>NAS</dt>
        <dd>
          {s.nas} ({s.protocol}, client {s.client})
        </dd>
        <dt>Session id</dt>
        <dd class="mono">{s.sessionId}</dd>
        <dt>Started</dt>
        <dd>{formatTime(s.startedAt)}</dd>
        <dt>Stopped</dt>
        <dd>{s.stoppedAt === null ? "—" : `${formatTime(s.stoppedAt)} (${s.terminateCause ?? "no cause"})`}</dd>
        <dt>Time</dt>
        <dd>{formatDuration(s.sessionTime)}</dd>
        <dt>In / out</dt>
        <dd>
          <Bytes n={s.inputOctets} /> / <Bytes n={s.outputOctets} />
        </dd>
      </dl>
      <h2>Records</h2>
      <TableWrap>
        <table class="cards">
          <thead>
            <tr>
              <th>Kind</th>
              <th>Event time</th>
              <th>Time</th>
              <th class="num">In</th>
              <th class="num">Out</th>
              <th>Cause</th>
            </tr>
          </thead>
          <tbody>
            {data.records.map((r) => (
              <tr key={r.id}>
                <td data-label="Kind">{r.kind}</td>
                <td data-label="Event time">{formatTime(r.eventTime)}</td>
                <td data-label="Time">{r.sessionTime === null ? "" : formatDuration(r.sessionTime)}</td>
                <td data-label="In" class="num">
                  {r.inputOctets === null ? "" : <Bytes n={r.inputOctets} />}
                </td>
                <td data-label="Out" class="num">
                  {r.outputOctets === null ? "" : <Bytes n={r.outputOctets} />}
                </td>
                <td data-label="Cause">{r.terminateCause ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
    </section>
  );
}
