// The demo's true sync figure, measured outside the players: each room's simulated DAC records
// the true instant each block reaches its "analog" side and the RTP time it carries. At a true
// instant W the RTP time a room is playing follows from the block playing then; the spread across
// rooms at W is how far apart they sound. Not a player's estimate of itself.
//
// One instant says little on a loaded machine (a stalled event loop makes one room run dry for a
// moment, which is real but brief), so the figure is taken at many instants over a window: the
// median spread says how far apart the rooms are, the worst says how bad a moment got.
import type { SimBlockRecord } from '../hal/audio-out.sim.ts';

export interface RoomOffset {
  room: string;
  offsetUs: number;
}

export interface SyncWindow {
  /** Instants at which at least two rooms were playing stream audio. */
  instants: number;
  /** Each room's median offset (µs) from the first room over those instants. */
  rooms: RoomOffset[];
  /** Median and worst spread (max − min across rooms, µs) over those instants. */
  medianSpreadUs: number;
  maxSpreadUs: number;
  /** Share of the instants whose spread was over 1 ms (%, one decimal): how long the bad moments lasted. */
  overMsPct: number;
}

/** Signed difference of two 32-bit RTP times (a − b), wrap-safe. */
function rtpDiff(a: number, b: number): number {
  let d = (a - b) % 2 ** 32;
  if (d >= 2 ** 31) d -= 2 ** 32;
  if (d < -(2 ** 31)) d += 2 ** 32;
  return d;
}

/** Index of the last record with wallMs ≤ w (records are in wall order), or −1. */
function lastAtOrBefore(records: readonly SimBlockRecord[], w: number): number {
  let lo = 0,
    hi = records.length - 1,
    found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (records[mid]!.wallMs <= w) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * RTP time (frames, relative to `ref`) a room plays at true instant w, or null when it plays
 * silence or nothing then (no block covering w, or a silence block).
 */
function playingAt(records: readonly SimBlockRecord[], w: number, rate: number, ref: number): number | null {
  const i = lastAtOrBefore(records, w);
  if (i < 0) return null;
  const r = records[i]!;
  const into = ((w - r.wallMs) * rate) / 1000;
  if (r.rtpTimeAtStart === null || into >= r.frames) return null;
  return rtpDiff(r.rtpTimeAtStart, ref) + into;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The rooms' sync over true instants fromMs..toMs, every stepMs. Rooms playing silence or nothing
 * at an instant are left out of it; the first room is the reference of the offsets (a room never
 * playing with it has none). Null when no instant had two rooms playing.
 */
export function syncOver(
  rooms: Array<{ room: string; records: readonly SimBlockRecord[] }>,
  rate: number,
  fromMs: number,
  toMs: number,
  stepMs = 100,
): SyncWindow | null {
  const spreads: number[] = [];
  const per = new Map<string, number[]>(rooms.map((r) => [r.room, []]));
  let ref: number | undefined;
  for (let w = fromMs; w <= toMs; w += stepMs) {
    const at: Array<{ room: string; frames: number }> = [];
    for (const { room, records } of rooms) {
      if (ref === undefined) {
        const i = lastAtOrBefore(records, w);
        if (i >= 0 && records[i]!.rtpTimeAtStart !== null) ref = records[i]!.rtpTimeAtStart!;
      }
      if (ref === undefined) continue;
      const f = playingAt(records, w, rate, ref);
      if (f !== null) at.push({ room, frames: f });
    }
    if (at.length < 2) continue;
    const us = at.map((x) => (x.frames / rate) * 1e6);
    spreads.push(Math.max(...us) - Math.min(...us));
    if (at[0]!.room === rooms[0]!.room) for (let k = 0; k < at.length; k++) per.get(at[k]!.room)!.push(us[k]! - us[0]!);
  }
  if (!spreads.length) return null;
  return {
    instants: spreads.length,
    rooms: [...per].filter(([, xs]) => xs.length).map(([room, xs]) => ({ room, offsetUs: Math.round(median(xs)) })),
    medianSpreadUs: Math.round(median(spreads)),
    maxSpreadUs: Math.round(Math.max(...spreads)),
    overMsPct: Math.round((1000 * spreads.filter((x) => x > 1000).length) / spreads.length) / 10,
  };
}
