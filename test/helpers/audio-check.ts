// Checks on what a simulated DAC's mirror wrote to its ALSA file device: tone analysis, finding a
// known source signal in the output, and silence. (Judging a player against a real sender's own
// glitches: sender-health.ts.)
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
