// The house-clock estimator, pure: NTP exchanges in, the reference's time as a line over this
// device's monotonic clock out (offset, rate, uncertainty). No I/O, no timers; tested in virtual time.
//
// An exchange: t1 (request sent) and t4 (reply received) on the local monotonic clock, t2
// (request received) and t3 (reply sent) on the reference. Its round trip δ = (t4 − t1) − (t3 − t2)
// and its offset θ = ((t2 − t1) + (t3 − t4)) / 2, the reference minus local time at the local
// midpoint m = (t1 + t4) / 2. Whatever the asymmetry, the true offset at m lies in θ ± δ/2.
//
// Rules:
// - Every lateness only adds to δ: queueing, a Wi-Fi retry, and timestamps read late in
//   JavaScript (a receive time read when the event loop gets to the datagram, on either side).
//   So the least-delayed exchanges are the least-disturbed ones: each exchange is weighted by
//   1/σ², σ = σ₀ + (δ − δ_min)/2, where δ_min is the least round trip in the window and σ₀ half
//   the median excess (the network's ordinary jitter), at least 2 µs. σ₀ keeps the line from
//   resting on the single least-delayed exchange, whose own error is up to half ITS excess over
//   the true floor: in simulation σ₀ = median/10 held one such exchange's 28 µs for 30 s
//   (wired p99 15.4 µs, Wi-Fi 330) where median/2 averages the near-floor ones (14.6, 310). A delay burst (a queue
//   that fills one way) gets a weight near zero instead of pulling the line by half its excess.
// - The line is a weighted least-squares fit of θ over m (the last `maxSamples` (256) exchanges,
//   at most `maxAgeMs` (10 min) old: a long window pins the rate, which is what holds the line
//   between exchanges), with a Gaussian prior on the rate (σ = `ratePriorPpm`, 1000): over a short
//   burst of exchanges the rate stays near 0 instead of following jitter; over a minute the data
//   decide it to well under a ppm.
// - The line's RATE is that weighted fit's on a wired link. On a Wi-Fi-like link (median excess
//   round trip ≥ 2 ms; in proportion from 1 ms) it comes from the legs' QUANTILE LINES instead:
//   one slope through the 3 % quantile of t2 − t1 and the 97 % quantile of t3 − t4 over m (the
//   least-delayed few per cent of each leg, wherever they fall in time), found by minimising the
//   quantile regression's check loss (Koenker–Bassett; convex in the slope). Why: with ms of jitter
//   the weighted fit's rate rests on θ's whole spread (weights differ only ~9× between the best
//   and the median exchange) and wandered ±2 ppm, 100–600 µs at the window's end; a quantile line
//   rests on the legs' floors, which on the clock bench's relay hold 15–20 % of the datagrams
//   within 0.2 ms. Unlike the legs' convex hulls (tried, see docs/clock.md: an edge between two
//   exchanges followed one straggler for 40 s), a quantile has no depth bias between the fast
//   pace's crowd and the slow pace's singles, and a few stragglers below the floor (a timer fired
//   early) move it by one rank, not to themselves. Replayed real Wi-Fi-relay exchanges (6 clients,
//   3 runs): p99 326–650 → 118–246 µs. On a wired link the weighted fit stays: there the legs'
//   lateness (a loaded client reading t4) drifts with the load, and quantile lines followed it
//   (τ 0.05 on every link, replayed veth exchanges: chrony 46 → 66 µs, hearth's server 35 → 105).
//   The uncertainty stays the weighted fit's. OFF BY DEFAULT (`rateTau` 0, `floorTrim` false):
//   the clock bench's Wi-Fi row measured it better (634.5 → 218 and 275 µs p99), and so did the
//   rooms bench's Wi-Fi figure with the first state of branch dacfit (805.9, 791.7 → 204.7, 391.6
//   µs), but with its later player (the DAC fit on now()) the rooms measured it worse (bufferMs 200: 152.6 →
//   1039.8 µs, the floor trim alone 636.4; bufferMs 40: 982.1, 286.8 → 4652.6, 4241.7, with DAC
//   gaps at load 4–8). Single runs at load 3–14; docs/clock.md has them. Not shipped until the
//   rooms bench says why.
// - While the client settles (`startUp`, set by client.ts: its start-up burst, and its fast pace
//   until the estimate is sure) the rate comes from the two LEGS instead (`legsRate`): one slope
//   through t2 − t1 and t3 − t4, each value weighted by its own excess over its leg's floor. A
//   process starting up reads replies late (its event loop busy: ms late in a rooms-bench player's
//   first seconds), which lowers only t3 − t4; the weighted fit of θ took those early exchanges
//   for a rate: a player's rate 250 ppm off 1.6 s after its start, its house time +170 µs off, for
//   seconds. Replayed, six recorded rooms-bench clients (three runs) were within 100 µs for good
//   0.10–1.55 s after their start (1.05–7.00 s with the θ fit), and no worse after. Not once
//   settled: on the virtual-time links' uniform jitter (no one-sided lateness) it gave nothing and
//   cost a little (wired p99 from 10 s 53.7 µs against < 50; the Wi-Fi first minute 300 against
//   < 250).
// - The line's HEIGHT comes from the two legs separately (when
//   the window holds ≥ 8 exchanges): t2 − t1 (offset + request delay) and t3 − t4 (offset − reply
//   delay), less the rate. Lateness is one-sided per leg (a server reading the request when its
//   event loop wakes only raises t2; a client reading the reply late only raises t4), so the least
//   up values sit one request floor above the line and the greatest down values one reply floor
//   below: the line runs midway (`envelope` = 3 extreme values of each, at most n/8). Measured on
//   recorded real exchanges (replayed): against chrony the weighted mean sat −18 to −26 µs off
//   (the client's late t4), the envelopes −2 to −5 µs; against hearth's Node server +95 → +73 µs.
//   In virtual time a reference reading requests 0–0.4 ms late gave +45 to +77 µs, now 4–22 µs.
// - An exchange that cannot be true under the line (|θ − line(m)| > δ/2 + 3σ_line + margin) is a
//   suspect. A suspect followed by an agreeing exchange is an outlier (counted, dropped: a lying
//   or corrupted reply). `jumpConfirm` suspects in a row that agree with each other mean the
//   reference itself moved (restarted with a new anchor, stepped): counted as a jump, and the line
//   restarts from them.
// - Uncertainty (± µs, about 95 %): twice the fit's standard error at the instant asked (scaled up
//   by the residuals when they exceed the weights' promise), plus `wanderPpm` × time since the
//   newest exchange (crystal wander while nothing is heard). It does not contain the constant
//   part of path asymmetry, which no two-way method can see; on one LAN every device shares it.

