// One shared /api/events stream for the whole app; pages subscribe to the events they show.

import { useEffect, useState } from "preact/hooks";
import { streamEvents, type LiveState } from "./api.ts";
import type { Overview, SessionJson } from "./types.ts";

type Listeners = { session: Set<(s: SessionJson) => void>; overview: Set<(o: Overview) => void> };
const listeners: Listeners = { session: new Set(), overview: new Set() };
const stateListeners = new Set<(s: LiveState) => void>();
let state: LiveState = "connecting";
let controller: AbortController | null = null;

export function startLive(): void {
  if (controller !== null) return;
  controller = new AbortController();
  void streamEvents(
    controller.signal,
    (e) => {
      let data: unknown;
      try {
        data = JSON.parse(e.data);
      } catch {
        return;
      }
      if (e.event === "session") for (const f of listeners.session) f(data as SessionJson);
      else if (e.event === "overview") for (const f of listeners.overview) f(data as Overview);
    },
    (s) => {
      state = s;
      for (const f of stateListeners) f(s);
    },
  );
}

export function stopLive(): void {
  controller?.abort();
  controller = null;
}

export function useLiveEvent<K extends keyof Listeners>(kind: K, f: Listeners[K] extends Set<infer F> ? F : never): void {
  useEffect(() => {
    const set = listeners[kind] as Set<typeof f>;
    set.add(f);
    return () => void set.delete(f);
  }, [kind, f]);
}

export function useLiveState(): LiveState {
  const [s, setS] = useState(state);
  useEffect(() => {
    stateListeners.add(setS);
    return () => void stateListeners.delete(setS);
  }, []);
  return s;
}
