// DAC clock estimator: from noisy (framesConsumed, wallMs) observations of a sink, the DAC's true
// rate against the shared wall clock and the wall instant any frame of the epoch reaches the
// analog side. Pure; fed by the output loop at every tick.
//
// Rules:
// - An observation (n, w) means frames 0..n−1 have started playing and frame n has not: frame n
//   starts within one frame period after w, so the observation is taken as frame n at
//   w + ½ period (the centre of that interval; the ±½-frame quantisation averages out).
// - Observations are averaged into 100 ms bins (a line's points average onto the line), and a
//   least-squares line is fitted to the last `windowMs` of bins (default 30 s): slope = period,
//   intercept = the epoch's wall anchor. Until two bins exist, the nominal rate runs from the
//   latest observation.
// - A count of 0 says nothing: frame 0 has not started, and a DAC starts only when its first
//   frames are written, some time later. Taken as an observation it anchored the line up to a
//   first tick's duration early (the sim DAC: 47 ppm off half a second after a start, a bias the
//   drift loop's integrator learnt and then unlearnt slowly: the bench's join-to-sync tail).
// - Nor does a count that has reached the frames written (given as `framesWritten`: what the DAC
//   had been given when it was read): the DAC ran dry, its count stopped there, and the next frame
//   plays when it is written, not on the line. A player's loop stalled 262 ms at start-up under
//   load (integration/audio/player) and read such a count 1.9 ms before its next write played:
//   taken in, that one reading put the first fit 4900 ppm off for a −120 ppm DAC (which the step
//   rule below then kept: see there). A reading older than the writes since (the speaker sink's,
//   from its sink process) no longer reaches the frames written by the time it is observed: its
//   sink marks it dry (SinkPosition.dry) and the output loop gives its own count as `framesWritten`.
// - A frame count going backwards (new epoch) resets. An observation more than `jumpMs` off the
//   line three times in a row (an xrun, a suspended DAC) resets to the new observations.
// - A short gap (the DAC ran dry for a millisecond or two and carried on, too short for the sink
//   to count an underrun, or a count that slipped) moves every later frame by the gap: a position
//   step smaller than the jump threshold. Observations off the line by more than STEP_MIN_MS (plus
//   a grain) on the same side, agreeing within STEP_MIN_MS, for STEP_CONFIRM_MS and at least
//   STEP_OBSERVATIONS readings, are a step: the whole window moves by their mean offset (the rate
//   is kept). Until then they are held out of the fit, and put back if the run breaks (noise, not
//   a step; holding them out for good would bias the fit). Fitted as ordinary points, a 1.1 ms gap
//   took the fit ~0.5 s to see, the room that long ~1 ms off (rooms bench, true DAC, 40 ms queue).
//   A run starts only where the readings jumped: the first held one must be off by STEP_MIN_MS
//   (plus a grain) more than the last reading fitted. Readings drifting off the line, reading by
//   reading, say the fit's rate is wrong (a young fit, a reporting path that settles), and are
//   fitted. Taken as steps, each moved the window onto the wrong rate again: a fit started 4900 ppm
//   off stepped 85 times in 20 s and was still 1260 ppm off (the renderer resampling by that much,
//   and the two rooms of integration/audio/player 280 µs apart for good).
// - A lone reading off the line (one reading, which the loop observes tick after tick until the
//   next, held as a possible step) that the next reading does not follow is dropped, not fitted: at
//   STEP_MIN_MS and more it is 10+ times a reading's noise, and no DAC plays late and then catches
//   up; it is a reading stamped late (the speaker sink's process paused between reading the DAC and
//   stamping it: rooms bench step scenario, one reading 0.66 ms late 1.2 s into a restarted sink's
//   epoch moved its young fit 85 µs for a second, the room 60 µs). Several readings off and back are
//   noise after all and go back into the fit (held out for good, they would bias it).
// - Counts may be granular: a DMA driver without a fine position moves its pointer once per
//   period, so snd_pcm_delay (and the count derived from it) steps by whole periods and a reading
//   lags the true position by 0..1 period. The grain is learnt as the gcd of the count's steps,
//   trusted once GRAIN_STEPS steps agree on it (a first step alone would widen the threshold by
//   tens of ms and let a starting sink's stale readings into the fit), and capped at MAX_GRAIN_MS
//   (mpg123 asks ALSA for 125 ms periods). It widens the jump threshold by one grain, so
//   granularity is not taken for xruns. The fit stays unbiased in rate only if the readings fall
//   at every phase of a period: the reader must dither its reading instants over a period.
// - The rate estimate is clamped to ±5000 ppm of nominal; past that the observations are broken.
// - The window shrinks when the newest second of bins leaves the line: the mean residual of the
//   last RECENT_BINS bins beyond 4 σ of that mean (σ of a bin from successive differences, at
//   least MIN_SIGMA_MS) drops the older half of the window, and again at the next bin if still off.
//   Why: a reporting path that settles slowly (PulseAudio's interpolated stream latency, through
//   ALSA's pulse plugin, reads up to 1.2 ms off for the first ~10 s of a stream and wanders by
//   ~0.3 ms when another stream starts on the same daemon) left a 30 s fit up to 0.7 ms off for
//   30 s after it had settled (measured through the rooms observer, scratch of issue 10); white
//   noise and period grains keep the whole window, where its length is what averages them out.

