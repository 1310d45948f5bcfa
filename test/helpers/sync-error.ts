// Inter-room sync error from two simulated DACs' block records: for each block of room A that
// carries source time T, the wall instant room B plays T (interpolated between B's two blocks
// around T, only across contiguous audio), and the difference in µs (positive: A plays later).
import type { SimBlockRecord } from '../../device/hal/audio-out.sim.ts';

export interface SyncPoint {
  wallMs: number;
  errUs: number;
}

export function syncErrors(a: readonly SimBlockRecord[], b: readonly SimBlockRecord[]): SyncPoint[] {
  const bs = b.filter((r) => r.rtpTimeAtStart !== null);
  const out: SyncPoint[] = [];
  let j = 0;
  for (const ra of a) {
    const t = ra.rtpTimeAtStart;
    if (t === null) continue;
    while (j + 1 < bs.length && bs[j + 1]!.rtpTimeAtStart! <= t) j++;
    const b0 = bs[j],
      b1 = bs[j + 1];
    if (!b0 || !b1 || b0.rtpTimeAtStart! > t) continue;
    // Only across contiguous output of one epoch (no underrun gap, no restore in between).
    if (b0.epoch !== b1.epoch || b1.frame !== b0.frame + b0.frames) continue;
    const span = b1.rtpTimeAtStart! - b0.rtpTimeAtStart!;
    if (!(span > 0) || span > 4 * b0.frames) continue; // a resync jump, not playback
    const wallB = b0.wallMs + ((t - b0.rtpTimeAtStart!) * (b1.wallMs - b0.wallMs)) / span;
    out.push({ wallMs: ra.wallMs, errUs: (ra.wallMs - wallB) * 1000 });
  }
  return out;
}

/** Seconds from `startWallMs` until |error| ≤ limitUs and stays so for every later point (NaN if never). */
export function timeToSync(points: readonly SyncPoint[], startWallMs: number, limitUs = 100): number {
  let lastBad = -1;
  for (let i = 0; i < points.length; i++) if (Math.abs(points[i]!.errUs) > limitUs) lastBad = i;
  if (lastBad === points.length - 1) return NaN;
  const first = points[lastBad + 1];
  return first ? Math.max(0, (first.wallMs - startWallMs) / 1000) : NaN;
}
