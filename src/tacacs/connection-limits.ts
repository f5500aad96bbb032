// How many TACACS+ connections are open, in all and per source address, across both listeners
// (TCP and TLS): a connection is counted from accept (a TLS handshake under way counts) until it
// closes, so neither many sources nor one busy source can take every descriptor.

export type ConnectionRefusal = "connection-limit" | "source-connection-limit";

export class ConnectionLimits {
  private total = 0;
  private readonly perSource = new Map<string, number>();

  constructor(
    private readonly maxConnections: number,
    private readonly maxPerSource: number,
  ) {}

  /** Counts a connection from `address`, or says why it must be refused (and counts nothing). */
  admit(address: string): ConnectionRefusal | null {
    if (this.total >= this.maxConnections) return "connection-limit";
    const fromSource = this.perSource.get(address) ?? 0;
    if (fromSource >= this.maxPerSource) return "source-connection-limit";
    this.total++;
    this.perSource.set(address, fromSource + 1);
    return null;
  }

  /** A connection admitted from `address` has closed. */
  release(address: string): void {
    const fromSource = this.perSource.get(address) ?? 0;
    if (fromSource <= 1) this.perSource.delete(address);
    else this.perSource.set(address, fromSource - 1);
    if (this.total > 0) this.total--;
  }

  get open(): number {
    return this.total;
  }
}
