// RTP time → wall time from packet arrivals alone: what a player has when the sender sends no
// usable RTCP SRs, and what the timing arbiter (timing.ts) checks SRs against. Needs no clock
// agreement with the sender: every player sees the same packets, so every player derives (nearly)
// the same floor.
//
// Rules:
// - Coordinates are the arbiter's: t = frames since its first packet, d = arrival − (its first
//   arrival) − t/rate, in ms. Buckets are aligned on the absolute RTP timeline (so all players
//   bucket the same packets).
// - d is min-filtered in 250 ms buckets. Jitter only adds delay, so the floor is the stable part
//   every receiver shares: the line is the lower envelope of the last 30 s of bucket minima — the
//   line under all of them that is highest at their centre (an edge of their lower convex hull,
//   as NTP/PTP skew estimators do) — whose precision grows with every packet in the window, not
//   just with the number of buckets. From 8 buckets on; before that the running minimum at the
//   nominal rate.
// - The line served is continuous: each refit is followed from the newest frame on, its gap
//   closed in ~SLEW_S with the served slope moving ≤ 50 ppm per refit (slewTo). A gap over 2 ms
//   is taken at once. A sender whose pacing wanders (ffmpeg: ±0.3 ms over seconds) moves the hull
//   fit by up to 0.6 ms per refit; served as jumps, each became a frequency step.
// - The served slope is clamped to ±maxDrift of nominal.

const SLEW_S = 2;
const LEVEL_BUCKETS = 4;
const LEVEL_STEP_MS = 1.5;
const SLEW_MAX_MS = 2;
const SLEW_MAX_DK = 50e-6;

export interface ArrivalMappingOptions {
  bucketMs?: number;
  arrivalWindowMs?: number;
  minBuckets?: number;
}

/** wall(t) = wa + (t − ta)·k (ms per frame). */
export interface Line {
  ta: number;
  wa: number;
  k: number;
}

/** What one packet did to the mapping: nothing yet, closed a bucket, or closed one on a new level. */
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
  /** The line served: follows the fitted hull line continuously (see slewTo). */
  private line: Line | null = null;
  private readonly scratchX: Float64Array;
  private readonly scratchY: Float64Array;
  private readonly hull: Int32Array;

  constructor(rate: number, maxDrift: number, o: ArrivalMappingOptions = {}) {
    this.rate = rate;
    this.maxDrift = maxDrift;
    this.bucketMs = o.bucketMs ?? 250;
    this.maxBuckets = Math.max(8, Math.round((o.arrivalWindowMs ?? 30000) / this.bucketMs));
    this.minBuckets = o.minBuckets ?? 8;
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
    this.line = null;
    this.lastT = 0;
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
    let update: ArrivalUpdate = 'open';
    if (bucket !== this.curBucket) {
      if (bucket < this.curBucket) return 'open'; // a straggler from a closed bucket: its minimum is settled
      if (Number.isFinite(this.curMinD)) update = this.closeBucket();
      this.curBucket = bucket;
      this.curMinD = Infinity;
    }
    if (d < this.curMinD) {
      this.curMinD = d;
      this.curMinTs = t;
    }
    return update;
  }

  private closeBucket(): ArrivalUpdate {
    const i = (this.bHead + this.bCount) % this.maxBuckets;
    this.bts[i] = this.curMinTs;
    this.bd[i] = this.curMinD;
    if (this.bCount < this.maxBuckets) this.bCount++;
    else this.bHead = (this.bHead + 1) % this.maxBuckets;
    if (this.levelShifted()) return 'shifted';
    if (this.bCount >= this.minBuckets) {
      for (let k = 0; k < this.bCount; k++) {
        const j = (this.bHead + k) % this.maxBuckets;
        this.scratchX[k] = this.bts[j]!;
        this.scratchY[k] = this.bd[j]!;
      }
      const f = lowerEnvelope(this.scratchX, this.scratchY, this.bCount, this.k0 * this.maxDrift, this.hull);
      // d = my + s·(t − mx) with s the drift of d; wall = t·k0 + d.
      this.slewTo({ ta: f.mx, wa: f.my + f.mx * this.k0, k: this.k0 + f.k });
    }
    return 'closed';
  }

  /**
   * A sender whose timing steps (PipeWire's graph missing a cycle: from then on every packet left
   * 5.4 ms later for its RTP time, measured) moves the arrival floor by a step. The lower envelope
   * of a window holding both levels is no line: its edge over the window's middle climbed from
   * the old floor to the new one, a sender "drift" of −2000 ppm (the clamp), served for seconds,
   * and the player slewed its rooms' pitch by 4000 ppm. So: when the last LEVEL_BUCKETS bucket
   * minima all lie more than LEVEL_STEP_MS off the served line on the same side, the floor has
   * moved. The older buckets are dropped and the line keeps its slope at the new level (the
   * players of the stream all see the same step and take it alike); fitting resumes once the
   * window has minBuckets again.
   */
  private levelShifted(): boolean {
    const line = this.line;
    if (!line || this.bCount < LEVEL_BUCKETS + 2) return false;
    let side = 0;
    let lowest = Infinity;
    const tc = this.lastT;
    for (let k = this.bCount - LEVEL_BUCKETS; k < this.bCount; k++) {
      const j = (this.bHead + k) % this.maxBuckets;
      const t = this.bts[j]!,
        d = this.bd[j]!;
      const off = d - (line.wa + (t - line.ta) * line.k - t * this.k0);
      const s = off > LEVEL_STEP_MS ? 1 : off < -LEVEL_STEP_MS ? -1 : 0;
      if (s === 0 || (side !== 0 && s !== side)) return false;
      side = s;
      lowest = Math.min(lowest, d - (t - tc) * (line.k - this.k0)); // the bucket's level at tc
    }
    this.bHead = (this.bHead + this.bCount - LEVEL_BUCKETS) % this.maxBuckets;
    this.bCount = LEVEL_BUCKETS;
    this.line = { ta: tc, wa: lowest + tc * this.k0, k: line.k };
    return true;
  }

  /**
   * Serves a newly fitted line without a jump: from the newest frame on, the served line keeps
   * its current value and takes the fitted slope plus the slope that closes the gap in SLEW_S
   * (re-fitted every bucket, so the gap decays exponentially), changed by at most SLEW_MAX_DK per
   * refit. A phase step here would be answered by the drift loop with a frequency step. Gaps over
   * SLEW_MAX_MS are real changes: taken at once.
   */
  private slewTo(fit: Line): void {
    const tc = this.lastT;
    const prev = this.line ?? { ta: 0, wa: this.runMinD, k: this.k0 };
    const cur = prev.wa + (tc - prev.ta) * prev.k;
    const gap = fit.wa + (tc - fit.ta) * fit.k - cur;
    if (!Number.isFinite(cur) || Math.abs(gap) > SLEW_MAX_MS) {
      this.line = fit;
      return;
    }
    const dk = SLEW_MAX_DK * this.k0;
    const k = Math.min(prev.k + dk, Math.max(prev.k - dk, fit.k + gap / (SLEW_S * this.rate)));
    this.line = { ta: tc, wa: cur, k };
  }

  /** Wall instant of frame t, relative to the first arrival (ms); null before any packet. */
  wall(t: number): number | null {
    if (this.line) return this.line.wa + (t - this.line.ta) * this.line.k;
    if (!Number.isFinite(this.runMinD)) return null;
    return this.runMinD + t * this.k0;
  }

  /** ms per source frame served. */
  msPerFrame(): number {
    return this.line ? this.line.k : this.k0;
  }
}