export interface DacClockOptions {
  windowMs?: number;
  binMs?: number;
  jumpMs?: number;
}

const MAX_PPM = 5000;
const MAX_GRAIN_MS = 130;
const GRAIN_STEPS = 8;
const RECENT_BINS = 10;
const MIN_SIGMA_MS = 0.005;
const STEP_MIN_MS = 0.25;
const STEP_CONFIRM_MS = 50;
const STEP_OBSERVATIONS = 3;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

export class DacClock {
  private readonly nominal: number;
  private readonly windowBins: number;
  private readonly binMs: number;
  private readonly jumpMs: number;
  // Bins of (mean x, mean y) relative to (x0, y0), in a ring.
  private readonly bx: Float64Array;
  private readonly by: Float64Array;
  private head = 0;
  private count = 0;
  private x0 = 0;
  private y0 = 0;
  private anchored = false;
  // Current (open) bin.
  private sx = 0;
  private sy = 0;
  private sn = 0;
  private binStartWall = 0;
  // Fit: y = ya + slope·(x − xa), relative coordinates; slope in ms per frame.
  private xa = 0;
  private ya = 0;
  private slope: number;
  /** The slope until the first fit: nominal, or seedRate()'s. */
  private seedSlope: number;
  private fitted = false;
  private lastFrames = -1;
  private lastX = 0;
  private lastY = 0;
  private offLine = 0;
  private resets = 0;
  private shrinks = 0;
  private steps = 0;
  private lastStep = 0;
  /** Lone readings dropped (see the rules). */
  private outliers = 0;
  /** Observations held out as a possible position step (relative x, y; their offset from the line). */
  private held: Array<{ x: number; y: number; off: number; wall: number }> = [];
  /** gcd of the count's steps (0 until one is seen); kept across resets: it is the driver's. */
  private grain = 0;
  private grainSteps = 0;

  constructor(nominalRateHz: number, o: DacClockOptions = {}) {
    this.nominal = nominalRateHz;
    this.binMs = o.binMs ?? 100;
    this.windowBins = Math.max(4, Math.round((o.windowMs ?? 30000) / this.binMs));
    this.jumpMs = o.jumpMs ?? 2;
    this.bx = new Float64Array(this.windowBins);
    this.by = new Float64Array(this.windowBins);
    this.slope = 1000 / nominalRateHz;
    this.seedSlope = this.slope;
  }

  /**
   * Runs at `hz` instead of the nominal rate until the first fit: the rate the previous epoch of
   * the same DAC was fitted at (one crystal), so a reopened DAC's first second is not placed as if
   * it ran at nominal (a −120 ppm DAC drifted 15 µs in 0.3 s, which the playout then slewed).
   */
  seedRate(hz: number): void {
    if (!(hz > 0) || Math.abs(hz / this.nominal - 1) > MAX_PPM * 1e-6) return;
    this.seedSlope = 1000 / hz;
    if (!this.fitted) this.slope = this.seedSlope;
  }

