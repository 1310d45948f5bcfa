// Capped exponential backoff with jitter: delay(n) = min(max, min·2^n) · (1 ± jitter). Pure; the
// random source is injected so tests are deterministic.
export interface BackoffOptions {
  minMs: number;
  maxMs: number;
  jitter?: number;
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  constructor(private readonly o: BackoffOptions) {}
  /** The delay before the next try, and counts the try. */
  next(): number {
    const raw = Math.min(this.o.maxMs, this.o.minMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    const j = this.o.jitter ?? 0.2;
    const r = (this.o.random ?? Math.random)();
    return Math.max(0, Math.round(raw * (1 - j + 2 * j * r)));
  }
  reset(): void {
    this.attempt = 0;
  }
  get attempts(): number {
    return this.attempt;
  }
}
