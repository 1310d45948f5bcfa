// RTP time → wall time from packet arrivals alone: what a player has when the sender sends no
// usable RTCP SRs, and what the timing arbiter (timing.ts) checks SRs against. Needs no clock
// agreement with the sender: every player sees the same packets, so every player derives (nearly)
// the same floor and serves it the same way.
//
// Rules:
// - Coordinates are the arbiter's: t = frames since its first packet, d = arrival − (its first
//   arrival) − t/rate, in ms. Buckets are aligned on the absolute RTP timeline (so all players
//   bucket the same packets).
// - d is min-filtered in 250 ms buckets: jitter only adds delay, so the floor is the part every
//   receiver shares. Two estimates come from the bucket minima:
//   · the sender's rate: the slope of their lower envelope over the last 30 s (an edge of their
//     lower convex hull, as NTP/PTP skew estimators do), from 4 s of buckets on, trusted only to
//     ±RATE_NOISE_MS over the span it covers, and served moving ≤ RATE_MAX_DS per bucket: a
//     crystal's rate does not jump, while a floor that wanders or steps inside a short window
//     reads as thousands of ppm;
//   · the floor: the lowest bucket minimum of the last 8 s (and the open bucket's), carried to
//     the newest frame at that rate.
// - The line served is continuous. At every closed bucket it keeps its value at the newest frame
//   and takes the rate's slope plus one that closes the gap to the floor in ~SLEW_S, at most
//   SLEW_MAX off the rate (SLEW_MAX_YOUNG in the first 4 s) and changing ≤ SLEW_MAX_DS per bucket.
//   Real senders' floors wander and step (measured on the interop tests' taps): PulseAudio's is a
//   5 ms sawtooth each second, ffmpeg's bursts scatter 250 ms minima over 6 ms, PipeWire's steps
//   +5.3 ms (a quantum) whenever its graph misses a cycle. Served as jumps, or as slopes fitted
//   over 2 s, each became a pitch bend of up to 6000 ppm (a 6 Hz error on a 1 kHz tone, replayed
//   from the captures); slewed, a step costs that much lead for some seconds and no sound.
// - The floor's lowest minima of two successive 2 s (LEVEL_BUCKETS) more than LEVEL_STEP_MS apart:
//   it moved to a new level. The buckets before are dropped, so the rate's fit never reads the
//   move as a slope and the floor is the new level's at once (the line slews there).
// - A gap over stepMs is taken at once and reported ('shifted'): the floor of the last second
//   (STEP_BUCKETS) that far above the line (packets that much later: the lead is going), or the
//   floor that far below it. The playout re-anchors (a fade) rather than let the lead run out.
//   The buckets before are dropped: floor and rate fit start again on the new level.
// - Every bound is a pure function of the packets, so the players of a stream serve alike.

const FLOOR_BUCKETS = 32;
const YOUNG_BUCKETS = 16;
const STEP_BUCKETS = 4;
const LEVEL_BUCKETS = 8;
const LEVEL_STEP_MS = 1.5;
const SLEW_S = 0.5;
const SLEW_MAX = 300e-6;
const SLEW_MAX_YOUNG = 400e-6;
const SLEW_MAX_DS = 50e-6;
const RATE_NOISE_MS = 3;
const RATE_MAX_DS = 5e-6;

export interface ArrivalMappingOptions {
  bucketMs?: number;
  arrivalWindowMs?: number;
  /** Fewest buckets for a rate fit (default 16: 4 s). */
  minBuckets?: number;
  /** A gap between the served line and the floor larger than this is a step, not slewed (ms; default 10). */
  stepMs?: number;
}

/** wall(t) = wa + (t − ta)·k (ms per frame). */
export interface Line {
  ta: number;
  wa: number;
  k: number;
}

/** What one packet did to the mapping: nothing yet, closed a bucket, or closed one and stepped the line. */
export type ArrivalUpdate = 'open' | 'closed' | 'shifted';

/**
 * The line under every point (x sorted ascending) that is highest at the points' mean x: slope of
 * the lower hull's edge over the mean, clamped to ±lim; returned as y = my + k·(x − mx).
 */
function lowerEnvelope(
  xs: Float64Array,
  ys: Float64Array,
  n: number,
  lim: number,
  hull: Int32Array,
): { mx: number; my: number; k: number } {
  let mx = 0;
  for (let i = 0; i < n; i++) mx += xs[i]!;
  mx /= n;
  // Andrew's monotone chain, lower half.
  let h = 0;
  for (let i = 0; i < n; i++) {
    while (h >= 2) {
      const a = hull[h - 2]!,
        b = hull[h - 1]!;
      const cross = (xs[b]! - xs[a]!) * (ys[i]! - ys[a]!) - (ys[b]! - ys[a]!) * (xs[i]! - xs[a]!);
      if (cross > 0) break;
      h--;
    }
    hull[h++] = i;
  }
  let k = 0;
  for (let j = 0; j + 1 < h; j++) {
    const a = hull[j]!,
      b = hull[j + 1]!;
    if (xs[b]! >= mx || j + 2 === h) {
      k = xs[b]! > xs[a]! ? (ys[b]! - ys[a]!) / (xs[b]! - xs[a]!) : 0;
      break;
    }
  }
  k = Math.min(lim, Math.max(-lim, k));
  let off = Infinity;
  for (let i = 0; i < n; i++) off = Math.min(off, ys[i]! - k * (xs[i]! - mx));
  return { mx, my: off, k };
}