/** A leg's value this far beyond its least one (ms) is not its floor (see `extreme`). */
const FLOOR_SPREAD_MS = 0.5;

export interface Exchange {
  t1: number;
  t2: number;
  t3: number;
  t4: number;
}

export interface ClockEstimate {
  /** Reference ms at local monotonic `t`: `at + offsetMs + (1 + rate)·(t − at)`... see `refAt`. */
  at: number;
  /** Reference − local at `at`, ms. */
  offsetMs: number;
  /** d(reference − local)/d(local): the local crystal's error against the reference (1e-6 = 1 ppm). */
  rate: number;
  uncertaintyUs: number;
  /** Least round trip in the window, µs. */
  delayUs: number;
  samples: number;
}

export type AddResult = 'accepted' | 'invalid' | 'suspect' | 'jump';

export interface EstimatorOptions {
  maxSamples?: number;
  maxAgeMs?: number;
  ratePriorPpm?: number;
  wanderPpm?: number;
  /** Added to the consistency bound (ms); covers what the line's σ does not (e.g. rate wander). */
  marginMs?: number;
  jumpConfirm?: number;
  /** Longest round trip accepted, ms. */
  maxDelayMs?: number;
  /** The offset from the legs' envelopes: the mean of this many least-delayed values of each leg (0: the weighted mean of θ). */
  envelope?: number;
  /** The legs' quantile for the rate on a Wi-Fi-like link (see the rules; 0: the weighted fit's rate alone). */
  rateTau?: number;
  /** Exchanges in the window before the legs' quantile lines take part in the rate. */
  quantileMin?: number;
  /** Skip stragglers below a leg's floor in the envelope (see `extreme`; off by default, see the rules). */
  floorTrim?: boolean;
}

