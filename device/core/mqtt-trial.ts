// Trying broker settings before keeping them. A config change to `mqtt.*` is applied as a trial
// (runtime.ts): the device connects with the new settings, and keeps them only once that
// connection is up; otherwise it goes back to the last good settings. This module runs one trial
// on a link that has not started: it resolves when the link connects, when the broker refuses the
// login (CONNACK return code: no retry can fix that), or when `timeoutMs` has passed (network
// errors are retried by the link's own backoff until then). The reason is the broker's own words.
import type { Clock } from './clock.ts';
import type { DeviceLink } from './device-link.ts';

export type TrialOutcome = { ok: true; ms: number } | { ok: false; reason: string; ms: number };

/** Default bound on a trial; with the way back, a bad setting costs at most about this long offline. */
export const TRIAL_TIMEOUT_MS = 10_000;

export function tryConnect(link: DeviceLink, o: { clock: Clock; timeoutMs: number; url: string }): Promise<TrialOutcome> {
  const t0 = o.clock.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: TrialOutcome) => {
      if (done) return;
      done = true;
      offConn();
      offErr();
      o.clock.clearTimeout(timer);
      resolve(r);
    };
    const ms = () => Math.round(o.clock.now() - t0);
    const offConn = link.onConnectionChange((up) => {
      if (up) finish({ ok: true, ms: ms() });
    });
    const offErr = link.onError((e) => {
      if (typeof e.code === 'number' && e.code > 0) finish({ ok: false, reason: `${o.url} refused the login: ${e.message}`, ms: ms() });
    });
    const timer = o.clock.setTimeout(() => {
      const last = link.lastError;
      finish({
        ok: false,
        reason: last
          ? `${last.message} (no connection to ${o.url} within ${o.timeoutMs} ms)`
          : `no connection to ${o.url} within ${o.timeoutMs} ms`,
        ms: ms(),
      });
    }, o.timeoutMs);
    link.start();
  });
}
