// The source reader: turns the jitter buffer's packets into a continuous stream of source frames
// (float, interleaved, source channels) from a cursor on the source timeline, concealing what is
// missing. It is the stage the resampler pulls from.
//
// Rules:
// - Before the first packet of a lock: silence (pre-roll), not loss.
// - A gap with a later packet buffered is loss; no packet at all while playing is an underrun
//   (one per episode). Both are concealed the same way: the last pitch period (autocorrelation
//   over 2.5..20 ms of history) repeats at full level for 10 ms, then fades out over 20 ms, then
//   silence. Repeating a matched period continues a periodic sound without a seam.
// - Returning from concealment or silence cross-fades over 128 frames into the real audio
//   (a fade-in when concealment had already reached silence): no click either way.
// - No allocation per read: history, scratch and decode work in fixed typed arrays.
import type { JitterBuffer } from '../packets/jitter-buffer.ts';

const HIST = 2048;
const XFADE = 128;

export interface ReadResult {
  concealed: number;
  silent: number;
  underrun: boolean;
}

export class SourceReader {
  readonly channels: number;
  private readonly jb: JitterBuffer;
  private readonly rate: number;
  private cursor = 0;
  private started = false;
  private playedAny = false;
  /** History of produced frames (ring), for concealment. */
  private readonly hist: Float32Array;
  private histPos = 0;
  private histFill = 0;
  // Concealment state.
  private concealing = false;
  private period = 0;
  private concealIdx = 0;
  private readonly concealBuf: Float32Array;
  private readonly holdFrames: number;
  private readonly fadeFrames: number;
  /** Frames left in a cross-fade from concealment into real audio (counts down). */
  private xfadeLeft = 0;
  private inUnderrun = false;
  underruns = 0;
  concealedFrames = 0;
  private readonly mono: Float32Array;

  constructor(jb: JitterBuffer, channels: number, rate: number) {
    this.jb = jb;
    this.channels = channels;
    this.rate = rate;
    this.hist = new Float32Array(HIST * channels);
    this.concealBuf = new Float32Array(HIST * channels);
    this.holdFrames = Math.round(rate * 0.01);
    this.fadeFrames = Math.round(rate * 0.02);
    this.mono = new Float32Array(HIST);
  }

  position(): number {
    return this.cursor;
  }
  isStarted(): boolean {
    return this.started;
  }
  /** True once real audio has been read since the last start (pre-roll is over). */
  hasPlayed(): boolean {
    return this.playedAny;
  }

  /** Starts (or restarts) reading at source frame `at` (integer). */
  start(at: number): void {
    this.cursor = at;
    this.started = true;
    this.concealing = false;
    this.xfadeLeft = 0;
    this.histFill = 0;
    this.playedAny = false;
    this.inUnderrun = false;
    this.jb.rewind(at); // audio already read before `at` is read again (a DAC reopened: jitter-buffer.ts)
    this.jb.advance(at);
  }

  reset(): void {
    this.started = false;
    this.playedAny = false;
    this.concealing = false;
    this.histFill = 0;
  }

  /** Fills `dst` (interleaved) with `frames` frames from the cursor and advances it. */
  read(dst: Float32Array, frames: number): ReadResult {
    const ch = this.channels;
    let done = 0,
      concealed = 0,
      silent = 0,
      underrun = false;
    while (done < frames) {
      this.jb.advance(this.cursor);
      const p = this.jb.first();
      if (p && p.ts <= this.cursor) {
        const off = this.cursor - p.ts;
        const n = Math.min(p.frames - off, frames - done);
        this.decode(p.payload, off, n, dst, done);
        if (!this.playedAny) {
          // First audio of this start (joining mid-stream): fade in from silence.
          this.period = 0;
          this.concealIdx = 0;
          this.xfadeLeft = XFADE;
        } else if (this.concealing) {
          this.xfadeLeft = XFADE; // cross-fade from the concealment's continuation
        }
        this.concealing = false;
        if (this.xfadeLeft > 0) this.crossfade(dst, done, n);
        this.playedAny = true;
        this.inUnderrun = false;
        this.remember(dst, done, n);
        done += n;
        this.cursor += n;
        continue;
      }
      const n = p ? Math.min(p.ts - this.cursor, frames - done) : frames - done;
      if (!this.playedAny) {
        dst.fill(0, done * ch, (done + n) * ch);
        silent += n;
      } else {
        if (!p && !this.inUnderrun) {
          this.inUnderrun = true;
          this.underruns++;
          underrun = true;
        }
        const c = this.conceal(dst, done, n);
        concealed += c;
        silent += n - c;
        this.remember(dst, done, n);
      }
      done += n;
      this.cursor += n;
    }
    this.concealedFrames += concealed;
    return { concealed, silent, underrun };
  }

  private decode(payload: Uint8Array, offFrames: number, n: number, dst: Float32Array, at: number): void {
    const ch = this.channels;
    let b = offFrames * ch * 2;
    const end = (at + n) * ch;
    for (let i = at * ch; i < end; i++, b += 2) {
      const v = (payload[b]! << 8) | payload[b + 1]!;
      dst[i] = (v >= 32768 ? v - 65536 : v) / 32768;
    }
  }

