// RTP time → sender wall time from RTCP sender reports: exact for a sender whose wall clock is
// disciplined like ours; whether it steers playout is the timing arbiter's call (timing.ts).
//
// Rules:
// - A least-squares line through the last 16 SRs (≥ 0.9 s apart at the ends, else the newest SR
//   at the nominal rate; 0.9 so that two SRs sent "every second" by a clock a little fast already
//   give the slope, not three), anchored on the newest SR (exact by construction), slope clamped
//   to ±maxDrift of nominal.
// - SRs must move forward in sender time; a repeated or older one is ignored.
// - t is the arbiter's frame coordinate (frames since its first packet); walls are the sender's.

const SR_FIT_SPAN_MS = 900;

import type { Line } from './arrival-mapping.ts';

/** Least squares y = my + k·(x − mx), k clamped to center ± lim. */
function fitLine(xs: Float64Array, ys: Float64Array, n: number, center: number, lim: number): { mx: number; my: number; k: number } {
  let mx = 0,
    my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i]!;
    my += ys[i]!;
  }
  mx /= n;
  my /= n;
  let sxx = 0,
    sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    sxx += dx * dx;
    sxy += dx * (ys[i]! - my);
  }
  let k = sxx > 0 ? sxy / sxx : center;
  k = Math.min(center + lim, Math.max(center - lim, k));
  return { mx, my, k };
}

export class SrMapping {
  private rate: number;
  private readonly maxDrift: number;
  private readonly maxSr: number;
  // Reports (t, sender wall relative to wallRef).
  private readonly sts: Float64Array;
  private readonly sw: Float64Array;
  private sHead = 0;
  private sCount = 0;
  private wallRef = NaN;
  private line: Line | null = null;
  private lastWall = -Infinity;
  /** Newest SR's NTP time minus its arrival (ms; NaN when the arrival was not given). */
  private lastLead = NaN;
  private readonly scratchX: Float64Array;
  private readonly scratchY: Float64Array;

  constructor(rate: number, maxDrift: number, maxSenderReports = 16) {
    this.rate = rate;
    this.maxDrift = maxDrift;
    this.maxSr = maxSenderReports;
    this.sts = new Float64Array(this.maxSr);
    this.sw = new Float64Array(this.maxSr);
    this.scratchX = new Float64Array(this.maxSr);
    this.scratchY = new Float64Array(this.maxSr);
  }

  reset(rate = this.rate): void {
    this.rate = rate;
    this.sHead = this.sCount = 0;
    this.wallRef = NaN;
    this.line = null;
    this.lastWall = -Infinity;
    this.lastLead = NaN;
  }

  /** Whether an SR stamped `wallMs` would be taken (finite, newer than the last one). */
  accepts(wallMs: number): boolean {
    return Number.isFinite(wallMs) && wallMs > this.lastWall;
  }

  /** Frame t was sampled at sender wall `wallMs`; the SR arrived at `arrivalWallMs` (our wall, optional). */
  add(t: number, wallMs: number, arrivalWallMs?: number): void {
    this.lastWall = wallMs;
    this.lastLead = arrivalWallMs !== undefined && Number.isFinite(arrivalWallMs) ? wallMs - arrivalWallMs : NaN;
    if (Number.isNaN(this.wallRef)) this.wallRef = wallMs;
    const i = (this.sHead + this.sCount) % this.maxSr;
    this.sts[i] = t;
    this.sw[i] = wallMs - this.wallRef;
    if (this.sCount < this.maxSr) this.sCount++;
    else this.sHead = (this.sHead + 1) % this.maxSr;
    const n = this.sCount;
    const k0 = 1000 / this.rate;
    const first = this.sHead,
      last = (this.sHead + n - 1) % this.maxSr;
    if (n >= 2 && this.sw[last]! - this.sw[first]! >= SR_FIT_SPAN_MS) {
      for (let k = 0; k < n; k++) {
        const j = (this.sHead + k) % this.maxSr;
        this.scratchX[k] = this.sts[j]!;
        this.scratchY[k] = this.sw[j]!;
      }
      const f = fitLine(this.scratchX, this.scratchY, n, k0, k0 * this.maxDrift);
      // Anchor on the newest SR (exact by construction) with the fitted slope.
      this.line = { ta: this.sts[last]!, wa: this.sw[last]!, k: f.k };
    } else {
      this.line = { ta: this.sts[last]!, wa: this.sw[last]!, k: k0 };
    }
  }

  /** Whether any SR has been taken. */
  has(): boolean {
    return this.line !== null;
  }

  /** Frame of the newest SR (NaN before any). */
  newestT(): number {
    return this.line ? this.line.ta : NaN;
  }

  /** Newest SR's sender time minus its arrival in our wall clock (ms; NaN if unknown). */
  lead(): number {
    return this.lastLead;
  }

  /** Sender wall instant of frame t (ms), or null before any SR. */
  wall(t: number): number | null {
    if (!this.line) return null;
    return this.wallRef + this.line.wa + (t - this.line.ta) * this.line.k;
  }

  /** ms per source frame (the fitted slope); NaN before any SR. */
  msPerFrame(): number {
    return this.line ? this.line.k : NaN;
  }
}
