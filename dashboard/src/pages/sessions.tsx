// Live sessions: filtered from the API, kept current by `session` events without reloading.

import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { api, type SessionFilter } from "../api.ts";
import { Bytes, DisconnectState, ErrorBox, StatusBadge, TableWrap, userLink } from "../components.tsx";
import { DisconnectDialog, outcomeText } from "../disconnect.tsx";
import { formatDuration, formatTime } from "../format.ts";
import { useLiveEvent } from "../live.ts";
import type { DisconnectResult, SessionJson } from "../types.ts";

const PAGE = 100;

function matches(s: SessionJson, f: SessionFilter): boolean {
  return (!f.status || s.status === f.status) && (!f.user || s.user === f.user) && (!f.nas || s.nas === f.nas) && (!f.protocol || s.protocol === f.protocol);
}

function searchHit(s: SessionJson, q: string): boolean {
  if (q === "") return true;
  const hay = [s.user, s.nas, s.sessionId, s.framedAddress, s.clientAddress, s.nasPort, s.client, String(s.id)].join(" ").toLowerCase();
  return q
    .toLowerCase()
    .split(/\s+/)
    .every((w) => hay.includes(w));
}

/** Newest first by updatedAt, as the API orders them. */
function upsert(list: SessionJson[], s: SessionJson, keep: boolean): SessionJson[] {
  const rest = list.filter((x) => x.id !== s.id);
  if (!keep) return rest;
  rest.push(s);
  return rest.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt) || b.id - a.id);
}

export function SessionsTable({ sessions, onDisconnect }: { sessions: SessionJson[]; onDisconnect: (s: SessionJson) => void }) {
  return (
    <TableWrap>
      <table class="cards sessions">
        <thead>
          <tr>
            <th>User</th>
            <th>Status</th>
            <th>NAS</th>
            <th>Protocol</th>
            <th>Address</th>
            <th>Started</th>
            <th>Time</th>
            <th class="num">In</th>
            <th class="num">Out</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {sessions.map((s) => (
            <tr key={s.id} data-session-id={s.id}>
              <td data-label="User">{userLink(s.user)}</td>
              <td data-label="Status">
                <span>
                  <StatusBadge s={s} /> <DisconnectState s={s} />
                </span>
              </td>
              <td data-label="NAS">{s.nas}</td>
              <td data-label="Protocol">{s.protocol}</td>
              <td data-label="Address">{s.framedAddress ?? s.clientAddress ?? ""}</td>
              <td data-label="Started">{formatTime(s.startedAt)}</td>
              <td data-label="Time">{formatDuration(s.sessionTime)}</td>
              <td data-label="In" class="num">
                <Bytes n={s.inputOctets} />
              </td>
              <td data-label="Out" class="num">
                <Bytes n={s.outputOctets} />
              </td>
              <td class="row-actions">
                <a href={`#/sessions/${s.id}`}>records</a>
                {s.status === "open" && (
                  <button class="danger small" onClick={() => onDisconnect(s)}>
                    Disconnect
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

/** The Disconnect button's dialog and the outcome line, shared with the user page. */
export function useDisconnect(onResult: (s: SessionJson) => void) {
  const [target, setTarget] = useState<SessionJson | null>(null);
  const [outcome, setOutcome] = useState<{ text: string; ok: boolean } | null>(null);
  const dialog =
    target === null ? null : (
      <DisconnectDialog
        session={target}
        onClose={(r: DisconnectResult | null, error?: string) => {
          setTarget(null);
          if (r !== null) {
            onResult(r.session);
            setOutcome({ text: outcomeText(r), ok: r.outcome === "acknowledged" || r.outcome === "requested" });
          } else if (error !== undefined) setOutcome({ text: `Disconnect failed: ${error}`, ok: false });
        }}
      />
    );
  const banner =
    outcome === null ? null : (
      <p class={`outcome ${outcome.ok ? "ok" : "bad"}`} role="status" data-testid="disconnect-outcome">
        {outcome.text}
        <button class="link" onClick={() => setOutcome(null)} aria-label="dismiss">
          ×
        </button>
      </p>
    );
  return { open: setTarget, dialog, banner };
}

/** `initial`: filters from the address (#/sessions?nas=...&status=), else open sessions. */
export function SessionsPage({ initial = {} }: { initial?: Record<string, string> }) {
  const [filter, setFilter] = useState<SessionFilter>({ status: "open", ...initial });
  const [search, setSearch] = useState("");
  const [sessions, setSessions] = useState<SessionJson[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);

  const load = useCallback(async (f: SessionFilter, cursor?: string) => {
    setLoading(true);
    try {
      const page = await api.sessions({ ...f, limit: PAGE, cursor });
      setSessions((old) => (cursor ? [...old, ...page.sessions] : page.sessions));
      setNext(page.next);
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setLoading(false);
    }
  }, []);
  useEffect(() => {
    // Type-ahead in the text filters waits for a pause before asking the server.
    const t = setTimeout(() => void load(filter), 250);
    return () => clearTimeout(t);
  }, [filter, load]);

  const onSession = useCallback((s: SessionJson) => setSessions((list) => upsert(list, s, matches(s, filter))), [filter]);
  useLiveEvent("session", onSession);
  const dc = useDisconnect((s) => setSessions((list) => upsert(list, s, matches(s, filter))));

  const shown = useMemo(() => sessions.filter((s) => searchHit(s, search.trim())), [sessions, search]);
  const set = (k: keyof SessionFilter) => (e: Event) => setFilter((f) => ({ ...f, [k]: (e.target as HTMLInputElement).value }));

  return (
    <section>
      <h1>Sessions</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <input type="search" name="search" placeholder="Search user, NAS, address, session id…" value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
        <select name="status" value={filter.status ?? ""} onChange={set("status")} aria-label="status">
          <option value="">any status</option>
          <option value="open">open</option>
          <option value="closed">closed</option>
          <option value="stale">stale</option>
        </select>
        <select name="protocol" value={filter.protocol ?? ""} onChange={set("protocol")} aria-label="protocol">
          <option value="">any protocol</option>
          <option value="radius">RADIUS</option>
          <option value="tacacs">TACACS+</option>
          <option value="openvpn">OpenVPN</option>
        </select>
        <input name="user" placeholder="user" value={filter.user ?? ""} onInput={set("user")} aria-label="user" />
        <input name="nas" placeholder="NAS" value={filter.nas ?? ""} onInput={set("nas")} aria-label="NAS" />
      </form>
      {dc.banner}
      <ErrorBox error={error} />
      <p class="muted count" data-testid="session-count">
        {loading ? "Loading…" : `${shown.length} session${shown.length === 1 ? "" : "s"}${next ? " (more on the server)" : ""}`}
      </p>
      <SessionsTable sessions={shown} onDisconnect={dc.open} />
      {next !== null && (
        <button class="secondary" onClick={() => void load(filter, next)}>
          Load more
        </button>
      )}
      {dc.dialog}
    </section>
  );
}