interface Sample {
  m: number;
  theta: number;
  delay: number;
}

export interface EstimatorCounts {
  accepted: number;
  invalid: number;
  outliers: number;
  jumps: number;
}

export class ClockEstimator {
  /**
   * Set by the client in its start-up window: the rate then comes from the legs separately
   * (`legsRate`; see the rules).
   */
  startUp = false;
  private samples: Sample[] = [];
  private suspects: Sample[] = [];
  private base = 0;
  private fit: { mBar: number; tBar: number; r: number; invW: number; invS: number; scale: number; dmin: number } | undefined;
  readonly counts: EstimatorCounts = { accepted: 0, invalid: 0, outliers: 0, jumps: 0 };
  private readonly o: Required<EstimatorOptions>;

  constructor(o: EstimatorOptions = {}) {
    this.o = {
      maxSamples: o.maxSamples ?? 256,
      maxAgeMs: o.maxAgeMs ?? 600_000,
      ratePriorPpm: o.ratePriorPpm ?? 1000,
      wanderPpm: o.wanderPpm ?? 0.5,
      marginMs: o.marginMs ?? 0.1,
      jumpConfirm: o.jumpConfirm ?? 3,
      maxDelayMs: o.maxDelayMs ?? 1000,
      envelope: o.envelope ?? 3,
      rateTau: o.rateTau ?? 0,
      quantileMin: o.quantileMin ?? 32,
      floorTrim: o.floorTrim ?? false,
    };
  }

  /** Feeds one exchange; returns what became of it. */
  add(x: Exchange): AddResult {
    const delay = x.t4 - x.t1 - (x.t3 - x.t2);
    const vals = [x.t1, x.t2, x.t3, x.t4];
    if (!vals.every(Number.isFinite) || x.t4 < x.t1 || x.t3 < x.t2 || delay < -0.01 || delay > this.o.maxDelayMs) {
      this.counts.invalid++;
      return 'invalid';
    }
    if (this.samples.length === 0) this.base = Math.round((x.t2 - x.t1 + (x.t3 - x.t4)) / 2);
    const s: Sample = { m: (x.t1 + x.t4) / 2, theta: (x.t2 - this.base - x.t1 + (x.t3 - this.base - x.t4)) / 2, delay: Math.max(0, delay) };
    if (this.fit && this.samples.length >= 3 && !this.consistent(s)) {
      this.suspects.push(s);
      if (this.suspects.length >= this.o.jumpConfirm && this.agree(this.suspects)) {
        this.counts.jumps++;
        this.samples = this.suspects;
        this.suspects = [];
        this.refit();
        return 'jump';
      }
      return 'suspect';
    }
    this.counts.outliers += this.suspects.length;
    this.suspects = [];
    this.samples.push(s);
    const newest = s.m;
    this.samples = this.samples.filter((q) => newest - q.m <= this.o.maxAgeMs).slice(-this.o.maxSamples);
    this.counts.accepted++;
    this.refit();
    return 'accepted';
  }

  /** Forgets everything (a new reference). Counters stay. */
  reset(): void {
    this.samples = [];
    this.suspects = [];
    this.fit = undefined;
  }