export class ArrivalMapping {
  private rate: number;
  private readonly maxDrift: number;
  private readonly bucketMs: number;
  private readonly maxBuckets: number;
  private readonly minBuckets: number;
  private readonly stepMs: number;
  // Buckets: t of the minimum and its d.
  private readonly bts: Float64Array;
  private readonly bd: Float64Array;
  private bHead = 0;
  private bCount = 0;
  private curBucket = NaN;
  private curMinD = Infinity;
  private curMinTs = 0;
  private runMinD = Infinity;
  private lastT = 0;
  /** Buckets closed since the start (the first YOUNG_BUCKETS are the mapping's youth). */
  private closed = 0;
  /** The rate served: d's slope per frame as a fraction of k0 (a slow sender's floor climbs: > 0). */
  private s = 0;
  /** The served line's slope beside the rate, closing the gap to the floor (fraction of k0). */
  private slew = 0;
  /** The line served (see serve), and the floor it follows (both wall = wa + (t − ta)·k). */
  private line: Line | null = null;
  private floorLine: Line | null = null;
  private readonly scratchX: Float64Array;
  private readonly scratchY: Float64Array;
  private readonly hull: Int32Array;

  constructor(rate: number, maxDrift: number, o: ArrivalMappingOptions = {}) {
    this.rate = rate;
    this.maxDrift = maxDrift;
    this.bucketMs = o.bucketMs ?? 250;
    this.maxBuckets = Math.max(8, Math.round((o.arrivalWindowMs ?? 30000) / this.bucketMs));
    this.minBuckets = Math.min(this.maxBuckets, o.minBuckets ?? 16);
    this.stepMs = o.stepMs ?? 10;
    this.bts = new Float64Array(this.maxBuckets);
    this.bd = new Float64Array(this.maxBuckets);
    this.scratchX = new Float64Array(this.maxBuckets);
    this.scratchY = new Float64Array(this.maxBuckets);
    this.hull = new Int32Array(this.maxBuckets);
  }

  reset(rate = this.rate): void {
    this.rate = rate;
    this.bHead = this.bCount = 0;
    this.curBucket = NaN;
    this.curMinD = this.runMinD = Infinity;
    this.line = this.floorLine = null;
    this.s = this.slew = 0;
    this.lastT = this.closed = 0;
  }

  private get k0(): number {
    return 1000 / this.rate;
  }

  /** One packet: `ts` its absolute (unwrapped) frame, `t` the same since the first packet, `d` its delay. */
  add(ts: number, t: number, d: number): ArrivalUpdate {
    if (t > this.lastT) this.lastT = t;
    if (d < this.runMinD) this.runMinD = d;
    const bucketFrames = Math.max(1, Math.round((this.rate * this.bucketMs) / 1000));
    const bucket = Math.floor(ts / bucketFrames);
    if (bucket !== this.curBucket) {
      if (bucket < this.curBucket) return 'open'; // a straggler from a closed bucket: its minimum is settled
      const closing = Number.isFinite(this.curMinD);
      if (closing) this.pushBucket();
      this.curBucket = bucket;
      this.curMinD = d;
      this.curMinTs = t;
      return closing ? this.serve() : 'open';
    }
    if (d < this.curMinD) {
      this.curMinD = d;
      this.curMinTs = t;
    }
    return 'open';
  }

  private pushBucket(): void {
    const i = (this.bHead + this.bCount) % this.maxBuckets;
    this.bts[i] = this.curMinTs;
    this.bd[i] = this.curMinD;
    if (this.bCount < this.maxBuckets) this.bCount++;
    else this.bHead = (this.bHead + 1) % this.maxBuckets;
    this.closed++;
  }

  /** The rate's fit over the window (see the rules): moves the served rate `s` by at most RATE_MAX_DS. */
  private fitRate(): void {
    if (this.bCount < this.minBuckets) return;
    for (let k = 0; k < this.bCount; k++) {
      const j = (this.bHead + k) % this.maxBuckets;
      this.scratchX[k] = this.bts[j]!;
      this.scratchY[k] = this.bd[j]!;
    }
    const f = lowerEnvelope(this.scratchX, this.scratchY, this.bCount, this.k0 * this.maxDrift, this.hull);
    const spanMs = (this.scratchX[this.bCount - 1]! - this.scratchX[0]!) * this.k0;
    if (!(spanMs > 0)) return;
    const trust = Math.min(this.maxDrift, RATE_NOISE_MS / spanMs);
    const fit = Math.min(trust, Math.max(-trust, f.k / this.k0));
    this.s += Math.min(RATE_MAX_DS, Math.max(-RATE_MAX_DS, fit - this.s));
  }

