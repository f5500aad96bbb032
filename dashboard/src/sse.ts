// A parser for text/event-stream (the WHATWG "server-sent events" format), for reading
// /api/events with fetch(): EventSource cannot send the Authorization header the API needs.
// Pure and incremental: feed it chunks as they arrive, in any split.

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

export class SseParser {
  private buffer = "";
  private eventName = "";
  private data: string[] = [];
  private id: string | undefined;

  /** Feeds decoded text; returns the events it completed. */
  push(text: string): SseEvent[] {
    this.buffer += text;
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (m === null || (m[0] === "\r" && m.index === this.buffer.length - 1)) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const e = this.line(line);
      if (e !== null) out.push(e);
    }
    return out;
  }

  private line(line: string): SseEvent | null {
    if (line === "") {
      // A blank line dispatches the event; one without data is dropped (as browsers do).
      const e = this.data.length === 0 ? null : { event: this.eventName || "message", data: this.data.join("\n"), ...(this.id === undefined ? {} : { id: this.id }) };
      this.eventName = "";
      this.data = [];
      return e;
    }
    if (line.startsWith(":")) return null; // a comment (keep-alive)
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.eventName = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id") this.id = value;
    return null;
  }
}