  reset(): void {
    this.head = 0;
    this.count = 0;
    this.anchored = false;
    this.sn = 0;
    this.fitted = false;
    this.slope = this.seedSlope;
    this.lastFrames = -1;
    this.offLine = 0;
    this.held = [];
  }

  /** The learnt granularity of the counts, in ms (0 for counts that move by single frames). */
  grainMs(): number {
    const g = this.grain <= 1 || this.grainSteps < GRAIN_STEPS ? 0 : (this.grain * 1000) / this.nominal;
    return Math.min(g, MAX_GRAIN_MS);
  }

  /** How many times the estimator restarted (epochs and detected jumps). */
  resetCount(): number {
    return this.resets;
  }

  /** A reading: `framesConsumed` at `wallMs`, of `framesWritten` frames the DAC had been given (if known: see the rules). */
  observe(framesConsumed: number, wallMs: number, framesWritten = Infinity): void {
    if (!Number.isFinite(framesConsumed) || !Number.isFinite(wallMs)) return;
    if (framesConsumed < this.lastFrames) {
      this.reset();
      this.resets++;
    }
    if (framesConsumed <= 0) {
      this.lastFrames = 0;
      return;
    } // nothing played yet: see the rules
    if (framesConsumed >= framesWritten) return; // ran dry: the count stopped (the rules)
    if (this.lastFrames >= 0 && framesConsumed > this.lastFrames && Number.isInteger(framesConsumed - this.lastFrames)) {
      this.grain = gcd(this.grain, framesConsumed - this.lastFrames);
      this.grainSteps++;
    }
    this.lastFrames = framesConsumed;
    const wall = wallMs + 500 / this.nominal;
    if (!this.anchored) {
      this.x0 = framesConsumed;
      this.y0 = wall;
      this.anchored = true;
      this.binStartWall = wall;
    }
    const x = framesConsumed - this.x0;
    const y = wall - this.y0;
    if (this.count >= 2 || this.sn > 0) {
      const off = Math.abs(y - this.predictRel(x));
      if (off > this.jumpMs + this.grainMs()) {
        if (++this.offLine >= 3) {
          this.reset();
          this.resets++;
          this.observe(framesConsumed, wallMs);
          return;
        }
        return; // hold it out of the fit until it is confirmed as a jump
      }
      this.offLine = 0;
      if (this.fitted && this.stepHeld(x, y, y - this.predictRel(x), wall)) return;
    }
    this.add(x, y, wall);
  }

  private add(x: number, y: number, wall: number): void {
    this.lastX = x;
    this.lastY = y;
    this.sx += x;
    this.sy += y;
    this.sn++;
    if (wall - this.binStartWall >= this.binMs) this.closeBin(wall);
  }

  /**
   * A possible position step (see the rules): true while the observation is held out. A confirmed
   * step moves the window by the held observations' mean offset and lets them in.
   */
  private stepHeld(x: number, y: number, off: number, wall: number): boolean {
    const min = STEP_MIN_MS + this.grainMs();
    // A run starts where the readings jumped off the line, not where they drifted off it (the rules).
    const start = (): boolean => {
      if (Math.abs(off) <= min || Math.abs(off - (this.lastY - this.predictRel(this.lastX))) <= min) return false;
      this.held = [{ x, y, off, wall }];
      return true;
    };
    const h = this.held;
    if (h.length === 0) return start();
    const offs = [...h.map((o) => o.off), off];
    if (Math.abs(off) <= min || Math.sign(off) !== Math.sign(h[0]!.off) || Math.max(...offs) - Math.min(...offs) > min) {
      this.held = [];
      // A lone reading (one reading, seen tick after tick) that the next one did not follow is
      // dropped; a run of several readings is noise after all, back into the fit (the rules).
      const lone = h.every((o) => o.x === h[0]!.x); // one count: one reading (its stamp, taken back from wall(), may differ in the ns)
      if (lone) this.outliers++;
      else for (const o of h) this.add(o.x, o.y, o.wall);
      return start();
    }
    h.push({ x, y, off, wall });
    if (h.length < STEP_OBSERVATIONS || wall - h[0]!.wall < STEP_CONFIRM_MS) return true;
    const step = offs.reduce((a, b) => a + b, 0) / offs.length;
    for (let k = 0; k < this.count; k++) this.by[(this.head + k) % this.windowBins]! += step;
    this.sy += this.sn * step;
    this.ya += step;
    this.lastY += step;
    this.steps++;
    this.lastStep = step;
    this.held = [];
    for (const o of h) this.add(o.x, o.y, o.wall);
    return true;
  }

