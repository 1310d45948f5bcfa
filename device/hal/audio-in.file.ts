// A file played in real time by the source: a WAV (PCM s16le, same rate and channels as the
// stream) or raw s16le. Read whole at open (sources are short jingles or test material; a
// day-long file belongs on an ALSA loopback instead). At the end it loops, or plays silence.
import { readFile } from 'node:fs/promises';
import type { AudioInput, InputCounters, InputFormat, InputStatus } from './audio-in.ts';

export interface FileSpec {
  path: string;
  loop?: boolean;
}

/** The PCM payload of a WAV file, checked against the wanted format; raw files pass through. */
export function pcmOfFile(data: Buffer, f: InputFormat, path: string): Int16Array {
  let pcm = data;
  if (data.length >= 12 && data.toString('ascii', 0, 4) === 'RIFF' && data.toString('ascii', 8, 12) === 'WAVE') {
    let off = 12;
    let fmtOk = false;
    pcm = Buffer.alloc(0);
    while (off + 8 <= data.length) {
      const id = data.toString('ascii', off, off + 4);
      const size = data.readUInt32LE(off + 4);
      const body = data.subarray(off + 8, Math.min(data.length, off + 8 + size));
      if (id === 'fmt ') {
        const format = body.readUInt16LE(0),
          channels = body.readUInt16LE(2),
          rate = body.readUInt32LE(4),
          bits = body.readUInt16LE(14);
        if ((format !== 1 && format !== 0xfffe) || bits !== 16) throw new Error(`${path}: only 16-bit PCM WAV is supported`);
        if (channels !== f.channels || rate !== f.rate)
          throw new Error(`${path}: the file is ${rate} Hz ${channels} ch; the stream is ${f.rate} Hz ${f.channels} ch`);
        fmtOk = true;
      } else if (id === 'data') {
        pcm = body;
        break;
      }
      off += 8 + size + (size & 1);
    }
    if (!fmtOk) throw new Error(`${path}: WAV without a fmt chunk`);
  }
  const frameBytes = 2 * f.channels;
  const usable = pcm.length - (pcm.length % frameBytes);
  const out = new Int16Array(usable / 2);
  for (let i = 0; i < out.length; i++) out[i] = pcm.readInt16LE(i * 2);
  return out;
}

export function createFileInput(spec: FileSpec): AudioInput {
  let fmt: InputFormat | undefined;
  let samples: Int16Array = new Int16Array(0);
  let pos = 0;
  let st: InputStatus = 'closed';
  let delivered = 0,
    padded = 0;
  const loop = spec.loop ?? true;
  return {
    kind: 'file',
    description: `file:${spec.path}`,
    status: () => st,
    lastError: () => null,
    async open(f) {
      fmt = f;
      samples = pcmOfFile(await readFile(spec.path), f, spec.path);
      pos = 0;
      st = 'open';
    },
    read(frames) {
      const ch = fmt?.channels ?? 2;
      const out = new Int16Array(frames * ch);
      if (st !== 'open') return out;
      let w = 0;
      while (w < out.length && samples.length > 0) {
        if (pos >= samples.length) {
          if (!loop) break;
          pos = 0;
        }
        const n = Math.min(out.length - w, samples.length - pos);
        out.set(samples.subarray(pos, pos + n), w);
        w += n;
        pos += n;
      }
      padded += (out.length - w) / ch;
      delivered += w / ch;
      return out;
    },
    counters: (): InputCounters => ({ delivered, dropped: 0, padded }),
    async close() {
      st = 'closed';
      samples = new Int16Array(0);
    },
  };
}
