// What audio roles ask of the clock they run on. A role's Clock without sync() is trusted as
// shared (virtual time in tests, or a device with `clock.enabled: false`: its OS wall clock as
// before the house clock). With a house clock, RTCP sender reports are sent and used only while
// house time is served (locked, or stale on its last estimate): before the first lock wall() is
// this device's own OS clock, which may be seconds off, so players keep to arrival timing, which
// needs no clock agreement.
import type { ClockStatus } from '../../protocol/clock.ts';
import type { Clock } from '../core/clock.ts';

export function houseTimeServed(clock: Clock): boolean {
  const s = clock.sync?.();
  return !s || s.state === 'locked' || s.state === 'stale';
}

export type PlayerClockStatus = ClockStatus & { sufficient: boolean };

/**
 * A player's view of its clock: the status with `sufficient` (house time served and its
 * uncertainty within maxUncertaintyUs), and a call when that flips (for the clock-unsure /
 * clock-sure events). Before the first lock the player is not "unsure": it plays by arrivals.
 */
export class ClockWatch {
  private last: boolean | undefined;
  constructor(
    private readonly clock: Clock,
    private readonly onChange: (sufficient: boolean, s: ClockStatus) => void,
  ) {}

  status(): PlayerClockStatus | undefined {
    const s = this.clock.sync?.();
    if (!s) return undefined;
    const served = s.state === 'locked' || s.state === 'stale';
    const sufficient = served && s.uncertaintyUs !== undefined && s.uncertaintyUs <= (s.maxUncertaintyUs ?? Infinity);
    return { ...s, sufficient };
  }

  /** Call periodically; reports a flip of `sufficient` once house time is served. */
  check(): void {
    const s = this.status();
    if (!s || (s.state !== 'locked' && s.state !== 'stale')) return;
    if (s.sufficient !== this.last) {
      const first = this.last === undefined;
      this.last = s.sufficient;
      if (!(first && s.sufficient)) this.onChange(s.sufficient, s);
    }
  }
}
