// A cap on TACACS+ requests being worked on (waiting for the store or plugins), all connections
// together. TCP gives back-pressure for free: a connection with a request pending that finds the
// gate full is not served further and stops being read (socket.pause) until enough work has
// finished, so the device's own TCP window holds its next packets. Nothing is refused and
// nothing is lost; the total stays within the cap plus one per connection (connection.ts drain).

export class PendingGate {
  private count = 0;
  private readonly waiting = new Set<() => void>();

  constructor(private readonly cap: number) {}

  get pending(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.cap;
  }

  /** Counts `work` as pending until it settles. */
  hold(work: Promise<unknown>): void {
    this.take();
    const release = () => this.release();
    work.then(release, release);
  }

  /** Counts one piece of work as pending; its owner calls release once, when it settles. */
  take(): void {
    this.count++;
  }

  release(): void {
    this.count--;
    this.wake();
  }

  /** Calls `resume` once the gate has room again (immediately if it has). */
  whenOpen(resume: () => void): void {
    if (!this.full) return resume();
    this.waiting.add(resume);
  }

  /** Forgets a waiter (its connection closed). */
  cancel(resume: () => void): void {
    this.waiting.delete(resume);
  }

  private wake(): void {
    if (this.full || this.waiting.size === 0) return;
    const resumes = [...this.waiting];
    this.waiting.clear();
    for (const r of resumes) r();
  }
}
