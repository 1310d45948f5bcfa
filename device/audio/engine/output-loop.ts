// The output loop of a player: sink position → DacClock → Playout.render → sink.write, on a timer
// of the injected clock. It owns no audio logic (that is the Playout's) and no device (the sink's);
// it only keeps the sink's queue topped up with blocks rendered for the wall instant their first
// frame will reach the DAC.
//
// Rules:
// - Every tick observes the sink's consumed-frames position (the DAC clock's only input) and then
//   fills writable() with whole blocks; block k's first frame is frame `framesWritten()` of the
//   sink's epoch, whose wall instant the DacClock predicts.
// - A new sink epoch (DAC restored or reopened) starts a fresh DacClock: frame counts restart at 0,
//   and its blocks are silence until the epoch's first DAC reading. (Placing them by the previous
//   epoch's learnt start-up latency shortened a restart's silence in the rooms bench, but left a
//   replugged DAC 157-233 µs off 2 s later in 1 run of 3 of faults/audio/player-faults; taken back
//   until a provisional start hands over to the fit without that residue.)
// - While the sink is lost it keeps pacing (audio-out.ts rule 2), so rendering continues against
//   the nominal clock and the stream stays aligned for when the DAC returns.
import type { Clock, TimerHandle } from '../../core/clock.ts';
import type { AudioSink } from '../../hal/audio-out.ts';
import type { RenderInfo } from '../types.ts';
import type { DacClock } from './dac-clock.ts';
import type { OutputMonitor } from './output-monitor.ts';

export interface Renderer {
  render(out: Int16Array, firstFrameWallMs: number, dacRateHz: number): RenderInfo;
}

export interface OutputLoopOptions {
  clock: Clock;
  sink: AudioSink;
  rate: number;
  channels: 1 | 2;
  /** Frames per block (default 5 ms of audio). */
  blockFrames?: number;
  /** Tick period (default half a block). */
  tickMs?: number;
  /** Builds a DAC clock estimator; a fresh one per sink epoch. */
  newDacClock: () => DacClock;
  /** Told every sink position and every block written (what reaches the DAC). */
  monitor?: OutputMonitor;
}

export class OutputLoop {
  private dac: DacClock;
  private epoch = -1;
  private timer: TimerHandle | undefined;
  private block: Int16Array;
  private renderer: Renderer | undefined;
  private last: RenderInfo | null = null;
  blocks = 0;

  constructor(private readonly o: OutputLoopOptions) {
    this.dac = o.newDacClock();
    const frames = o.blockFrames ?? Math.round(o.rate / 200);
    this.block = new Int16Array(frames * o.channels);
  }

  get blockFrames(): number {
    return this.block.length / this.o.channels;
  }
  dacClock(): DacClock {
    return this.dac;
  }
  lastRender(): RenderInfo | null {
    return this.last;
  }

  /** Sets (or clears) what renders the audio; silence while none. */
  setRenderer(r: Renderer | undefined): void {
    this.renderer = r;
  }

  start(): void {
    if (this.timer) return;
    this.timer = this.o.clock.setInterval(() => this.tick(), this.o.tickMs ?? Math.max(1, (this.blockFrames * 500) / this.o.rate));
    this.tick();
  }

  stop(): void {
    this.o.clock.clearInterval(this.timer);
    this.timer = undefined;
  }

  tick(): void {
    const { sink } = this.o;
    const st = sink.status();
    if (st === 'closed' || st === 'opening') return;
    const pos = sink.position();
    if (pos.epoch !== this.epoch) {
      this.epoch = pos.epoch;
      this.dac = this.o.newDacClock();
    }
    this.dac.observe(pos.framesConsumed, pos.wallMs);
    const mon = this.o.monitor;
    const now = this.o.clock.now();
    const wallNow = this.o.clock.wall();
    mon?.position(now, pos.epoch, pos.framesConsumed, sink.framesWritten(), st);
    const frames = this.blockFrames;
    // Bounded: never more than a second of blocks per tick, whatever writable() says.
    for (let n = 0; n < 200 && sink.writable() >= frames; n++) {
      const first = sink.framesWritten();
      const wall = this.dac.wallOfFrame(first);
      if (this.renderer) this.last = this.renderer.render(this.block, wall, this.dac.rateHz());
      else {
        this.block.fill(0);
        this.last = null;
      }
      sink.write(this.block, { rtpTimeAtStart: this.last?.rtpTimeAtStart ?? null });
      this.blocks++;
      mon?.block(now, frames, this.last, wall, wallNow, st);
    }
  }
}
