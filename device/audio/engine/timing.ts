// RTP time → wall time for one stream: from RTCP sender reports when the sender sends them, else
// from filtered packet arrival times. Every player of a stream sees the same packets and SRs, so
// every player derives (nearly) the same mapping; that is what puts rooms in sync.
//
// Rules:
// - Timestamps here are unwrapped source frames (the jitter buffer's timeline); wall times are the
//   shared wall clock in ms. `wallOf(ts)` is the wall instant of source frame ts: its capture time
//   per the sender's SRs, or (without SRs) its earliest plausible arrival.
// - Sender reports: a least-squares line through the last 16 SRs (≥ 0.9 s apart at the ends, else
//   the newest SR at the nominal rate; 0.9 so that two SRs sent "every second" by a clock a little
//   fast already give the slope, not three). SRs steer playout only while they are consistent with what
//   arrives. The check is the apparent delay: the arrival floor of packet ends minus the instant
//   the SR line says those frames were captured, at the newest SR. A truthful SR from a
//   disciplined clock makes it the network floor: ≥ 0 and small. Trusted when it lies in
//   [−srEarlyMs, srTrustMs] (default −3…+250 ms), and the newest SR's NTP time is not later
//   than its own arrival by more than srEarlyMs. Once trusted, kept while inside twice that band:
//   hysteresis, so the mapping never flaps. Judged at every SR and every closed arrival bucket.
//   Rejected SRs leave the arrival mapping in charge. Why:
//   · a sender clock hours or seconds off would mute or stall every player (late side);
//   · packets arriving before the SR says their audio was captured mean the SR's RTP↔NTP pairing
//     is not the packets' clock. ffmpeg's RTP muxer does that: it derives the SR's RTP time from
//     its NTP clock since its first RTCP, while `-re` releases each 1024-frame input block as soon
//     as the block's first frame is due, so every packet end arrives ~21 ms before its SR-implied
//     capture. Switching from arrivals to that mapping jumps 21 ms: a re-anchor (fade, jump)
//     that measured THD+N −16 dB over its third of a second (−37 dB over a 0.68 s window).
// - Arrivals: d = arrival − ts/rate is min-filtered in 250 ms buckets aligned on the RTP timeline
//   (so all players bucket the same packets). Jitter only adds delay, so the floor is the stable
//   part every receiver shares: the line is the lower envelope of the last 30 s of bucket minima —
//   the line under all of them that is highest at their centre (an edge of their lower convex
//   hull, as NTP/PTP skew estimators do) — whose precision grows with every packet in the window,
//   not just with the number of buckets. From 8 buckets on; before that the running minimum at
//   the nominal rate.
// - The arrival line served is continuous: each refit is followed from the newest frame on, its
//   gap closed in ~SLEW_S with the served slope moving ≤ 50 ppm per refit (slewTo). A gap over
//   2 ms is taken at once. A sender whose pacing wanders (ffmpeg: ±0.3 ms over seconds) moves
//   the hull fit by up to 0.6 ms per refit; served as jumps, each became a frequency step.
// - Sender drift (ppm) is the served slope; it is clamped to ±2000 ppm.

const MAX_DRIFT = 2000e-6;
const SLEW_S = 2;
const SR_FIT_SPAN_MS = 900;
const LEVEL_BUCKETS = 4;
const LEVEL_STEP_MS = 1.5;
const SLEW_MAX_MS = 2;
const SLEW_MAX_DK = 50e-6;

export type TimingSource = 'rtcp' | 'arrival';

export interface StreamTimingOptions {
  bucketMs?: number;
  arrivalWindowMs?: number;
  minBuckets?: number;
  maxSenderReports?: number;
  /** Largest apparent delay (arrival floor − SR capture instant) for SRs to be trusted (ms). */
  srTrustMs?: number;
  /** How far before the SR-implied capture instant packets may arrive for SRs to be trusted (ms). */
  srEarlyMs?: number;
}

