// The drift controller: a PI loop from playout phase error to a resampling-ratio correction.
// Pure numbers in, a number out; the playout engine calls it once per rendered block.
//
// Model: the phase error e (s; positive = playing behind the ideal instant) moves as
// de/dt = d − u, where d is whatever drift the feed-forward ratio (sender rate / DAC rate) missed
// and u is our correction (fraction; ratio × (1 + u)). PI: u = kp·e + ki·∫e, critically damped
// with natural frequency ωn (kp = 2ωn, ki = ωn²): a step settles in a few 1/ωn, a constant drift d
// is absorbed by the integrator with zero steady-state phase error (no residual drift).
//
// Rules:
// - |u| ≤ maxCorrectionPpm (default 2000 ppm: tracks ±1000 ppm with no feed-forward at all, and
//   slews a few ms in about a second); the integrator stops while saturated (no wind-up).
// - u changes smoothly: the controller never steps the ratio by more than kp·Δe per block, and e
//   is smooth by construction (it comes from fitted clocks), so the ratio carries no audible FM.
// - Phase errors too large to slew are not this class's business: the engine re-anchors (a fade),
//   then calls reset().

export interface DriftControllerOptions {
  /** Natural frequency ωn in rad/s; default 0.5. */
  omega?: number;
  maxCorrectionPpm?: number;
}

export class DriftController {
  private kp = 0;
  private ki = 0;
  private max: number;
  private readonly baseMax: number;
  private integral = 0;
  private u = 0;

  constructor(o: DriftControllerOptions = {}) {
    this.baseMax = (o.maxCorrectionPpm ?? 2000) * 1e-6;
    this.max = this.baseMax;
    this.setOmega(o.omega ?? 0.5);
  }

  /**
   * Changes the loop bandwidth (gain scheduling: fast while acquiring, calm in steady state). The
   * integrator is kept, so the change is bumpless but for kp·e, small when e is. `maxScale`
   * widens the correction limit for the fast phase.
   */
  setOmega(omega: number, maxScale = 1): void {
    this.kp = 2 * omega;
    this.ki = omega * omega;
    this.max = this.baseMax * Math.max(1, maxScale);
  }

  /** Feeds the phase error `errorS` (seconds) observed now, `dtS` after the previous update; returns u. */
  update(errorS: number, dtS: number): number {
    if (!Number.isFinite(errorS) || !Number.isFinite(dtS) || dtS <= 0) return this.u;
    const p = this.kp * errorS;
    const next = this.integral + this.ki * errorS * dtS;
    const raw = p + next;
    // Conditional integration: hold the integrator when it would push further into saturation.
    if (Math.abs(raw) <= this.max || Math.sign(errorS) !== Math.sign(this.integral)) {
      this.integral = Math.max(-this.max, Math.min(this.max, next));
    }
    this.u = Math.max(-this.max, Math.min(this.max, p + this.integral));
    return this.u;
  }

  /** Current correction (fraction). */
  correction(): number {
    return this.u;
  }

  correctionPpm(): number {
    return this.u * 1e6;
  }

  /** The integrator's part: the drift the loop has learned (fraction). */
  learned(): number {
    return this.integral;
  }

  /**
   * The feed-forward ratio the correction multiplies changed by `factor` (old / new): rescales the
   * learned drift (the next update() builds u on it) so the total ratio, feed-forward × (1 + u), stays where the loop had put it. A
   * refined estimate (the DAC clock's fit converging, a switch to SR timing) then moves nothing
   * by itself; otherwise the integrator, which had learnt the old estimate's error, must unlearn
   * it at the loop's pace, and the room drifts off meanwhile.
   */
  rebase(factor: number): void {
    if (!(factor > 0) || factor === 1) return;
    this.integral = Math.max(-this.max, Math.min(this.max, factor * (1 + this.integral) - 1));
  }

  /** Starts over, optionally keeping a learned drift (bumpless after a re-anchor). */
  reset(integral = 0): void {
    this.integral = Math.max(-this.max, Math.min(this.max, integral));
    this.u = this.integral;
  }
}
