// Measurements on audio for tests and benchmarks: THD+N of a tone (FFT with a 7-term
// Blackman-Harris window, whose sidelobes sit near −180 dB so leakage never masquerades as
// noise), tone frequency, RMS. Not used on the playback path.

/** In-place radix-2 complex FFT; length must be a power of two. */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = re[i]!;
      re[i] = re[j]!;
      re[j] = t;
      t = im[i]!;
      im[i] = im[j]!;
      im[j] = t;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    const wr = Math.cos(ang),
      wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1,
        ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k,
          b = a + len / 2;
        const xr = re[b]! * cr - im[b]! * ci;
        const xi = re[b]! * ci + im[b]! * cr;
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
}

const BH7 = [0.27105140069342, 0.43329793923448, 0.21812299954311, 0.06592544638803, 0.01081174209837, 0.00077658482522, 0.00001388721735];

export interface ThdnResult {
  /** (everything but the fundamental, in band) / fundamental, in dB. */
  thdnDb: number;
  fundamentalHz: number;
  /** Fundamental level relative to a full-scale sine (amplitude 1 for float, 32767 for int16 input). */
  fundamentalDbfs: number;
}

export interface ThdnOptions {
  /** Full-scale amplitude of the input's units (1 for floats, 32767 for int16). */
  fullScale?: number;
  lowHz?: number;
  highHz?: number;
  /** Bins either side of the peak counted as fundamental (BH7 main lobe is ±8 bins). */
  notchBins?: number;
  /** Analysis length (power of two); default the largest ≤ input length, at most 65536. */
  length?: number;
}

/** THD+N of a single tone in `x` (mono) sampled at `rate`. */
export function thdn(x: ArrayLike<number>, rate: number, o: ThdnOptions = {}): ThdnResult {
  let n = o.length ?? 1;
  if (!o.length) while (n * 2 <= Math.min(x.length, 65536)) n *= 2;
  if (n < 1024 || n > x.length) throw new RangeError('thdn needs at least 1024 samples');
  const re = new Float64Array(n),
    im = new Float64Array(n);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i]!;
  mean /= n;
  let w2 = 0;
  for (let i = 0; i < n; i++) {
    let w = 0;
    for (let k = 0; k < BH7.length; k++) w += (k % 2 ? -1 : 1) * BH7[k]! * Math.cos((2 * Math.PI * k * i) / n);
    re[i] = (x[i]! - mean) * w;
    w2 += w * w;
  }
  fft(re, im);
  const binHz = rate / n;
  const lo = Math.max(1, Math.ceil((o.lowHz ?? 20) / binHz));
  const hi = Math.min(n / 2 - 1, Math.floor((o.highHz ?? 20000) / binHz));
  let peak = lo;
  const pw = (i: number) => re[i]! * re[i]! + im[i]! * im[i]!;
  for (let i = lo; i <= hi; i++) if (pw(i) > pw(peak)) peak = i;
  const notch = o.notchBins ?? 10;
  let fund = 0,
    rest = 0,
    fw = 0;
  for (let i = lo; i <= hi; i++) {
    const p = pw(i);
    if (Math.abs(i - peak) <= notch) {
      fund += p;
      fw += i * p;
    } else rest += p;
  }
  // A sine of amplitude A puts (A²/4)·n·Σw² into its one-sided main lobe (Parseval on the windowed signal).
  const amp = Math.sqrt((4 * fund) / (n * w2));
  const fs = o.fullScale ?? 1;
  return {
    thdnDb: 10 * Math.log10(Math.max(rest, 1e-300) / Math.max(fund, 1e-300)),
    fundamentalHz: (fw / Math.max(fund, 1e-300)) * binHz,
    fundamentalDbfs: 20 * Math.log10(Math.max(amp, 1e-300) / fs),
  };
}

/** Root mean square of `x[from..to)`. */
export function rms(x: ArrayLike<number>, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / Math.max(1, to - from));
}

/** Channel `c` of interleaved audio as a new Float64Array. */
export function channel(x: ArrayLike<number>, channels: number, c: number, from = 0, frames?: number): Float64Array {
  const total = Math.floor(x.length / channels);
  const n = Math.min(frames ?? total - from, total - from);
  const out = new Float64Array(Math.max(0, n));
  for (let i = 0; i < n; i++) out[i] = x[(from + i) * channels + c]!;
  return out;
}
