// Checks on what a simulated DAC's mirror wrote to its ALSA file device: tone analysis, finding a
// known source signal in the output, and silence.
import { readFileSync, existsSync } from 'node:fs';
import { thdn, channel, rms } from '../../device/audio/analysis.ts';

/** Interleaved s16le samples of a raw file (empty when the file does not exist yet). */
export function readS16(path: string): Int16Array {
  if (!existsSync(path)) return new Int16Array(0);
  const b = readFileSync(path);
  const out = new Int16Array(b.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = b.readInt16LE(i * 2);
  return out;
}

export interface ToneCheck {
  hz: number;
  thdnDb: number;
  dbfs: number;
  rms: number;
}

/** Tone analysis of the last `frames` frames (default 32768) of channel 0 of stereo audio. */
export function toneOf(pcm: Int16Array, frames = 32768, channels = 2, rate = 48000): ToneCheck {
  const total = pcm.length / channels;
  if (total < frames) throw new Error(`only ${total} frames to analyse`);
  const x = channel(pcm, channels, 0, total - frames, frames);
  const r = thdn(x, rate, { fullScale: 32767 });
  return { hz: r.fundamentalHz, thdnDb: r.thdnDb, dbfs: r.fundamentalDbfs, rms: rms(x) };
}

/**
 * Dropouts inside a signal: runs of `run` or more frames below `level` on channel 0 of `pcm`
 * (interleaved), as [from, to) frame ranges; silence before the first sound and after the last is
 * none. A sender that itself drops out (PipeWire's graph missing a cycle sends silence inside the
 * tone) shows here, in what it sent and in what a player played of it.
 */
export function dropouts(pcm: ArrayLike<number>, channels = 2, run = 32, level = 100): [number, number][] {
  const total = Math.floor(pcm.length / channels);
  const quietAt = (i: number) => Math.abs(pcm[i * channels]!) < level;
  let first = 0,
    end = total;
  while (first < total && quietAt(first)) first++;
  while (end > first && quietAt(end - 1)) end--;
  const out: [number, number][] = [];
  for (let i = first, from = -1; i <= end; i++) {
    if (i < end && quietAt(i)) {
      if (from < 0) from = i;
      continue;
    }
    if (from >= 0 && i - from >= run) out.push([from, i]);
    from = -1;
  }
  return out;
}

/**
 * The last `frames` frames of `pcm` (interleaved) between dropouts (see dropouts): the stretch a
 * player is judged on when its sender dropped out; null when no stretch is that long.
 */
export function lastWholeStretch(pcm: Int16Array, frames = 32768, channels = 2, run = 32, level = 100): Int16Array | null {
  const total = pcm.length / channels;
  let end = total;
  while (end > 0 && Math.abs(pcm[(end - 1) * channels]!) < level) end--; // trailing silence
  const gaps = dropouts(pcm, channels, run, level);
  for (let k = gaps.length; k >= 0; k--) {
    const from = k > 0 ? gaps[k - 1]![1] : 0;
    const to = k < gaps.length ? gaps[k]![0] : end;
    if (to - from >= frames) return pcm.subarray((to - frames) * channels, to * channels);
  }
  return null;
}

/**
 * Where `needle` (interleaved) starts in `hay`, searching frame-aligned; -1 if absent. Used to
 * line the played output up with the source material before comparing byte for byte.
 */
export function findSamples(hay: Int16Array, needle: Int16Array, channels = 2): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i += channels) {
    for (let k = 0; k < needle.length; k++) if (hay[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}

/** A pseudo-random full-band signal (xorshift), identical in both channels: unmistakable once found. */
export function noise(frames: number, seed = 12345): Int16Array {
  let s = seed >>> 0 || 1;
  const out = new Int16Array(frames * 2);
  for (let i = 0; i < frames; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[2 * i] = out[2 * i + 1] = (((s >>> 16) & 0xffff) - 32768) >> 2; // quarter scale
  }
  return out;
}

/** A 16-bit PCM WAV file's bytes. */
export function wavBytes(samples: Int16Array, rate: number, channels: number): Buffer {
  const data = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}