  /** How many lone readings off the line were dropped (see the rules). */
  outlierCount(): number {
    return this.outliers;
  }

  /** How many position steps (short gaps) were taken in. */
  stepCount(): number {
    return this.steps;
  }

  /** The last position step taken in (ms; positive: later frames play later), 0 before one. */
  lastStepMs(): number {
    return this.lastStep;
  }

  private closeBin(wall: number): void {
    const i = (this.head + this.count) % this.windowBins;
    this.bx[i] = this.sx / this.sn;
    this.by[i] = this.sy / this.sn;
    if (this.count < this.windowBins) this.count++;
    else this.head = (this.head + 1) % this.windowBins;
    this.sx = this.sy = 0;
    this.sn = 0;
    this.binStartWall = wall;
    this.fit();
  }

  private fit(): void {
    this.fitLine();
    if (this.fitted && this.count >= 4 * RECENT_BINS && this.recentOffLine()) {
      const drop = this.count >> 1;
      this.head = (this.head + drop) % this.windowBins;
      this.count -= drop;
      this.shrinks++;
      this.fitLine();
    }
  }

  /** Whether the newest RECENT_BINS bins sit off the fitted line by more than their noise allows. */
  private recentOffLine(): boolean {
    const n = this.count;
    // σ from successive differences: the bins' own noise, blind to a slow trend (which is the
    // very thing looked for here, and would inflate a plain RMS).
    let sd = 0,
      recent = 0,
      prev = 0;
    for (let k = 0; k < n; k++) {
      const i = (this.head + k) % this.windowBins;
      const r = this.by[i]! - (this.ya + this.slope * (this.bx[i]! - this.xa));
      if (k > 0) sd += (r - prev) ** 2;
      prev = r;
      if (k >= n - RECENT_BINS) recent += r;
    }
    const sigma = Math.max(MIN_SIGMA_MS, Math.sqrt(sd / (2 * (n - 1))));
    return Math.abs(recent / RECENT_BINS) > (4 * sigma) / Math.sqrt(RECENT_BINS);
  }

  /** How many times the window was shrunk because its newest bins left the line. */
  shrinkCount(): number {
    return this.shrinks;
  }

  private fitLine(): void {
    const n = this.count;
    if (n < 2) return;
    let mx = 0,
      my = 0;
    for (let k = 0; k < n; k++) {
      const i = (this.head + k) % this.windowBins;
      mx += this.bx[i]!;
      my += this.by[i]!;
    }
    mx /= n;
    my /= n;
    let sxx = 0,
      sxy = 0;
    for (let k = 0; k < n; k++) {
      const i = (this.head + k) % this.windowBins;
      const dx = this.bx[i]! - mx;
      sxx += dx * dx;
      sxy += dx * (this.by[i]! - my);
    }
    if (sxx <= 0) return;
    const nominalSlope = 1000 / this.nominal;
    const lim = nominalSlope * MAX_PPM * 1e-6;
    this.slope = Math.min(nominalSlope + lim, Math.max(nominalSlope - lim, sxy / sxx));
    this.xa = mx;
    this.ya = my;
    this.fitted = true;
  }

  private predictRel(x: number): number {
    if (this.fitted) return this.ya + this.slope * (x - this.xa);
    return this.lastY + this.slope * (x - this.lastX);
  }

  /** Estimated DAC rate in frames per wall second. */
  rateHz(): number {
    return 1000 / this.slope;
  }

  ppm(): number {
    return (this.rateHz() / this.nominal - 1) * 1e6;
  }

  /** Estimated wall time (ms) at which frame `frameIndex` of the epoch starts reaching the analog side. */
  wallOfFrame(frameIndex: number): number {
    if (!this.anchored) return NaN;
    return this.y0 + this.predictRel(frameIndex - this.x0);
  }
}