interface Line { /** wall(ts) = wa + (ts − ta)·k (ms per frame) */ ta: number; wa: number; k: number }

/**
 * The line under every point (x sorted ascending) that is highest at the points' mean x: slope of
 * the lower hull's edge over the mean, clamped to ±lim; returned as y = my + k·(x − mx).
 */
function lowerEnvelope(xs: Float64Array, ys: Float64Array, n: number, lim: number, hull: Int32Array): { mx: number; my: number; k: number } {
  let mx = 0;
  for (let i = 0; i < n; i++) mx += xs[i]!;
  mx /= n;
  // Andrew's monotone chain, lower half.
  let h = 0;
  for (let i = 0; i < n; i++) {
    while (h >= 2) {
      const a = hull[h - 2]!, b = hull[h - 1]!;
      const cross = (xs[b]! - xs[a]!) * (ys[i]! - ys[a]!) - (ys[b]! - ys[a]!) * (xs[i]! - xs[a]!);
      if (cross > 0) break;
      h--;
    }
    hull[h++] = i;
  }
  let k = 0;
  for (let j = 0; j + 1 < h; j++) {
    const a = hull[j]!, b = hull[j + 1]!;
    if (xs[b]! >= mx || j + 2 === h) { k = xs[b]! > xs[a]! ? (ys[b]! - ys[a]!) / (xs[b]! - xs[a]!) : 0; break; }
  }
  k = Math.min(lim, Math.max(-lim, k));
  let off = Infinity;
  for (let i = 0; i < n; i++) off = Math.min(off, ys[i]! - k * (xs[i]! - mx));
  return { mx, my: off, k };
}

/** Least squares y = my + k·(x − mx), k clamped to center ± lim. */
function fitLine(xs: Float64Array, ys: Float64Array, n: number, center: number, lim: number): { mx: number; my: number; k: number } {
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) { mx += xs[i]!; my += ys[i]!; }
  mx /= n; my /= n;
  let sxx = 0, sxy = 0;
  for (let i = 0; i < n; i++) { const dx = xs[i]! - mx; sxx += dx * dx; sxy += dx * (ys[i]! - my); }
  let k = sxx > 0 ? sxy / sxx : center;
  k = Math.min(center + lim, Math.max(center - lim, k));
  return { mx, my, k };
}

export class StreamTiming {
  private rate: number;
  private readonly bucketMs: number;
  private readonly maxBuckets: number;
  private readonly minBuckets: number;
  private readonly maxSr: number;
  private readonly srTrustMs: number;
  private readonly srEarlyMs: number;
  // Arrival buckets: ts of the minimum (relative to ref) and its d (relative to dRef).
  private readonly bts: Float64Array;
  private readonly bd: Float64Array;
  private bHead = 0;
  private bCount = 0;
  private curBucket = NaN;
  private curMinD = Infinity;
  private curMinTs = 0;
  private runMinD = Infinity;
  private runMinTs = 0;
  private tsRef = NaN;
  private dRef = 0;
  /** The line the mapping serves: follows the fitted hull line continuously (see slewTo). */
  private arrivalLine: Line | null = null;
  private lastT = 0;
  // Sender reports (relative to tsRef / srWallRef).
  private readonly sts: Float64Array;
  private readonly sw: Float64Array;
  private sHead = 0;
  private sCount = 0;
  private srWallRef = NaN;
  private srLine: Line | null = null;
  /** Steps of the mapping (mappingSteps), and the source when last judged. */
  private steps = 0;
  private judgedSource: TimingSource | null = null;
  private lastSrWall = -Infinity;
  /** Newest SR's NTP time minus its arrival (ms; NaN when the arrival was not given). */
  private lastSrLead = NaN;
  private srOk = false;
  private scratchX: Float64Array;
  private scratchY: Float64Array;
  private readonly hull: Int32Array;

