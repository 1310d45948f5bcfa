// A music-like loop for the demo house, synthesised here (no recorded audio, nothing copyrighted):
// a I–vi–IV–V progression in C, a plucked-string voice per chord note (Karplus–Strong), a sine bass
// on the root, 96 bpm, 8 bars. 48 kHz stereo s16le WAV, the notes panned apart so left and right
// differ (a room playing the wrong channel is audible).

const RATE = 48_000;

/** MIDI note → Hz. */
const hz = (n: number) => 440 * 2 ** ((n - 69) / 12);

/** One plucked string: a noise burst through a damped delay line (Karplus–Strong). */
function pluck(freq: number, seconds: number, seed: number): Float32Array {
  const n = Math.round(seconds * RATE);
  const out = new Float32Array(n);
  const period = Math.max(2, Math.round(RATE / freq));
  const line = new Float32Array(period);
  let s = seed;
  for (let i = 0; i < period; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    line[i] = (s / 2 ** 32) * 2 - 1;
  }
  let p = 0;
  for (let i = 0; i < n; i++) {
    const a = line[p]!,
      b = line[(p + 1) % period]!;
    out[i] = a;
    line[p] = 0.996 * 0.5 * (a + b);
    p = (p + 1) % period;
  }
  return out;
}

/** The loop as a WAV file (header + PCM). About 20 s, 3.8 MB. */
export function demoMusicWav(): Buffer {
  const bpm = 96;
  const beat = 60 / bpm;
  const chords = [
    [60, 64, 67],
    [57, 60, 64],
    [53, 57, 60],
    [55, 59, 62],
  ]; // C Am F G
  const bars = 8;
  const total = Math.round(bars * 4 * beat * RATE);
  const left = new Float32Array(total),
    right = new Float32Array(total);
  const add = (buf: Float32Array, at: number, x: Float32Array, gain: number) => {
    for (let i = 0; i < x.length && at + i < buf.length; i++) buf[at + i]! += x[i]! * gain;
  };
  let seed = 1;
  for (let bar = 0; bar < bars; bar++) {
    const chord = chords[bar % chords.length]!;
    for (let b = 0; b < 4; b++) {
      const at = Math.round((bar * 4 + b) * beat * RATE);
      // Arpeggio: one chord note per half beat, alternating sides.
      for (let h = 0; h < 2; h++) {
        const note = chord[(b * 2 + h) % 3]! + (b === 3 && h === 1 ? 12 : 0);
        const x = pluck(hz(note), beat * 2, seed++);
        const pan = (b * 2 + h) % 2 === 0 ? 0.3 : 0.7;
        const start = at + Math.round((h * beat * RATE) / 2);
        add(left, start, x, 0.28 * (1 - pan));
        add(right, start, x, 0.28 * pan);
      }
    }
    // Bass: the chord's root an octave down, a sine with a soft attack and decay, on beats 1 and 3.
    for (const b of [0, 2]) {
      const at = Math.round((bar * 4 + b) * beat * RATE);
      const f = hz(chord[0]! - 24);
      const len = Math.round(beat * 1.8 * RATE);
      for (let i = 0; i < len && at + i < total; i++) {
        const env = Math.min(1, i / 480) * Math.exp(-i / (RATE * 0.6));
        const v = 0.25 * env * Math.sin((2 * Math.PI * f * i) / RATE);
        left[at + i]! += v;
        right[at + i]! += v;
      }
    }
  }
  const data = Buffer.alloc(total * 4);
  for (let i = 0; i < total; i++) {
    data.writeInt16LE(Math.round(Math.max(-1, Math.min(1, left[i]!)) * 32000), i * 4);
    data.writeInt16LE(Math.round(Math.max(-1, Math.min(1, right[i]!)) * 32000), i * 4 + 2);
  }
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(2, 22);
  h.writeUInt32LE(RATE, 24);
  h.writeUInt32LE(RATE * 4, 28);
  h.writeUInt16LE(4, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}
