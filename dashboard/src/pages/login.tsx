// Log in by pasting an API token; it is checked against the server before it is kept.

import { useState } from "preact/hooks";
import { ApiError, api } from "../api.ts";

export function LoginPage({ onLogin }: { onLogin: (token: string) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const t = token.trim();
    if (t === "") return setError("Paste a token first.");
    setBusy(true);
    setError(null);
    try {
      await api.check(t);
      onLogin(t);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? "That token was refused by the server." : `Cannot reach Tally: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="login">
      <form class="card" onSubmit={submit}>
        <h1>Tally</h1>
        <p class="muted">Paste an API token (the <code>http.tokens</code> of Tally's configuration).</p>
        <label>
          Token
          <input
            type="password"
            name="token"
            autoComplete="off"
            value={token}
            onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          />
        </label>
        {error !== null && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? "Checking…" : "Log in"}
        </button>
      </form>
    </div>
  );
}
