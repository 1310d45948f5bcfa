// A simulated DAC for the whole-chain simulation (the HAL's audio-out.sim.ts is the adapter the
// player role uses; this one is the minimal pure model behind simulateLoop). Frame slot n plays at
// start + n·1000/(nominal·(1 + ppm/1e6)) ms of wall time. Written frames take consecutive slots;
// if the FIFO ran dry, the block lands at the next free slot (an underrun, counted).

export class SimDac {
  readonly trueRate: number;
  private written = 0;
  private silenceSlots = 0;
  underruns = 0;

  constructor(
    readonly nominal: number,
    readonly ppm: number,
    readonly startWallMs: number,
  ) {
    this.trueRate = nominal * (1 + ppm / 1e6);
  }

  private slotAt(wallMs: number): number {
    return Math.floor(((wallMs - this.startWallMs) * this.trueRate) / 1000);
  }

  /** Frames of the written stream that have started playing by `wallMs` (what a sink reports). */
  consumed(wallMs: number): number {
    if (wallMs < this.startWallMs) return 0;
    return Math.max(0, Math.min(this.written, this.slotAt(wallMs) + 1 - this.silenceSlots));
  }

  framesWritten(): number {
    return this.written;
  }

  /** Queues a block at `nowWallMs`; returns the wall instant its first frame reaches the analog side. */
  write(frames: number, nowWallMs: number): number {
    const current = Math.max(0, this.slotAt(nowWallMs) + 1);
    let slot = this.written + this.silenceSlots;
    if (slot < current) {
      if (this.written > 0) this.underruns++;
      this.silenceSlots += current - slot;
      slot = current;
    }
    this.written += frames;
    return this.startWallMs + (slot * 1000) / this.trueRate;
  }
}
