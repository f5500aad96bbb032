// Session changes, for whoever watches live (the HTTP API's event stream, the dashboard).
// Accounting says which sessions changed; when someone is listening, the changed sessions are
// read back from the store and published, at most once per session per flush interval, so a
// busy NAS costs one read per session per interval, not one per record. With nobody listening
// this costs nothing.

import type { Session } from "../model/session.ts";
import type { Store } from "../store/store.ts";

export type SessionListener = (session: Session) => void;

export class SessionEvents {
  readonly #listeners = new Set<SessionListener>();
  readonly #pending = new Set<number>();
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: Pick<Store, "getSession">,
    private readonly flushMs = 250,
  ) {}

  get listening(): boolean {
    return this.#listeners.size > 0;
  }

  /** Calls `listener` with every changed session until the returned function is called. */
  subscribe(listener: SessionListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** The session with this id changed (a record folded, closed by On/Off); read and published soon. */
  changed(sessionPk: number): void {
    if (this.#listeners.size === 0) return;
    this.#pending.add(sessionPk);
    this.#timer ??= setTimeout(() => void this.#flush(), this.flushMs);
  }

  /** A session already read (a disconnect's result, a reaped session): published now. */
  publish(session: Session): void {
    for (const l of this.#listeners) l(session);
  }

  async #flush(): Promise<void> {
    this.#timer = null;
    const ids = [...this.#pending];
    this.#pending.clear();
    for (const id of ids) {
      // A listener that went away, or a store closing, must not break the others.
      const session = await this.store.getSession(id).catch(() => null);
      if (session !== null) this.publish(session);
    }
  }

  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#pending.clear();
    this.#listeners.clear();
  }
}
