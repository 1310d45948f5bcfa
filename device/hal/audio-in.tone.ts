// A sine test tone: phase-continuous across reads, identical on every channel. Pure generation;
// the source paces it (audio-in.ts rule 1).
import type { AudioInput, InputCounters, InputFormat, InputStatus } from './audio-in.ts';

export interface ToneSpec {
  frequency?: number;
  amplitude?: number;
}

export function createToneInput(spec: ToneSpec): AudioInput {
  const freq = spec.frequency ?? 1000;
  const amp = Math.round((spec.amplitude ?? 0.5) * 32767);
  let fmt: InputFormat | undefined;
  let st: InputStatus = 'closed';
  let phase = 0; // in frames, kept modulo the period's rate to stay exact over days
  let delivered = 0;
  return {
    kind: 'tone',
    description: `tone:${freq}Hz`,
    status: () => st,
    lastError: () => null,
    async open(f) {
      fmt = f;
      st = 'open';
      phase = 0;
    },
    read(frames) {
      const out = new Int16Array(frames * (fmt?.channels ?? 2));
      if (st !== 'open' || !fmt) return out;
      const w = (2 * Math.PI * freq) / fmt.rate;
      for (let i = 0; i < frames; i++) {
        const v = Math.round(amp * Math.sin(w * (phase + i)));
        for (let c = 0; c < fmt.channels; c++) out[i * fmt.channels + c] = v;
      }
      phase = (phase + frames) % fmt.rate;
      delivered += frames;
      return out;
    },
    counters: (): InputCounters => ({ delivered, dropped: 0, padded: 0 }),
    async close() {
      st = 'closed';
    },
  };
}
