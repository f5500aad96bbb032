// Display formats shared by the pages (and by the browser tests, which check the page's text
// against the data they served). Pure: no DOM.

const UNITS = ["B", "kB", "MB", "GB", "TB", "PB"];

/** Bytes in decimal units, as `tally usage` prints them: 1234567 -> "1.23 MB". */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1000 && u < UNITS.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${UNITS[u]}`;
}

/** Seconds as "1h 02m 03s" (days when long). */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (x: number) => String(x).padStart(2, "0");
  if (d > 0) return `${d}d ${h}h ${pad(m)}m`;
  if (h > 0) return `${h}h ${pad(m)}m ${pad(sec)}s`;
  if (m > 0) return `${m}m ${pad(sec)}s`;
  return `${sec}s`;
}

/** An ISO time as "2026-11-22 13:04:05" (UTC, like the CLI), or "" for null. */
export function formatTime(iso: string | null): string {
  if (iso === null) return "";
  return iso.replace("T", " ").replace(/\.\d+Z$|Z$/, "");
}

/** A rate with one decimal: 12.345 -> "12.3". */
export function formatRate(n: number): string {
  return n.toFixed(1);
}

/** The totals line of the user page. */
export function usageTotals(u: { sessions: number; inputOctets: number; outputOctets: number; sessionTime: number }): string {
  return `${u.sessions} sessions · in ${formatBytes(u.inputOctets)} · out ${formatBytes(u.outputOctets)} · time ${formatDuration(u.sessionTime)}`;
}
