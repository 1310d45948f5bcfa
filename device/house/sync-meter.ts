// The demo's true sync figure, measured outside the players: each room's simulated DAC records
// the wall instant each block reaches its "analog" side and the RTP time it carries. At one wall
// instant W the RTP time each room is playing follows from its latest block; the spread across
// rooms is how far apart they sound. Not a player's estimate of itself.
import type { SimBlockRecord } from '../hal/audio-out.sim.ts';

export interface RoomOffset { room: string; offsetUs: number }

/** Signed difference of two 32-bit RTP times (a − b), wrap-safe. */
function rtpDiff(a: number, b: number): number {
  let d = (a - b) % 2 ** 32;
  if (d >= 2 ** 31) d -= 2 ** 32;
  if (d < -(2 ** 31)) d += 2 ** 32;
  return d;
}

/**
 * Each room's offset (µs) from the first room, at the latest instant every room has played. Rooms
 * with no record carrying RTP time (not playing) are left out; fewer than two rooms give [].
 */
export function roomOffsets(rooms: Array<{ room: string; records: readonly SimBlockRecord[] }>, rate: number): RoomOffset[] {
  const latest: Array<{ room: string; r: SimBlockRecord }> = [];
  for (const { room, records } of rooms) {
    for (let i = records.length - 1; i >= 0 && i >= records.length - 50; i--) {
      const r = records[i]!;
      if (r.rtpTimeAtStart !== null) { latest.push({ room, r }); break; }
    }
  }
  if (latest.length < 2) return [];
  // RTP time playing at wall instant w: the block's RTP time plus the frames since it started.
  const w = Math.min(...latest.map((x) => x.r.wallMs));
  const ref = latest[0]!.r;
  const frames = (r: SimBlockRecord) => rtpDiff(r.rtpTimeAtStart!, ref.rtpTimeAtStart!) + ((w - r.wallMs) * rate) / 1000;
  const base = frames(ref);
  return latest.map(({ room, r }) => ({ room, offsetUs: Math.round(((frames(r) - base) / rate) * 1e6) }));
}
