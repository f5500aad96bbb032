// The NASes Tally has heard from, with their session counts.

import { useEffect, useState } from "preact/hooks";
import { api } from "../api.ts";
import { ErrorBox, TableWrap } from "../components.tsx";
import { formatTime } from "../format.ts";
import type { NasJson } from "../types.ts";

export function NasPage() {
  const [nas, setNas] = useState<NasJson[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.nas().then((r) => setNas(r.nas), (e: Error) => setError(e.message));
  }, []);
  return (
    <section>
      <h1>NASes</h1>
      <ErrorBox error={error} />
      {nas !== null && (
        <TableWrap>
          <table class="cards">
            <thead>
              <tr>
                <th>NAS</th>
                <th>Protocol</th>
                <th class="num">Open sessions</th>
                <th class="num">Sessions</th>
                <th>Last seen</th>
              </tr>
            </thead>
            <tbody>
              {nas.map((n) => (
                <tr key={`${n.protocol}/${n.nas}`}>
                  <td data-label="NAS">
                    <a href={`#/sessions?nas=${encodeURIComponent(n.nas)}&status=`}>
                      {n.nas}
                    </a>
                  </td>
                  <td data-label="Protocol">{n.protocol}</td>
                  <td data-label="Open" class="num">
                    {n.openSessions}
                  </td>
                  <td data-label="Sessions" class="num">
                    {n.sessions}
                  </td>
                  <td data-label="Last seen">{formatTime(n.lastSeen)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {nas !== null && nas.length === 0 && <p class="muted">No NAS has sent anything yet.</p>}
    </section>
  );
}