  constructor(rate: number, o: StreamTimingOptions = {}) {
    this.rate = rate;
    this.bucketMs = o.bucketMs ?? 250;
    this.maxBuckets = Math.max(8, Math.round((o.arrivalWindowMs ?? 30000) / this.bucketMs));
    this.minBuckets = o.minBuckets ?? 8;
    this.maxSr = o.maxSenderReports ?? 16;
    this.srTrustMs = o.srTrustMs ?? 250;
    this.srEarlyMs = o.srEarlyMs ?? 3;
    this.bts = new Float64Array(this.maxBuckets);
    this.bd = new Float64Array(this.maxBuckets);
    this.sts = new Float64Array(this.maxSr);
    this.sw = new Float64Array(this.maxSr);
    this.scratchX = new Float64Array(Math.max(this.maxBuckets, this.maxSr));
    this.scratchY = new Float64Array(Math.max(this.maxBuckets, this.maxSr));
    this.hull = new Int32Array(this.maxBuckets);
  }

  reset(rate = this.rate): void {
    this.rate = rate;
    this.bHead = this.bCount = 0;
    this.curBucket = NaN;
    this.curMinD = this.runMinD = Infinity;
    this.tsRef = NaN;
    this.arrivalLine = null;
    this.lastT = 0;
    this.sHead = this.sCount = 0;
    this.srWallRef = NaN;
    this.srLine = null;
    this.judgedSource = null;
    this.lastSrWall = -Infinity;
    this.lastSrLead = NaN;
    this.srOk = false;
  }

  private get k0(): number { return 1000 / this.rate; }

  /**
   * A packet arrived at `arrivalWallMs`; `ts` is the (unwrapped) timeline point it stands for —
   * the playout passes the frame just after its last one, which the sender had captured when it sent.
   */
  onPacket(ts: number, arrivalWallMs: number): void {
    if (!Number.isFinite(ts) || !Number.isFinite(arrivalWallMs)) return;
    if (Number.isNaN(this.tsRef)) { this.tsRef = ts; this.dRef = arrivalWallMs; }
    const t = ts - this.tsRef;
    const d = arrivalWallMs - this.dRef - t * this.k0;
    if (t > this.lastT) this.lastT = t;
    if (d < this.runMinD) { this.runMinD = d; this.runMinTs = t; }
    const bucketFrames = Math.max(1, Math.round((this.rate * this.bucketMs) / 1000));
    const bucket = Math.floor(ts / bucketFrames);
    if (bucket !== this.curBucket) {
      if (bucket < this.curBucket) return; // a straggler from a closed bucket: its minimum is settled
      if (Number.isFinite(this.curMinD)) this.closeBucket();
      this.curBucket = bucket;
      this.curMinD = Infinity;
    }
    if (d < this.curMinD) { this.curMinD = d; this.curMinTs = t; }
  }

