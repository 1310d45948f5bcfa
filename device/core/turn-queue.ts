// Work that may be heavy, taken one item per turn of the event loop. A config/set can be a 64 KiB
// document to parse and validate; a flood of them arrives back to back, often many in one socket
// read. Handled as they arrive, a ping read in the same burst waited for all of them. Queued
// here, each config/set runs in its own turn (setImmediate), after the I/O of that turn, so a
// ping or command that arrives meanwhile is answered between two of them. Order is kept.
export class TurnQueue {
  private readonly jobs: Array<() => unknown> = [];
  private scheduled = false;

  /** Runs `job` in a later turn, after every job queued before it. */
  push(job: () => unknown): void {
    this.jobs.push(job);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || !this.jobs.length) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const job = this.jobs.shift()!;
      this.schedule();
      job(); // a job reports its own failures (a handler replies); it must not throw
    });
  }
}