  /**
   * The floor moved to a new level (a sender's timing step): the lowest minimum of the last
   * LEVEL_BUCKETS buckets and that of the LEVEL_BUCKETS before differ by over LEVEL_STEP_MS. The
   * older buckets are dropped, so the rate's fit never reads the step as a slope and the floor
   * moves to the new level; the served line slews there (or steps: see serve).
   */
  private levelMoved(): void {
    if (this.bCount < 2 * LEVEL_BUCKETS) return;
    const older = this.lowest(this.bCount - 2 * LEVEL_BUCKETS, this.bCount - LEVEL_BUCKETS);
    const newer = this.lowest(this.bCount - LEVEL_BUCKETS, this.bCount);
    if (Math.abs(newer - older) <= LEVEL_STEP_MS) return;
    this.bHead = (this.bHead + this.bCount - LEVEL_BUCKETS) % this.maxBuckets;
    this.bCount = LEVEL_BUCKETS;
  }

  /**
   * The lowest of the bucket minima from..to (window order), each carried to the newest frame at
   * the served rate (d − s·(t − tc)); with `open`, the open bucket's minimum too.
   */
  private lowest(from: number, to: number, open = false): number {
    const ks = this.s * this.k0;
    const tc = this.lastT;
    let low = open ? this.curMinD - ks * (this.curMinTs - tc) : Infinity;
    for (let k = Math.max(0, from); k < to; k++) {
      const j = (this.bHead + k) % this.maxBuckets;
      low = Math.min(low, this.bd[j]! - ks * (this.bts[j]! - tc));
    }
    return low;
  }

  /** A bucket closed: refits the rate, finds the floor, and moves the served line toward it. */
  private serve(): ArrivalUpdate {
    this.levelMoved();
    this.fitRate();
    const tc = this.lastT;
    const ks = this.s * this.k0;
    // The floor at tc: the lowest minimum of the last FLOOR_BUCKETS buckets and the open one.
    let floor = this.lowest(this.bCount - FLOOR_BUCKETS, this.bCount, true);
    const rateK = this.k0 + ks;
    const line = this.line;
    const cur = line ? line.wa + (tc - line.ta) * line.k - tc * this.k0 : NaN;
    // A step: the floor of the last second above the line by more than stepMs (packets that much
    // later: the lead is going), or the floor below it by as much. The buckets before are dropped,
    // so the floor and the rate's fit start again on the new level.
    const recent = this.lowest(this.bCount - STEP_BUCKETS, this.bCount, true);
    const step = recent - cur > this.stepMs ? recent : floor - cur < -this.stepMs ? floor : NaN;
    if (!Number.isNaN(step)) {
      const keep = Math.min(this.bCount, STEP_BUCKETS);
      this.bHead = (this.bHead + this.bCount - keep) % this.maxBuckets;
      this.bCount = keep;
      floor = step;
    }
    this.floorLine = { ta: tc, wa: floor + tc * this.k0, k: rateK };
    if (!line || !Number.isFinite(cur) || !Number.isNaN(step)) {
      this.line = { ...this.floorLine };
      this.slew = 0;
      return line && Number.isFinite(cur) ? 'shifted' : 'closed';
    }
    const gap = floor - cur;
    const lim = this.closed < YOUNG_BUCKETS ? SLEW_MAX_YOUNG : SLEW_MAX;
    // Closes the gap in ~SLEW_S, and no faster than it can brake at SLEW_MAX_DS per bucket: a
    // slope v served for a bucket, then v − δ, … covers v²/2δ + v/2 bucket-lengths of gap.
    const g = Math.abs(gap) / this.bucketMs;
    const d = SLEW_MAX_DS;
    const brake = Math.max(0, Math.sqrt((d * d) / 4 + 2 * d * g) - d / 2);
    const size = Math.min(lim, Math.abs(gap) / (SLEW_S * 1000), brake);
    const want = Math.sign(gap) * size;
    this.slew += Math.min(SLEW_MAX_DS, Math.max(-SLEW_MAX_DS, want - this.slew));
    this.line = { ta: tc, wa: cur + tc * this.k0, k: rateK + this.slew * this.k0 };
    return 'closed';
  }

  /** Wall instant of frame t, relative to the first arrival (ms): the line served; null before any packet. */
  wall(t: number): number | null {
    if (this.line) return this.line.wa + (t - this.line.ta) * this.line.k;
    if (!Number.isFinite(this.runMinD)) return null;
    return this.runMinD + t * this.k0;
  }

  /** The same from the floor itself (what the served line follows): for judging SRs against. */
  floor(t: number): number | null {
    if (this.floorLine) return this.floorLine.wa + (t - this.floorLine.ta) * this.floorLine.k;
    return this.wall(t);
  }

  /** ms per source frame served. */
  msPerFrame(): number {
    return this.line ? this.line.k : this.k0;
  }
}
