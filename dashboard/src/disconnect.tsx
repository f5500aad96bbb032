// The Disconnect button's confirmation dialog: asks, POSTs, and reports the outcome.

import { useState } from "preact/hooks";
import { api } from "./api.ts";
import type { DisconnectResult, SessionJson } from "./types.ts";

export function DisconnectDialog({ session, onClose }: { session: SessionJson; onClose: (r: DisconnectResult | null, error?: string) => void }) {
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    setBusy(true);
    try {
      onClose(await api.disconnect(session.id, reason.trim() || undefined));
    } catch (e) {
      onClose(null, (e as Error).message);
    }
  };
  return (
    <div class="modal-backdrop" onClick={(e) => e.target === e.currentTarget && !busy && onClose(null)}>
      <div class="modal card" role="dialog" aria-modal="true" aria-labelledby="dc-title">
        <h2 id="dc-title">Disconnect this session?</h2>
        <p>
          <strong>{session.user ?? "(no user)"}</strong> on <strong>{session.nas}</strong> ({session.protocol}, session{" "}
          <code>{session.sessionId}</code>). Tally asks the NAS to cut the user off.
        </p>
        <label>
          Reason (optional)
          <input value={reason} name="reason" onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
        </label>
        <div class="actions">
          <button class="secondary" disabled={busy} onClick={() => onClose(null)}>
            Cancel
          </button>
          <button class="danger" disabled={busy} onClick={confirm}>
            {busy ? "Disconnecting…" : "Disconnect"}
          </button>
        </div>
      </div>
    </div>
  );
}

/** The line shown after a disconnect: the outcome, and the detail when the server gave one. */
export function outcomeText(r: DisconnectResult): string {
  const who = `${r.session.user ?? "(no user)"} on ${r.session.nas}`;
  return `Disconnect ${who}: ${r.outcome}${r.detail ? ` (${r.detail})` : ""}`;
}