  private remember(src: Float32Array, at: number, n: number): void {
    const ch = this.channels;
    // Only the newest HIST frames matter; copy them in at most two runs around the ring.
    let from = n > HIST ? at + n - HIST : at;
    let left = Math.min(n, HIST);
    while (left > 0) {
      const run = Math.min(left, HIST - this.histPos);
      this.hist.set(src.subarray(from * ch, (from + run) * ch), this.histPos * ch);
      this.histPos = (this.histPos + run) % HIST;
      from += run;
      left -= run;
    }
    this.histFill = Math.min(HIST, this.histFill + n);
  }

  /** History frame `back` frames before the newest (back ≥ 1), channel c. */
  private histAt(back: number, c: number): number {
    const i = (this.histPos - back + HIST * 2) % HIST;
    return this.hist[i * this.channels + c]!;
  }

  /** Writes n concealment frames; returns how many were non-silent. */
  private conceal(dst: Float32Array, at: number, n: number): number {
    const ch = this.channels;
    if (!this.concealing) this.beginConceal();
    let audible = 0;
    for (let f = 0; f < n; f++) {
      const k = this.concealIdx++;
      const g = k < this.holdFrames ? 1 : Math.max(0, 1 - (k - this.holdFrames) / this.fadeFrames);
      const src = (k % this.period) * ch;
      for (let c = 0; c < ch; c++) dst[(at + f) * ch + c] = this.period > 0 ? g * this.concealBuf[src + c]! : 0;
      if (g > 0 && this.period > 0) audible++;
    }
    return audible;
  }

  private beginConceal(): void {
    const ch = this.channels;
    this.concealing = true;
    this.concealIdx = 0;
    this.xfadeLeft = 0;
    const avail = this.histFill;
    const minP = Math.round(this.rate * 0.0025),
      maxP = Math.min(Math.round(this.rate * 0.02), Math.floor(avail / 2));
    if (maxP < minP) {
      this.period = 0;
      return;
    }
    // Mono mix of the newest `avail` frames, oldest first.
    const m = this.mono;
    for (let i = 0; i < avail; i++) {
      let s = 0;
      for (let c = 0; c < ch; c++) s += this.histAt(avail - i, c);
      m[i] = s / ch;
    }
    // Coarse search on a 2:1 decimated mix (a quarter of the work), then refine ±2 at full rate.
    const half = avail >> 1;
    for (let i = 0; i < half; i++) m[i] = 0.5 * (m[avail - 2 * half + 2 * i]! + m[avail - 2 * half + 2 * i + 1]!);
    const score = (x: Float32Array, end: number, p: number, w: number): number => {
      let xy = 0,
        xx = 0,
        yy = 0;
      for (let i = end - w; i < end; i++) {
        const a = x[i]!,
          b = x[i - p]!;
        xy += a * b;
        xx += a * a;
        yy += b * b;
      }
      return xx > 0 && yy > 0 ? xy / Math.sqrt(xx * yy) : 0;
    };
    let best = maxP,
      bestScore = -Infinity;
    const w2 = Math.min(maxP >> 1, 128);
    for (let p = minP >> 1; p <= maxP >> 1; p++) {
      const sc = score(m, half, p, w2);
      if (sc > bestScore + 1e-9) {
        bestScore = sc;
        best = 2 * p;
      }
    }
    // Refine on the full-rate mix (rebuilt: the decimation overwrote its start).
    for (let i = 0; i < avail; i++) {
      let sum = 0;
      for (let c = 0; c < ch; c++) sum += this.histAt(avail - i, c);
      m[i] = sum / ch;
    }
    const w = Math.min(maxP, 256);
    const coarse = best;
    bestScore = -Infinity;
    for (let p = Math.max(minP, coarse - 2); p <= Math.min(maxP, coarse + 2); p++) {
      const sc = score(m, avail, p, w);
      if (sc > bestScore + 1e-9) {
        bestScore = sc;
        best = p;
      }
    }
    this.period = best;
    // The last period, in order, to repeat.
    for (let i = 0; i < best; i++) for (let c = 0; c < ch; c++) this.concealBuf[i * ch + c] = this.histAt(best - i, c);
  }

  /** Blends the concealment continuation out and the real audio in over the cross-fade. */
  private crossfade(dst: Float32Array, at: number, n: number): void {
    const ch = this.channels;
    for (let f = 0; f < n && this.xfadeLeft > 0; f++) {
      const g = 1 - this.xfadeLeft / XFADE; // weight of real audio
      const k = this.concealIdx++;
      const cg = this.period > 0 ? (k < this.holdFrames ? 1 : Math.max(0, 1 - (k - this.holdFrames) / this.fadeFrames)) : 0;
      const src = this.period > 0 ? (k % this.period) * ch : 0;
      for (let c = 0; c < ch; c++) {
        const i = (at + f) * ch + c;
        dst[i] = g * dst[i]! + (1 - g) * cg * (this.period > 0 ? this.concealBuf[src + c]! : 0);
      }
      this.xfadeLeft--;
    }
  }
}
