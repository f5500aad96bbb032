// Tally's dashboard: a single-page app over the HTTP API. Routes live in the URL hash
// (#/sessions, #/users/alice, ...) so Tally serves one index.html for everything.

import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { getToken, setToken, setUnauthorizedHandler } from "./api.ts";
import { startLive, stopLive, useLiveState } from "./live.ts";
import { AuditPage } from "./pages/audit.tsx";
import { LoginPage } from "./pages/login.tsx";
import { NasPage } from "./pages/nas.tsx";
import { OverviewPage } from "./pages/overview.tsx";
import { SessionPage } from "./pages/session.tsx";
import { SessionsPage } from "./pages/sessions.tsx";
import { UserPage } from "./pages/user.tsx";

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const f = () => setHash(location.hash);
    addEventListener("hashchange", f);
    return () => removeEventListener("hashchange", f);
  }, []);
  return hash;
}

const NAV = [
  ["#/overview", "Overview"],
  ["#/sessions", "Sessions"],
  ["#/nas", "NASes"],
  ["#/audit", "Command audit"],
] as const;

function Page({ hash }: { hash: string }) {
  const [path = "", q = ""] = hash.replace(/^#\/?/, "").split("?");
  const parts = path.split("/").map(decodeURIComponent);
  const params = Object.fromEntries(new URLSearchParams(q));
  switch (parts[0]) {
    case "sessions":
      return parts[1] ? <SessionPage id={Number(parts[1])} /> : <SessionsPage key={q} initial={params} />;
    case "users":
      return <UserPage name={parts[1] ?? ""} />;
    case "nas":
      return <NasPage />;
    case "audit":
      return <AuditPage />;
    case "overview":
      return <OverviewPage />;
    default:
      return <SessionsPage />;
  }
}

function LiveBadge() {
  const s = useLiveState();
  const text = s === "live" ? "live" : s === "connecting" ? "connecting…" : "reconnecting…";
  return (
    <span class={`live live-${s}`} data-testid="live-state">
      {text}
    </span>
  );
}

function App() {
  const [token, setTok] = useState(getToken());
  const hash = useHash();
  useEffect(() => {
    setUnauthorizedHandler(() => {
      setToken(null);
      setTok(null);
    });
  }, []);
  useEffect(() => {
    if (token === null) return;
    startLive();
    return stopLive;
  }, [token]);
  if (token === null) return <LoginPage onLogin={(t) => (setToken(t), setTok(t))} />;
  const current = hash === "" ? "#/sessions" : hash;
  return (
    <div class="app">
      <header class="top">
        <a class="brand" href="#/sessions">
          Tally
        </a>
        <nav>
          {NAV.map(([href, label]) => (
            <a href={href} class={current.startsWith(href) ? "active" : ""}>
              {label}
            </a>
          ))}
        </nav>
        <LiveBadge />
        <button class="link" onClick={() => (setToken(null), setTok(null))}>
          Log out
        </button>
      </header>
      <main>
        <Page hash={current} />
      </main>
    </div>
  );
}

render(<App />, document.getElementById("app")!);
