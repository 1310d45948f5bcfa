// Waiting for a state instead of sleeping a fixed time: poll a probe until it holds (or returns a
// value), and fail with what was awaited, for how long and what was last seen. A fixed sleep is
// either too short under load (a flaky test) or too long everywhere (a slow one); a test that
// waits for the state it needs is neither. Keep fixed sleeps for what is a span of time by nature
// (a measurement window, a rule's minimum gap, "nothing happens during N s").
export interface WaitOptions {
  /** Give up after this long (ms, default 10 000). */
  timeoutMs?: number;
  /** Poll every this many ms (default 50). */
  everyMs?: number;
  /** Describes the last observation for the timeout message (e.g. the last state seen). */
  seen?: () => unknown;
}

/**
 * Resolves with the probe's first truthy result. A probe that throws counts as "not yet" (a state
 * not published yet, a file not written yet); its last error is in the timeout message.
 */
export async function waitUntil<T>(what: string, probe: () => T | Promise<T>, o: WaitOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const t0 = Date.now();
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v as NonNullable<T>;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    const waited = Date.now() - t0;
    if (waited >= timeoutMs) {
      const seen = o.seen ? `; last seen: ${describe(o.seen)}` : '';
      const err = lastError ? `; the probe threw: ${(lastError as Error).message ?? String(lastError)}` : '';
      throw new Error(`timed out after ${waited} ms waiting for ${what}${seen}${err}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(o.everyMs ?? 50, Math.max(1, timeoutMs - waited))));
  }
}

function describe(seen: () => unknown): string {
  try {
    const v = seen();
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    return s.length > 2000 ? `${s.slice(0, 2000)}…` : s;
  } catch (e) {
    return `(${(e as Error).message})`;
  }
}
