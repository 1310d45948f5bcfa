// How much later one recorded channel plays the same audio than the other, window by window: the
// true-time observer's arithmetic (room-observer.ts records room A on the left, room B on the right).
// Rules:
// - The coarse lag is the peak of the cross-correlation (FFT), searched over ±maxLag around the
//   previous window's lag (wide again whenever a window is not trusted).
// - The fraction of a sample comes from the slope of the cross-spectrum's phase (phase = −ω·δ for
//   a delay δ), a weighted least-squares fit over the band the signal fills: no interpolation bias,
//   so a delay of 3.3 samples reads 3.3, not the parabola's 3.25 or so.
// - A window is trusted only when the two channels really carry the same audio there (normalised
//   correlation ≥ minCorrelation): silence or a room playing something else is "no reading", never
//   a lag of zero.
// The material must not repeat within the search range (seeded noise does not; a tone would).

/** In-place iterative radix-2 FFT of (re, im); length a power of two. */
export function fft(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len;
    const wr = Math.cos(ang),
      wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1,
        ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k,
          b = a + len / 2;
        const xr = re[b]! * cr - im[b]! * ci,
          xi = re[b]! * ci + im[b]! * cr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
        const t = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = t;
      }
    }
  }
  if (inverse)
    for (let i = 0; i < n; i++) {
      re[i] = re[i]! / n;
      im[i] = im[i]! / n;
    }
}

const pow2 = (n: number) => 1 << Math.ceil(Math.log2(n));

/** Integer lag k (y[n + k] ≈ x[n]) in [−maxLag, maxLag] at the correlation peak, and its normalised correlation. */
export function coarseLag(x: Float64Array, y: (i: number) => number, maxLag: number): { lag: number; corr: number } {
  const n = x.length,
    size = pow2(n + 2 * maxLag);
  const xr = new Float64Array(size),
    xi = new Float64Array(size),
    yr = new Float64Array(size),
    yi = new Float64Array(size);
  xr.set(x);
  for (let i = 0; i < n + 2 * maxLag; i++) yr[i] = y(i - maxLag);
  fft(xr, xi);
  fft(yr, yi);
  // corr[m] = Σ x[n]·y[n + m − maxLag]: Y·conj(X), inverse.
  for (let i = 0; i < size; i++) {
    const r = yr[i]! * xr[i]! + yi[i]! * xi[i]!,
      im = yi[i]! * xr[i]! - yr[i]! * xi[i]!;
    yr[i] = r;
    yi[i] = im;
  }
  fft(yr, yi, true);
  let best = 0,
    bestV = -Infinity;
  for (let m = 0; m <= 2 * maxLag; m++)
    if (yr[m]! > bestV) {
      bestV = yr[m]!;
      best = m;
    }
  const lag = best - maxLag;
  let ex = 0,
    ey = 0;
  for (let i = 0; i < n; i++) {
    ex += x[i]! ** 2;
    ey += y(i + lag) ** 2;
  }
  return { lag, corr: ex > 0 && ey > 0 ? bestV / Math.sqrt(ex * ey) : 0 };
}

/** Fractional delay δ (samples, |δ| < 1) of y against x, both the same length (a power of two): y[n] ≈ x[n − δ]. */
export function fractionalDelay(x: Float64Array, y: Float64Array, bandFraction: number): number {
  const n = x.length;
  const xr = new Float64Array(n),
    xi = new Float64Array(n),
    yr = new Float64Array(n),
    yi = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
    xr[i] = x[i]! * w;
    yr[i] = y[i]! * w;
  }
  fft(xr, xi);
  fft(yr, yi);
  // Weighted least squares through the origin: phase_k ≈ −ω_k·δ, weight |C_k|.
  let num = 0,
    den = 0;
  const top = Math.floor((n / 2) * bandFraction);
  for (let k = 1; k < top; k++) {
    const cr = yr[k]! * xr[k]! + yi[k]! * xi[k]!,
      ci = yi[k]! * xr[k]! - yr[k]! * xi[k]!;
    const mag = Math.hypot(cr, ci);
    if (mag === 0) continue;
    const w = (2 * Math.PI * k) / n;
    num += mag * w * -Math.atan2(ci, cr);
    den += mag * w * w;
  }
  return den > 0 ? num / den : 0;
}

export interface LagReading {
  /** Start of the window in the recording (seconds from its first sample). */
  atS: number;
  /** How much later the right channel plays the left's audio (µs; negative: earlier); NaN when not trusted. */
  lagUs: number;
  corr: number;
}

export interface LagOptions {
  rate?: number;
  /** Window length in samples (a power of two; default 2048, 42.7 ms at 48 kHz). */
  window?: number;
  /** Widest search (ms) when there is no previous reading (default 300). */
  maxLagMs?: number;
  /** Search around the previous reading (ms; default 3). */
  trackLagMs?: number;
  minCorrelation?: number;
  /** Fraction of the band up to Nyquist used for the phase fit (default 0.8: resamplers roll off above). */
  bandFraction?: number;
}

/** Readings of right-versus-left lag over an interleaved stereo s16 recording, one per window. */
export function channelLags(pcm: Int16Array, o: LagOptions = {}): LagReading[] {
  const rate = o.rate ?? 48000,
    n = o.window ?? 2048,
    minCorr = o.minCorrelation ?? 0.5,
    band = o.bandFraction ?? 0.8;
  const wide = Math.round(((o.maxLagMs ?? 300) * rate) / 1000),
    narrow = Math.max(4, Math.round(((o.trackLagMs ?? 3) * rate) / 1000));
  const frames = pcm.length >> 1;
  const L = (i: number) => (i >= 0 && i < frames ? pcm[2 * i]! : 0);
  const R = (i: number) => (i >= 0 && i < frames ? pcm[2 * i + 1]! : 0);
  const out: LagReading[] = [];
  let prev: number | null = null;
  for (let p = wide; p + n + wide <= frames; p += n) {
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = L(p + i);
    const centre: number = prev ?? 0,
      span = prev === null ? wide : narrow;
    const c = coarseLag(x, (i) => R(p + centre + i), span);
    const k: number = centre + c.lag;
    if (!(c.corr >= minCorr) || (prev !== null && Math.abs(c.lag) === span)) {
      // at the search edge: not a peak
      out.push({ atS: p / rate, lagUs: NaN, corr: c.corr });
      prev = null;
      continue;
    }
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) y[i] = R(p + k + i);
    const d = k + fractionalDelay(x, y, band);
    out.push({ atS: p / rate, lagUs: (d / rate) * 1e6, corr: c.corr });
    prev = k;
  }
  return out;
}