  /**
   * Keeps, of the exchanges before local ms `beforeMs`, the first of each `bucketMs`, and refits:
   * the client's start-up burst (see client.ts), once it has served the start, left as the window
   * would hold it at the ordinary fast pace.
   */
  thin(bucketMs: number, beforeMs: number): void {
    let bucket = NaN;
    const kept = this.samples.filter((s) => {
      if (s.m >= beforeMs) return true;
      const b = Math.floor(s.m / bucketMs);
      if (b === bucket) return false;
      bucket = b;
      return true;
    });
    if (kept.length === this.samples.length) return;
    this.samples = kept;
    this.refit();
  }

  /** Exchanges in the current line. */
  size(): number {
    return this.samples.length;
  }

  /** Local time of the newest exchange in the line, or undefined. */
  newest(): number | undefined {
    return this.samples.at(-1)?.m;
  }

  /** Reference ms at local monotonic ms `t` (undefined before the first exchange). */
  refAt(t: number): number | undefined {
    const f = this.fit;
    if (!f) return undefined;
    return t + this.base + f.tBar + f.r * (t - f.mBar);
  }

  /** ± µs (about 95 %) of refAt(t). */
  uncertaintyUs(t: number): number {
    const f = this.fit;
    if (!f) return Infinity;
    const v = f.scale * (f.invW + (t - f.mBar) ** 2 * f.invS);
    const since = Math.max(0, t - (this.newest() ?? t));
    return 1000 * (2 * Math.sqrt(v)) + this.o.wanderPpm * since * 1e-3;
  }

  estimate(t: number): ClockEstimate | undefined {
    const f = this.fit,
      ref = this.refAt(t);
    if (!f || ref === undefined) return undefined;
    return {
      at: t,
      offsetMs: ref - t,
      rate: f.r,
      uncertaintyUs: this.uncertaintyUs(t),
      delayUs: f.dmin * 1000,
      samples: this.samples.length,
    };
  }

  private consistent(s: Sample): boolean {
    const f = this.fit!;
    const line = f.tBar + f.r * (s.m - f.mBar);
    const sigma = Math.sqrt(f.scale * (f.invW + (s.m - f.mBar) ** 2 * f.invS));
    const since = Math.max(0, s.m - (this.newest() ?? s.m));
    return Math.abs(s.theta - line) <= s.delay / 2 + 3 * sigma + this.o.marginMs + this.o.wanderPpm * 1e-6 * since;
  }

