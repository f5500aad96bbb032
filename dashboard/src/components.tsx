// Small pieces the pages share.

import type { ComponentChildren } from "preact";
import { formatBytes } from "./format.ts";
import type { SessionJson } from "./types.ts";

export function StatusBadge({ s }: { s: SessionJson }) {
  return <span class={`badge status-${s.status}`}>{s.status}</span>;
}

/** The disconnect / quota state of a session, when there is one. */
export function DisconnectState({ s }: { s: SessionJson }) {
  if (s.disconnect === null && s.note === null) return null;
  return (
    <span class="state">
      {s.disconnect !== null && (
        <span class={`badge disconnect-${s.disconnect}`} title={s.disconnectReason ?? ""}>
          disconnect {s.disconnect}
        </span>
      )}
      {s.note !== null && <span class="note">{s.note}</span>}
    </span>
  );
}

export function Bytes({ n }: { n: number }) {
  return <span title={`${n.toLocaleString("en")} bytes`}>{formatBytes(n)}</span>;
}

export function ErrorBox({ error }: { error: string | null }) {
  return error === null ? null : (
    <p class="error" role="alert">
      {error}
    </p>
  );
}

/** A table that scrolls sideways inside its own box on narrow screens, never the page. */
export function TableWrap({ children }: { children: ComponentChildren }) {
  return <div class="table-wrap">{children}</div>;
}

export function userLink(user: string | null) {
  return user === null ? <span class="muted">—</span> : <a href={`#/users/${encodeURIComponent(user)}`}>{user}</a>;
}
