// The output loop of a player: sink position → DacClock → Playout.render → sink.write, on a timer
// of the injected clock. It owns no audio logic (that is the Playout's) and no device (the sink's);
// it only keeps the sink's queue topped up with blocks rendered for the wall instant their first
// frame will reach the DAC.
//
// Rules:
// - Every tick observes the sink's consumed-frames position (the DAC clock's only input) and then
//   fills writable() with whole blocks; block k's first frame is frame `framesWritten()` of the
//   sink's epoch, whose wall instant the DacClock predicts.
// - A new sink epoch (DAC restored or reopened) starts a fresh DacClock: frame counts restart at 0.
//   Its first frame is taken to play the sink's startup latency after its first write (learnt on
//   the previous epoch: its fitted frame-0 instant minus its first write, 1-5 s in; at most
//   MAX_STARTUP_MS), until the
//   new epoch's own readings come: a sink process restarted under a playing stream resumes with
//   the stream's audio at the right instant, where it used to write a buffer of silence first.
// - While the sink is lost it keeps pacing (audio-out.ts rule 2), so rendering continues against
//   the nominal clock and the stream stays aligned for when the DAC returns.
import type { Clock, TimerHandle } from '../../core/clock.ts';
import type { AudioSink } from '../../hal/audio-out.ts';
import type { RenderInfo } from '../types.ts';
import type { DacClock } from './dac-clock.ts';
import type { OutputMonitor } from './output-monitor.ts';

/** When (ms after an epoch's first write) its startup latency is read off its fitted line. */
const STARTUP_LEARN_MS = [1000, 5000] as const;
/**
 * The startup latency used is at most this (ms). A first epoch's can be far longer than a
 * restart's: the first stream into an idle PulseAudio sink took ~250 ms (1.2-1.6 s on a fresh
 * daemon), a restart's 3-9 ms, and a restart's first blocks rendered for 250 ms later than they
 * played: a quarter second of the wrong audio, then silence where the player had to jump back
 * (rooms bench). Too short a guess only makes the first blocks late, which the first readings
 * correct by jumping forward (nothing is lost); DACs start within milliseconds of their first write.
 */
const MAX_STARTUP_MS = 5;

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
  /** Wall time of the current epoch's first write (NaN before it). */
  private firstWriteWall = NaN;
  /** Learnt: an epoch's frame 0 reaches the DAC this long after its first write (ms; NaN: not yet). */
  private startupMs = NaN;
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
  /** The sink's startup latency learnt so far (ms; NaN before an epoch has played 1 s). */
  startupLatencyMs(): number {
    return this.startupMs;
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
      this.firstWriteWall = NaN;
    }
    this.dac.observe(pos.framesConsumed, pos.wallMs);
    const mon = this.o.monitor;
    const now = this.o.clock.now();
    const wallNow = this.o.clock.wall();
    if (st === 'open' && Number.isFinite(this.firstWriteWall)) {
      const age = wallNow - this.firstWriteWall;
      const f0 = this.dac.wallOfFrame(0);
      if (age >= STARTUP_LEARN_MS[0] && age <= STARTUP_LEARN_MS[1] && Number.isFinite(f0))
        this.startupMs = Math.min(MAX_STARTUP_MS, Math.max(0, f0 - this.firstWriteWall));
    }
    mon?.position(now, pos.epoch, pos.framesConsumed, sink.framesWritten(), st);
    const frames = this.blockFrames;
    // Bounded: never more than a second of blocks per tick, whatever writable() says.
    for (let n = 0; n < 200 && sink.writable() >= frames; n++) {
      const first = sink.framesWritten();
      if (first === 0 && st === 'open' && Number.isNaN(this.firstWriteWall)) {
        this.firstWriteWall = wallNow;
        // Not `this.dac.provisional(wallNow + this.startupMs)`: placing a reopened sink's first
        // blocks by the learned start-up latency shortened a restart's silence in the rooms bench,
        // but on the file-backed ALSA device (faults/audio/player-faults, a DAC unplugged and
        // plugged back) the guess was off by enough that the rooms were still 157–233 µs apart 2 s
        // later in 1 run of 3 (limit 150 µs; 0 of 8 without it). Until a provisional start hands over
        // to the fit without that residue, a new epoch starts with silence until its first reading.
      }
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
