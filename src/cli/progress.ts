// A progress line on stderr for long CLI commands (import, export): redrawn at most a few
// times a second, only when stderr is a terminal, and cleared before any other message so the
// two never mix on one line.

export class ProgressLine {
  readonly #enabled: boolean;
  readonly #render: () => string;
  #last = 0;
  #shown = false;

  constructor(render: () => string, enabled = process.stderr.isTTY === true) {
    this.#render = render;
    this.#enabled = enabled;
  }

  /** Redraws if the last draw is old enough (or `force`). */
  update(force = false): void {
    if (!this.#enabled) return;
    const now = Date.now();
    if (!force && now - this.#last < 200) return;
    this.#last = now;
    const columns = process.stderr.columns || 80;
    process.stderr.write(`\r\x1b[K${this.#render().slice(0, Math.max(10, columns - 1))}`);
    this.#shown = true;
  }

  /** Prints a line of its own on stderr; the progress line comes back at the next update. */
  message(text: string): void {
    this.clear();
    process.stderr.write(`${text}\n`);
  }

  clear(): void {
    if (!this.#shown) return;
    process.stderr.write("\r\x1b[K");
    this.#shown = false;
  }
}

/** `[=====     ]  45%` */
export function bar(share: number, width = 24): string {
  const s = Math.min(1, Math.max(0, share));
  const filled = Math.round(s * width);
  return `[${"=".repeat(filled)}${" ".repeat(width - filled)}] ${String(Math.floor(s * 100)).padStart(3)}%`;
}

/** Per second since `started` (ms), rounded. */
export function rate(count: number, started: number): number {
  const seconds = (Date.now() - started) / 1000;
  return seconds > 0 ? Math.round(count / seconds) : 0;
}
