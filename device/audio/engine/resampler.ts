// Fractional resampler with a continuously adjustable ratio: a polyphase windowed-sinc (Kaiser)
// filter bank, linearly interpolated between adjacent phases, so any fractional position can be
// read, and the ratio (input frames per output frame) may change at every block without a step.
//
// Rules:
// - Positions are absolute input frame indices (the caller's source timeline), held as an integer
//   part plus a fraction in [0, 1) so that hours of `pos += ratio` lose nothing to rounding.
// - Output frame at position p = Σ_k x[i0 + k] · h(p − (i0 + k)), k = 0..taps−1, i0 = ⌊p⌋ − taps/2 + 1:
//   zero phase, so output sample at p IS the input signal at time p (no group delay to correct).
//   Producing it needs input up to ⌊p⌋ + taps/2 (`lookahead`).
// - The caller pushes input in order (push) and asks how far it must reach (inputNeeded); input
//   not pushed reads as silence. Memory is fixed at construction; no allocation while running.
// - Downsampling (nominal ratio > 1) lowers the cutoff and widens the kernel in proportion.
// - Inner loop: WebAssembly SIMD (simd-kernel.ts) where available, else a scalar typed-array loop;
//   no allocation or closures per sample; a window of pure zeros (idle streams) costs no MACs.

export interface ResamplerOptions {
  channels: number;
  /** Nominal input/output rate ratio the filter is designed for (e.g. 44100/48000); default 1. */
  nominalRatio?: number;
  /** Taps per phase at ratio ≤ 1 (even); default 32. */
  taps?: number;
  /** Filter phases per input sample; default 512. */
  phases?: number;
  /** −6 dB cutoff as a fraction of the lower Nyquist frequency; default 0.94. */
  cutoff?: number;
  /** Kaiser window β; default 9.5 (≈ 95 dB stopband). */
  beta?: number;
  /** Largest input frames one process() call may need; sizes the buffer. Default 16384. */
  maxBlockInput?: number;
}

import { createSimdKernel, type SimdKernel } from './simd-kernel.ts';

/** Output frames per kernel call (sizes the kernel's output area). */
const CHUNK = 4096;