  private closeBucket(): void {
    const i = (this.bHead + this.bCount) % this.maxBuckets;
    this.bts[i] = this.curMinTs;
    this.bd[i] = this.curMinD;
    if (this.bCount < this.maxBuckets) this.bCount++;
    else this.bHead = (this.bHead + 1) % this.maxBuckets;
    if (this.levelShifted()) { this.judgeSr(); return; }
    if (this.bCount >= this.minBuckets) {
      for (let k = 0; k < this.bCount; k++) {
        const j = (this.bHead + k) % this.maxBuckets;
        this.scratchX[k] = this.bts[j]!;
        this.scratchY[k] = this.bd[j]!;
      }
      const f = lowerEnvelope(this.scratchX, this.scratchY, this.bCount, this.k0 * MAX_DRIFT, this.hull);
      // d = my + s·(t − mx) with s the drift of d; wall = dRef + t·k0 + d.
      this.slewTo({ ta: f.mx, wa: f.my + f.mx * this.k0, k: this.k0 + f.k });
    }
    this.judgeSr();
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
    const line = this.arrivalLine;
    if (!line || this.bCount < LEVEL_BUCKETS + 2) return false;
    let side = 0;
    let lowest = Infinity;
    const tc = this.lastT;
    for (let k = this.bCount - LEVEL_BUCKETS; k < this.bCount; k++) {
      const j = (this.bHead + k) % this.maxBuckets;
      const t = this.bts[j]!, d = this.bd[j]!;
      const off = d - (line.wa + (t - line.ta) * line.k - t * this.k0);
      const s = off > LEVEL_STEP_MS ? 1 : off < -LEVEL_STEP_MS ? -1 : 0;
      if (s === 0 || (side !== 0 && s !== side)) return false;
      side = s;
      lowest = Math.min(lowest, d - (t - tc) * (line.k - this.k0)); // the bucket's level at tc
    }
    this.bHead = (this.bHead + this.bCount - LEVEL_BUCKETS) % this.maxBuckets;
    this.bCount = LEVEL_BUCKETS;
    this.arrivalLine = { ta: tc, wa: lowest + tc * this.k0, k: line.k };
    if (!this.srTrusted()) this.steps++;
    return true;
  }

  /**
   * How many times the mapping in charge stepped rather than drifted: the source changed between
   * arrivals and SRs, or the arrival floor moved while arrivals were in charge (levelShifted).
   * The playout re-anchors on a step instead of slewing it.
   */
  mappingSteps(): number { return this.steps; }

  /**
   * Serves a newly fitted arrival line without a jump: from the newest frame on, the served line
   * keeps its current value and takes the fitted slope plus the slope that closes the gap in
   * SLEW_S (re-fitted every bucket, so the gap decays exponentially), changed by at most
   * SLEW_MAX_DK per refit. A phase step here would be answered by the drift loop with a frequency
   * step. Gaps over SLEW_MAX_MS are real changes: taken at once.
   */
  private slewTo(fit: Line): void {
    const tc = this.lastT;
    const prev = this.arrivalLine ?? { ta: 0, wa: this.runMinD, k: this.k0 };
    const cur = prev.wa + (tc - prev.ta) * prev.k;
    const gap = fit.wa + (tc - fit.ta) * fit.k - cur;
    if (!Number.isFinite(cur) || Math.abs(gap) > SLEW_MAX_MS) { this.arrivalLine = fit; return; }
    const dk = SLEW_MAX_DK * this.k0;
    const k = Math.min(prev.k + dk, Math.max(prev.k - dk, fit.k + gap / (SLEW_S * this.rate)));
    this.arrivalLine = { ta: tc, wa: cur, k };
  }

  /**
   * An RTCP SR of the locked source: RTP time `ts` (unwrapped) was sampled at sender wall `wallMs`;
   * the SR arrived at `arrivalWallMs` (our wall clock; optional, for the future-report check).
   */
  onSenderReport(ts: number, wallMs: number, arrivalWallMs?: number): void {
    if (!Number.isFinite(ts) || !Number.isFinite(wallMs) || wallMs <= this.lastSrWall) return;
    if (Number.isNaN(this.tsRef)) return; // no packets yet: nothing to unwrap against
    this.lastSrWall = wallMs;
    this.lastSrLead = arrivalWallMs !== undefined && Number.isFinite(arrivalWallMs) ? wallMs - arrivalWallMs : NaN;
    if (Number.isNaN(this.srWallRef)) this.srWallRef = wallMs;
    const i = (this.sHead + this.sCount) % this.maxSr;
    this.sts[i] = ts - this.tsRef;
    this.sw[i] = wallMs - this.srWallRef;
    if (this.sCount < this.maxSr) this.sCount++;
    else this.sHead = (this.sHead + 1) % this.maxSr;
    const n = this.sCount;
    const first = this.sHead, last = (this.sHead + n - 1) % this.maxSr;
    if (n >= 2 && this.sw[last]! - this.sw[first]! >= SR_FIT_SPAN_MS) {
      for (let k = 0; k < n; k++) {
        const j = (this.sHead + k) % this.maxSr;
        this.scratchX[k] = this.sts[j]!;
        this.scratchY[k] = this.sw[j]!;
      }
      const f = fitLine(this.scratchX, this.scratchY, n, this.k0, this.k0 * MAX_DRIFT);
      // Anchor on the newest SR (exact by construction) with the fitted slope.
      this.srLine = { ta: this.sts[last]!, wa: this.sw[last]!, k: f.k };
    } else {
      this.srLine = { ta: this.sts[last]!, wa: this.sw[last]!, k: this.k0 };
    }
    this.judgeSr();
  }

