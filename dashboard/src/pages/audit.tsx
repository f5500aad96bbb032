// The TACACS+ command audit trail: who ran what, where and when, newest first.

import { useEffect, useState } from "preact/hooks";
import { api } from "../api.ts";
import { ErrorBox, TableWrap, userLink } from "../components.tsx";
import { formatTime } from "../format.ts";
import type { RecordJson } from "../types.ts";

const privLvl = (r: RecordJson) => r.attributes?.find((a) => a.name === "priv-lvl")?.value ?? "";

export function AuditPage() {
  const [user, setUser] = useState("");
  const [nas, setNas] = useState("");
  const [commands, setCommands] = useState<RecordJson[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const t = setTimeout(() => {
      api.audit({ user: user.trim() || undefined, nas: nas.trim() || undefined, limit: 500 }).then(
        (r) => (setCommands(r.commands), setError(null)),
        (e: Error) => setError(e.message),
      );
    }, 250);
    return () => clearTimeout(t);
  }, [user, nas]);
  return (
    <section>
      <h1>Command audit</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <input name="user" placeholder="user" aria-label="user" value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} />
        <input name="nas" placeholder="device" aria-label="device" value={nas} onInput={(e) => setNas((e.target as HTMLInputElement).value)} />
      </form>
      <ErrorBox error={error} />
      {commands !== null && commands.length === 0 && <p class="muted">No commands recorded.</p>}
      {commands !== null && commands.length > 0 && (
        <TableWrap>
          <table class="cards audit">
            <thead>
              <tr>
                <th>Time</th>
                <th>User</th>
                <th>Device</th>
                <th>Port</th>
                <th>From</th>
                <th>Priv</th>
                <th>Command</th>
              </tr>
            </thead>
            <tbody>
              {commands.map((r) => (
                <tr key={r.id}>
                  <td data-label="Time">{formatTime(r.eventTime)}</td>
                  <td data-label="User">{userLink(r.user)}</td>
                  <td data-label="Device">{r.nas}</td>
                  <td data-label="Port">{r.nasPort ?? ""}</td>
                  <td data-label="From">{r.clientAddress ?? ""}</td>
                  <td data-label="Priv">{privLvl(r)}</td>
                  <td data-label="Command" class="mono">
                    {r.command ?? ""}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </section>
  );
}