function besselI0(x: number): number {
  let sum = 1,
    term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 60; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

export class Resampler {
  readonly channels: number;
  readonly taps: number;
  readonly phases: number;
  /** Input frames needed beyond ⌊position⌋ to produce the output frame at position. */
  readonly lookahead: number;
  /** True when the WebAssembly SIMD kernel runs the inner loop. */
  readonly simd: boolean;
  private readonly coef: Float32Array;
  private readonly delta: Float32Array;
  private readonly buf: Float32Array;
  private readonly capFrames: number;
  private readonly kernel: SimdKernel | null = null;
  /** Byte offsets in the kernel's memory. */
  private readonly kCoef = 0;
  private readonly kDelta = 0;
  private readonly kBuf = 0;
  private readonly kOut = 0;
  private readonly kOutView: Float32Array | null = null;
  private readonly kState: DataView | null = null;
  /** Absolute input index of buf frame 0, and frames held. */
  private bufStart = 0;
  private bufLen = 0;
  private posInt = 0;
  private frac = 0;
  /** Absolute index of the last non-zero input frame (−∞ when none). */
  private lastNonZero = -Infinity;

  constructor(o: ResamplerOptions & { simd?: boolean }) {
    if (o.channels < 1 || o.channels > 8) throw new RangeError('channels must be 1..8');
    this.channels = o.channels;
    const nominal = o.nominalRatio ?? 1;
    const scale = Math.max(1, nominal);
    const baseTaps = o.taps ?? 32;
    this.taps = Math.max(4, Math.ceil((baseTaps * scale) / 4) * 4);
    this.phases = o.phases ?? 512;
    this.lookahead = this.taps / 2;
    const fc = (0.5 * (o.cutoff ?? 0.94)) / scale; // cycles per input sample
    const beta = o.beta ?? 9.5;
    const T = this.taps,
      P = this.phases,
      half = T / 2;
    this.coef = new Float32Array((P + 1) * T);
    this.delta = new Float32Array(P * T);
    const i0b = besselI0(beta);
    const row = new Float64Array(T);
    for (let p = 0; p <= P; p++) {
      const frac = p / P;
      let sum = 0;
      for (let k = 0; k < T; k++) {
        const t = frac + half - 1 - k;
        const u = t / half;
        const w = Math.abs(u) >= 1 ? 0 : besselI0(beta * Math.sqrt(1 - u * u)) / i0b;
        const x = 2 * fc * t;
        const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
        row[k] = 2 * fc * sinc * w;
        sum += row[k]!;
      }
      // Unity DC gain at every phase: no ripple in level as the phase sweeps.
      for (let k = 0; k < T; k++) this.coef[p * T + k] = row[k]! / sum;
    }
    for (let p = 0; p < P; p++) {
      for (let k = 0; k < T; k++) this.delta[p * T + k] = this.coef[(p + 1) * T + k]! - this.coef[p * T + k]!;
    }
    this.capFrames = (o.maxBlockInput ?? 16384) + 2 * T + 16;
    const ch = this.channels;
    const dup = ch === 2 ? 2 : 1;
    const rowBytes = T * 4 * dup;
    const kCoef = 64,
      kDelta = kCoef + (P + 1) * rowBytes,
      kBuf = kDelta + P * rowBytes;
    const kOut = kBuf + this.capFrames * ch * 4,
      kEnd = kOut + CHUNK * ch * 4;
    const kernel = o.simd !== false && ch <= 2 ? createSimdKernel(kEnd) : null;
    if (kernel) {
      this.kernel = kernel;
      this.simd = true;
      Object.assign(this, { kCoef, kDelta, kBuf, kOut });
      const mem = kernel.memory.buffer;
      const kc = new Float32Array(mem, kCoef, (P + 1) * T * dup);
      const kd = new Float32Array(mem, kDelta, P * T * dup);
      for (let i = 0; i < (P + 1) * T; i++) for (let d = 0; d < dup; d++) kc[i * dup + d] = this.coef[i]!;
      for (let i = 0; i < P * T; i++) for (let d = 0; d < dup; d++) kd[i * dup + d] = this.delta[i]!;
      this.buf = new Float32Array(mem, kBuf, this.capFrames * ch);
      this.kOutView = new Float32Array(mem, kOut, CHUNK * ch);
      this.kState = new DataView(mem, 0, 16);
    } else {
      this.simd = false;
      this.buf = new Float32Array(this.capFrames * ch);
    }
  }

  /** Current read position (absolute input frames, fractional). */
  position(): number {
    return this.posInt + this.frac;
  }

  /** Absolute index one past the last input frame pushed. */
  inputEnd(): number {
    return this.bufStart + this.bufLen;
  }

  /** Moves the read position; buffered input is discarded and push() continues from `inputStart`. */
  setPosition(pos: number, inputStart = Math.floor(pos) - this.lookahead + 1): void {
    this.posInt = Math.floor(pos);
    this.frac = pos - this.posInt;
    this.bufStart = inputStart;
    this.bufLen = 0;
    this.lastNonZero = -Infinity;
  }

  /** Absolute index (exclusive) the input must reach to produce `nOut` frames at `ratio`. */
  inputNeeded(nOut: number, ratio: number): number {
    return Math.floor(this.posInt + this.frac + (nOut - 1) * ratio) + this.lookahead + 1;
  }

  /** Room for input (frames) before push() must drop any: the caller never needs more per block. */
  capacity(): number {
    return this.capFrames;
  }

  /** Appends `count` interleaved frames (from frame `offset` of `frames`) at inputEnd(). */
  push(frames: Float32Array, count: number, offset = 0): void {
    const ch = this.channels;
    this.compact(count);
    const n = Math.min(count, this.capFrames - this.bufLen);
    const base = this.bufLen * ch;
    const src = offset * ch;
    const buf = this.buf;
    let lastNz = -1;
    for (let i = 0; i < n * ch; i++) {
      const v = frames[src + i]!;
      buf[base + i] = v;
      if (v !== 0) lastNz = i;
    }
    if (lastNz >= 0) this.lastNonZero = this.bufStart + this.bufLen + Math.floor(lastNz / ch);
    this.bufLen += n;
  }

  /** Appends `count` frames of silence. */
  pushSilence(count: number): void {
    this.compact(count);
    const n = Math.min(count, this.capFrames - this.bufLen);
    this.buf.fill(0, this.bufLen * this.channels, (this.bufLen + n) * this.channels);
    this.bufLen += n;
  }

  /** Drops input no longer reachable (before the current window) to make room for `incoming` frames. */
  private compact(incoming: number): void {
    if (this.bufLen + incoming <= this.capFrames) return;
    const keepFrom = Math.max(0, Math.min(this.bufLen, this.posInt - this.lookahead + 1 - this.bufStart));
    if (keepFrom === 0) return;
    const ch = this.channels;
    this.buf.copyWithin(0, keepFrom * ch, this.bufLen * ch);
    this.bufStart += keepFrom;
    this.bufLen -= keepFrom;
  }

  /**
   * Writes `nOut` interleaved frames to `out` starting at frame `outOffset`, reading at `ratio`
   * input frames per output frame, and advances the position. Input not pushed reads as zero.
   */
  process(out: Float32Array, outOffset: number, nOut: number, ratio: number): void {
    const ch = this.channels,
      half = this.lookahead;
    let done = 0;
    while (done < nOut) {
      const windowStart = this.posInt - half + 1;
      if (windowStart > this.lastNonZero) {
        // Only silence from here on (positions only grow): no MACs, just move the position.
        out.fill(0, (outOffset + done) * ch, (outOffset + nOut) * ch);
        this.step(nOut - done, ratio);
        return;
      }
      const i0 = windowStart - this.bufStart;
      // Frames whose whole window lies in the buffer (conservative by up to one frame).
      const room = this.bufStart + this.bufLen - (this.posInt + half + 1);
      let m = i0 >= 0 && room - this.frac >= 0 ? Math.floor((room - this.frac) / ratio) + 1 : 0;
      m = Math.min(m, nOut - done, CHUNK);
      if (m > 0) {
        this.fast(out, outOffset + done, m, ratio, i0);
        done += m;
      } else {
        this.edge(out, (outOffset + done) * ch, i0, this.frac);
        this.step(1, ratio);
        done += 1;
      }
    }
  }

  private step(n: number, ratio: number): void {
    let posInt = this.posInt,
      frac = this.frac;
    for (let i = 0; i < n; i++) {
      frac += ratio;
      const carry = Math.floor(frac);
      posInt += carry;
      frac -= carry;
    }
    this.posInt = posInt;
    this.frac = frac;
  }

  /** `m` frames whose windows are all inside the buffer. */
  private fast(out: Float32Array, outFrame: number, m: number, ratio: number, i0: number): void {
    const ch = this.channels,
      T = this.taps,
      P = this.phases;
    if (this.kernel) {
      (ch === 2 ? this.kernel.st : this.kernel.mo)(this.kOut, m, i0, this.frac, ratio, this.kCoef, this.kDelta, this.kBuf, T, P);
      const state = this.kState!;
      const frac = state.getFloat64(0, true);
      const i0After = state.getInt32(8, true);
      this.posInt += i0After - i0;
      this.frac = frac;
      out.set(this.kOutView!.subarray(0, m * ch), outFrame * ch);
      return;
    }
    const coef = this.coef,
      delta = this.delta,
      buf = this.buf;
    let frac = this.frac,
      j0 = i0,
      o = outFrame * ch;
    for (let n = 0; n < m; n++) {
      const phase = frac * P;
      const p0 = phase | 0;
      const a = phase - p0;
      const b = p0 * T;
      if (ch === 2) {
        let s0 = 0,
          s1 = 0,
          j = j0 * 2;
        for (let k = 0; k < T; k++, j += 2) {
          const c = coef[b + k]! + a * delta[b + k]!;
          s0 += c * buf[j]!;
          s1 += c * buf[j + 1]!;
        }
        out[o] = s0;
        out[o + 1] = s1;
      } else if (ch === 1) {
        let s0 = 0;
        for (let k = 0; k < T; k++) s0 += (coef[b + k]! + a * delta[b + k]!) * buf[j0 + k]!;
        out[o] = s0;
      } else {
        this.edge(out, o, j0, frac);
      }
      o += ch;
      frac += ratio;
      const carry = Math.floor(frac);
      j0 += carry;
      frac -= carry;
    }
    this.posInt += j0 - i0;
    this.frac = frac;
  }

  /** The general (slow) path: any channel count, window partly outside the buffer (missing input reads as zero). */
  private edge(out: Float32Array, o: number, i0: number, frac: number): void {
    const ch = this.channels,
      T = this.taps,
      P = this.phases;
    const phase = frac * P;
    const p0 = phase | 0;
    const a = phase - p0;
    const b = p0 * T;
    for (let c = 0; c < ch; c++) {
      let s = 0;
      for (let k = 0; k < T; k++) {
        const i = i0 + k;
        if (i < 0 || i >= this.bufLen) continue;
        s += (this.coef[b + k]! + a * this.delta[b + k]!) * this.buf[i * ch + c]!;
      }
      out[o + c] = s;
    }
  }
}
