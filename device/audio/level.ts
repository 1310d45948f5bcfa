// The level of the audio written to a DAC: per channel, the peak and the RMS of the samples
// written since the last reading, in dBFS. Pure: samples in, a reading out on demand.
//
// Rules: the reference is full scale of s16 (32768): a sample of −32768 is a 0 dBFS peak, and a
// full-scale square wave is 0 dBFS RMS (so a full-scale sine reads −3.01). Digital silence, and
// anything quieter than LEVEL_FLOOR_DBFS, reads the floor (JSON has no −∞). A reading with no
// frames (nothing written: the DAC is gone or the player idle) reads the floor on every channel.
import { LEVEL_FLOOR_DBFS, type PlayerLevel } from '../../protocol/roles/player.ts';

function dbfs(x: number): number {
  if (!(x > 0)) return LEVEL_FLOOR_DBFS;
  return Math.max(LEVEL_FLOOR_DBFS, Math.min(0, Math.round(200 * Math.log10(x / 32768)) / 10));
}

export class LevelMeter {
  private peak: number[];
  private sumSq: number[];
  private frames = 0;
  private since: number;

  constructor(
    private readonly channels: number,
    now: number,
  ) {
    this.peak = new Array<number>(channels).fill(0);
    this.sumSq = new Array<number>(channels).fill(0);
    this.since = now;
  }

  /** Interleaved s16 samples as written to the DAC. */
  add(block: Int16Array): void {
    const ch = this.channels;
    for (let c = 0; c < ch; c++) {
      let peak = this.peak[c]!,
        sum = 0;
      for (let i = c; i < block.length; i += ch) {
        const v = block[i]!;
        const a = v < 0 ? -v : v;
        if (a > peak) peak = a;
        sum += v * v;
      }
      this.peak[c] = peak;
      this.sumSq[c]! += sum;
    }
    this.frames += Math.floor(block.length / ch);
  }

  /** The reading since the last one (or since construction), and a fresh start at `now`. */
  take(now: number): PlayerLevel {
    const n = this.frames;
    const reading: PlayerLevel = {
      windowMs: Math.round(now - this.since),
      frames: n,
      peakDbfs: this.peak.map((p) => dbfs(p)),
      rmsDbfs: this.sumSq.map((s) => dbfs(n > 0 ? Math.sqrt(s / n) : 0)),
    };
    this.peak.fill(0);
    this.sumSq.fill(0);
    this.frames = 0;
    this.since = now;
    return reading;
  }
}
