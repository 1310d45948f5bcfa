// A device reading stamped on the monotonic clock by two reads around it (the speaker sink
// process's snd_pcm_delay readings, audio-out.speaker-child.ts). Pure: the clock is injected.
//
// Rules:
// - The device was read somewhere between the two clock reads, so the reading is stamped at their
//   midpoint: off by at most half their distance (the bracket).
// - A bracket wider than limitMs() is no reading: the process paused inside it (preempted, or a
//   GC: the stamp itself allocates a BigInt), and where in the pause the device was read is
//   unknown. The caller takes the reading again. Stamped after the read, as before, one reading of
//   the rooms bench's step scenario was 0.66 ms late (the sink process paused between reading the
//   DAC and stamping it), 1.2 s into a restarted sink's epoch: its young DAC clock fit moved 85 µs
//   and the room 60 µs (issue 10, docs/audio.md "The sink restart").
// - limitMs() is BRACKET_FACTOR times the median of the last BRACKET_HISTORY brackets, at least
//   BRACKET_FLOOR_MS: a host whose clock reads and device call are slow (a Pi's jitless child) is
//   not refused every reading. Measured on this project's 2-core VM (true-time DAC plugin, jitless
//   child, load 5): median 32 µs, p99 98 µs, 0.5 % over 0.47 ms, up to 5.8 ms.

/** The narrowest refusal limit (ms). */
export const BRACKET_FLOOR_MS = 0.2;
/** The limit in medians of the recent brackets. */
export const BRACKET_FACTOR = 4;
/** How many recent brackets the median is taken over. */
export const BRACKET_HISTORY = 31;

export interface StampedReading<T> {
  value: T;
  /** The midpoint of the bracket (ms, the injected clock), or null: the bracket was too wide (no reading). */
  atMs: number | null;
  /** The bracket (ms). */
  widthMs: number;
}

export class ReadingStamper {
  private readonly widths: number[] = [];

  constructor(private readonly mono: () => number) {}

  /** The widest bracket taken as a reading now (ms): see the rules. */
  limitMs(): number {
    if (this.widths.length === 0) return BRACKET_FLOOR_MS;
    const sorted = [...this.widths].sort((a, b) => a - b);
    return Math.max(BRACKET_FLOOR_MS, BRACKET_FACTOR * sorted[sorted.length >> 1]!);
  }

  /** Calls `read` between two reads of the clock: its value, and its instant unless the bracket was too wide. */
  read<T>(read: () => T): StampedReading<T> {
    const before = this.mono();
    const value = read();
    const after = this.mono();
    const widthMs = Math.max(0, after - before);
    const atMs = widthMs <= this.limitMs() ? (before + after) / 2 : null;
    this.widths.push(widthMs);
    if (this.widths.length > BRACKET_HISTORY) this.widths.shift();
    return { value, atMs, widthMs };
  }
}