  private arrivalWall(t: number): number | null {
    if (this.arrivalLine) return this.dRef + this.arrivalLine.wa + (t - this.arrivalLine.ta) * this.arrivalLine.k;
    if (!Number.isFinite(this.runMinD)) return null;
    return this.dRef + this.runMinD + t * this.k0;
  }

  private srWall(t: number): number | null {
    if (!this.srLine) return null;
    return this.srWallRef + this.srLine.wa + (t - this.srLine.ta) * this.srLine.k;
  }

  /**
   * Apparent delay under the SR mapping at the newest SR (ms): arrival floor of packet ends minus
   * the SR line's capture instant. NaN without both mappings.
   */
  srDelayMs(): number {
    if (!this.srLine) return NaN;
    const t = this.srLine.ta;
    const a = this.arrivalWall(t);
    const s = this.srWall(t);
    return a === null || s === null ? NaN : a - s;
  }

  /** Re-decides whether SRs steer (see the rules above); called on every SR and closed bucket. */
  private judgeSr(): void {
    const delay = this.srDelayMs();
    if (Number.isNaN(delay)) { this.srOk = false; this.noteSource(); return; }
    // Trusted SRs keep their trust inside a band twice as wide (hysteresis).
    const early = this.srOk ? 2 * this.srEarlyMs : this.srEarlyMs;
    const late = this.srOk ? 2 * this.srTrustMs : this.srTrustMs;
    const lead = Number.isNaN(this.lastSrLead) ? 0 : this.lastSrLead;
    this.srOk = delay >= -early && delay <= late && lead <= early;
    this.noteSource();
  }

  /** Counts a change between two sources as a step (not the first mapping of a stream). */
  private noteSource(): void {
    const src = this.source();
    if (src === this.judgedSource) return;
    if (this.judgedSource !== null && src !== null) this.steps++;
    this.judgedSource = src;
  }

  private srTrusted(): boolean { return this.srOk && this.srLine !== null; }

  source(): TimingSource | null {
    if (this.srTrusted()) return 'rtcp';
    return this.arrivalWall(0) === null ? null : 'arrival';
  }

  /** Wall instant (ms) of unwrapped source frame `ts`, or null before any packet. */
  wallOf(ts: number): number | null {
    if (Number.isNaN(this.tsRef)) return null;
    const t = ts - this.tsRef;
    return this.srTrusted() ? this.srWall(t) : this.arrivalWall(t);
  }

  /** Source frame (fractional, unwrapped) whose wall instant is `wallMs`, or null before any packet. */
  tsAt(wallMs: number): number | null {
    if (Number.isNaN(this.tsRef)) return null;
    const k = this.msPerFrame();
    const w0 = this.wallOf(this.tsRef);
    if (w0 === null) return null;
    return this.tsRef + (wallMs - w0) / k;
  }

  private msPerFrame(): number {
    if (this.srTrusted()) return this.srLine!.k;
    return this.arrivalLine ? this.arrivalLine.k : this.k0;
  }

  /** Source frames per wall second (the sender's true rate). */
  sourceRateHz(): number { return 1000 / this.msPerFrame(); }

  senderDriftPpm(): number { return (this.sourceRateHz() / this.rate - 1) * 1e6; }
}