  private agree(list: Sample[]): boolean {
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1]!,
        b = list[i]!;
      if (Math.abs(a.theta - b.theta) > (a.delay + b.delay) / 2 + this.o.marginMs + 1e-3 * Math.abs(b.m - a.m)) return false;
    }
    return true;
  }

  /**
   * The line's height at mBar from the two legs separately: up = θ + δ/2 = t2 − t1 (offset + the
   * request's delay), down = θ − δ/2 = t3 − t4 (offset − the reply's delay). Lateness only raises
   * the one and lowers the other, so the least up values (less the rate) lie one request-floor
   * above the line and the greatest down values one reply-floor below it; with equal floors the
   * line runs midway. The mean of the `envelope` extreme values of each (at most n/8) stands for the
   * floor, where the weighted mean of θ kept half of every exchange's one-sided lateness.
   */
  private envelopeMid(r: number, mBar: number): number {
    const n = this.samples.length;
    const up = this.samples.map((s) => s.theta + s.delay / 2 - r * (s.m - mBar)).sort((a, b) => a - b);
    const down = this.samples.map((s) => s.theta - s.delay / 2 - r * (s.m - mBar)).sort((a, b) => b - a);
    const k = Math.max(1, Math.min(this.o.envelope, Math.floor(n / 8)));
    return (
      (this.extreme(up, k) -
        this.extreme(
          down.map((v) => -v),
          k,
        )) /
      2
    );
  }

  /**
   * The mean of the k least values of `v` (sorted ascending), skipping stragglers below the leg's
   * floor: with 32 exchanges or more, a value further below the 5 % quantile q₅ than four times
   * the spread q₁₀ − q₅, plus 50 µs, is not taken (a wired link's prompt reads of a Node server,
   * 65 µs below q₅ with q₁₀ − q₅ = 24 µs, stay in). A delay shorter than the floor cannot happen on a network;
   * it is a timestamp read wrong (the clock bench's relay fires a Node timer up to ~1 ms early, ~1 %
   * of datagrams: 0.4–0.85 ms against a 1.35–1.6 ms floor), and the mean of 3 extremes followed two
   * of them 0.3–0.5 ms off for minutes (replayed real exchanges).
   * Values more than FLOOR_SPREAD_MS beyond the least one are not the floor either: when the
   * window's floor has just dropped (a delay burst ended, a start-up's late reads stopped) the
   * first exchanges at the new floor are few, and the mean of 3 took the old floor's values with
   * them (the start-up burst's 40 exchanges in a 20 ms delay burst, then one clean one: the line
   * moved 3.2 ms and back within 20 ms, stepped twice).
   */
  private extreme(v: number[], k: number): number {
    let lo = 0;
    if (this.o.floorTrim && v.length >= 32) {
      const q = Math.floor(0.05 * v.length);
      const reach = 4 * (v[2 * q]! - v[q]!) + 0.05;
      while (lo < q && v[q]! - v[lo]! > reach) lo++;
    }
    let a = 0,
      m = 0;
    for (let i = lo; i < lo + k && v[i]! - v[lo]! <= FLOOR_SPREAD_MS; i++, m++) a += v[i]!;
    return a / m;
  }

  /**
   * The legs' quantile lines with one slope: the τ-quantile line of up = t2 − t1 and the
   * (1 − τ)-quantile line of down = t3 − t4, by golden-section search of their summed check loss
   * (convex in the slope) over r0 ± R (r0 the weighted fit's rate, R six of its standard errors, at
   * least 20 ppm). Undefined when the minimum sits at an edge (the fit's rate is then kept).
   */
  private quantileRate(r0: number, R: number, tau: number): number | undefined {
    const S = this.samples;
    const n = S.length;
    const m0 = S[n >> 1]!.m;
    const xs = S.map((s) => s.m - m0);
    const up = S.map((s) => s.theta + s.delay / 2);
    const down = S.map((s) => -(s.theta - s.delay / 2)); // negated: its least values are the reply's floor
    const k = Math.floor(tau * n);
    const detrended = (y: number[], r: number) => y.map((v, i) => v - r * xs[i]!);
    const legLoss = (y: number[], r: number): number => {
      const d = detrended(y, r);
      const q = Float64Array.from(d).sort()[k]!;
      let loss = 0;
      for (const v of d) loss += v >= q ? tau * (v - q) : (1 - tau) * (q - v);
      return loss;
    };
    const L = (r: number) => legLoss(up, r) + legLoss(down, -r);
    const g = (Math.sqrt(5) - 1) / 2;
    let a = r0 - R,
      b = r0 + R,
      c = b - g * (b - a),
      d = a + g * (b - a),
      fc = L(c),
      fd = L(d);
    while (b - a > 1e-9) {
      if (fc <= fd) {
        b = d;
        d = c;
        fd = fc;
        c = b - g * (b - a);
        fc = L(c);
      } else {
        a = c;
        c = d;
        fc = fd;
        d = a + g * (b - a);
        fd = L(d);
      }
    }
    const r = (a + b) / 2;
    return r - (r0 - R) < 0.02 * R || r0 + R - r < 0.02 * R ? undefined : r;
  }

  /**
   * The rate from the two legs separately (used while `startUp`): up = t2 − t1 (a late server read
   * only raises it) and down = t3 − t4 (a late client read only lowers it), one slope and an
   * intercept per leg, each value weighted by its own excess over its leg's floor (detrended at r0,
   * the θ fit's rate): σ = σ₀ + excess, σ₀ half the leg's median excess (at least 2 µs). An
   * exchange read late keeps its clean request leg in the fit, where the θ fit let it pull the rate.
   */
  private legsRate(r0: number, m0: number, lambda: number): number {
    const S = this.samples;
    let num = 0,
      den = lambda;
    // Each leg as `ref − local` values, negated for up so that lateness lowers both (the floor is the top).
    for (const sign of [-1, 1]) {
      const y = S.map((s) => sign * (s.theta + (sign * -s.delay) / 2));
      const det = y.map((v, i) => v - sign * r0 * (S[i]!.m - m0));
      const top = Math.max(...det);
      const excess = det.map((v) => top - v);
      const s0 = Math.max(0.002, [...excess].sort((p, q) => p - q)[excess.length >> 1]! / 2);
      const w = excess.map((e) => 1 / (s0 + e) ** 2);
      let W = 0,
        mx = 0,
        my = 0;
      w.forEach((wi, i) => {
        W += wi;
        mx += wi * S[i]!.m;
        my += wi * sign * y[i]!;
      });
      mx /= W;
      my /= W;
      w.forEach((wi, i) => {
        num += wi * (S[i]!.m - mx) * (sign * y[i]! - my);
        den += wi * (S[i]!.m - mx) ** 2;
      });
    }
    return num / den;
  }

  private refit(): void {
    const n = this.samples.length;
    if (n === 0) {
      this.fit = undefined;
      return;
    }
    let dmin = Infinity;
    for (const s of this.samples) dmin = Math.min(dmin, s.delay);
    const excess = this.samples.map((s) => s.delay - dmin).sort((a, b) => a - b);
    const excessMedian = excess[Math.floor(n / 2)]!;
    const sigma0 = Math.max(0.002, excessMedian / 2);
    let W = 0,
      mBar = 0,
      tBar = 0;
    const w = this.samples.map((s) => 1 / (sigma0 + (s.delay - dmin) / 2) ** 2);
    this.samples.forEach((s, i) => {
      W += w[i]!;
      mBar += w[i]! * s.m;
      tBar += w[i]! * s.theta;
    });
    mBar /= W;
    tBar /= W;
    let Sxx = 0,
      Sxy = 0;
    this.samples.forEach((s, i) => {
      const dx = s.m - mBar;
      Sxx += w[i]! * dx * dx;
      Sxy += w[i]! * dx * (s.theta - tBar);
    });
    const lambda = 1 / (this.o.ratePriorPpm * 1e-6) ** 2;
    const rFit = Sxy / (Sxx + lambda);
    let chi = 0;
    this.samples.forEach((s, i) => {
      chi += w[i]! * (s.theta - tBar - rFit * (s.m - mBar)) ** 2;
    });
    const scale = n > 2 ? Math.max(1, chi / (n - 2)) : 1;
    // The legs' quantile lines' share of the rate: none on a wired link (median excess ≤ 1 ms), all
    // of it on a Wi-Fi-like one (≥ 2 ms), in between in proportion (no flapping at a threshold).
    // Measured median excess over 256-exchange windows: veth 0.12–0.55 ms at load 5–8 (Node reading
    // t4 late), the clock bench's Wi-Fi relay 2.4–5.4 ms.
    const share = Math.min(1, Math.max(0, excessMedian - 1));
    let r = this.startUp ? this.legsRate(rFit, mBar, lambda) : rFit;
    if (this.o.rateTau > 0 && n >= this.o.quantileMin && share > 0) {
      const se = Math.sqrt(scale / (Sxx + lambda));
      const q = this.quantileRate(rFit, Math.max(20e-6, 6 * se), this.o.rateTau);
      if (q !== undefined) r = share * q + (1 - share) * rFit;
    }
    if (this.o.envelope > 0 && n >= 8) tBar = this.envelopeMid(r, mBar);
    this.fit = { mBar, tBar, r, invW: 1 / W, invS: 1 / (Sxx + lambda), scale, dmin };
  }
}
