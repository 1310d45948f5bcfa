// The output loop of a player: sink position → DacClock → Playout.render → sink.write, on a timer
// of the injected clock. It owns no audio logic (that is the Playout's) and no device (the sink's);
// it only keeps the sink's queue topped up with blocks rendered for the wall instant their first
// frame will reach the DAC.
//
// Rules:
// - Every tick observes the sink's consumed-frames position (the DAC clock's only input) and then
//   fills writable() with whole blocks; block k's first frame is frame `framesWritten()` of the
//   sink's epoch, whose wall instant the DacClock predicts. The DacClock is given the frames
//   written with each reading: a count that has reached them is the DAC run dry, not its line.
//   So is a reading the sink marks dry (SinkPosition.dry), whatever was written since: the
//   speaker sink's readings come from its sink process every 30–50 ms, so a count that stopped at
//   what ALSA had been given is usually below the frames written by the time the loop reads it,
//   and slipped past the first rule (in the rooms bench's step scenario room B ran dry again 0.4 s
//   after its sink process restarted; the stopped count then read as a point on the DAC's line).
// - The DacClock is fitted on now(), the monotonic clock the DAC's crystal keeps a fixed rate
//   against, and a frame's instant is turned into wall() through the clock's present line
//   (Clock.wallAt) when its block is rendered. Fitted on wall() stamps, the fit mixed readings
//   stamped under every line a house clock had served in its window: a player that had just
//   joined, its house clock stepping at the lock and then slewing ~0.7 ms in its first seconds,
//   rendered 0.4-0.5 ms off for 5-8 s after its clock was right (rooms bench floor-on, true DAC).
// - A new sink epoch (DAC restored or reopened) starts a fresh DacClock: frame counts restart at 0,
//   and the DacClock sees only that epoch's own DAC readings (the new device's position starts at
//   0; frames queued in the old one that never played are simply not in it).
// - An epoch's blocks are silence until its first DAC reading. In a later epoch (a sink process
//   restarted mid-play) that silence is a probe, not a queue: only PROBE_LEAD_MS of it (a quarter of
//   the sink's bufferMs if more: at 200 ms, 20 ms let the new run run dry 2-12 ms) is kept
//   ahead of the nominal pace (it starts the new DAC run; a dry spell then costs nothing), and from
//   the sink's first reading (the speaker sink asks its reopened process for one 5 ms after its
//   first write, not 30-50 ms: at a player's start one taken that early read a fresh PulseAudio
//   stream's under-reported delay, interop ffmpeg → player 1001.5 Hz) every block is
//   placed by the new epoch's own readings (its DacClock seeded with the last epoch's rate, the same
//   crystal); the queue then grows to the sink's at RAMP_PER_MS. Nothing is placed by a guess: a
//   start-up learnt in an earlier epoch was 29 ms off a warm spare's in the rooms bench at 200 ms.
// - Hand-over without residue: at a later epoch's first reading the renderer is told the timeline
//   moved (Renderer.discontinuity(fresh): the playout starts again at the ideal position, replaying
//   from its history the audio lost in the dead device), not left to slew the jump with its calm
//   drift loop. (A provisional start taken back in 487873b let the playout slew its guess's error: a
//   replugged DAC was still 157-233 µs off 2 s later in 1 run of 3 of faults/audio/player-faults.)
// - A move of the clock's line (a house-clock correction) is told to the renderer (clockMoved):
//   the wall instants of future frames move with it, and the playout's drift loop, already at its
//   calm steady gains, otherwise took seconds to follow. Seen as a change, between two ticks, of
//   the wall() the line gives one now() instant LINE_PROBE_MS ahead (where a slewed correction has
//   run its course); a line that only advances at its rate never changes it.
// - A gap in the DAC's run (it ran dry a few ms and carried on) that its DacClock takes in as a
//   position step of DAC_STEP_REANCHOR_MS or more, or as a jump (a reset mid-epoch), is told to
//   the renderer as a discontinuity: the blocks after it play that much later than they were
//   rendered for, and the playout jumps back onto its ideal position at the next block (a fade
//   within the block, right after the gap the listener already heard) instead of slewing it.
//   Slewed, a 2 ms gap bent the pitch up to +2833 ppm for a second (interop two-senders: 1002.4 Hz
//   played of a clean 1 kHz tone, 3 runs in 33), and left the room that far off the others as long.
// - While the sink is lost it keeps pacing (audio-out.ts rule 2), so rendering continues against
//   the nominal clock and the stream stays aligned for when the DAC returns.
import { wallAt, type Clock, type TimerHandle } from '../../core/clock.ts';
import type { AudioSink } from '../../hal/audio-out.ts';
import type { RenderInfo } from '../types.ts';
import type { DacClock } from './dac-clock.ts';
import type { OutputMonitor } from './output-monitor.ts';

export interface Renderer {
  render(out: Int16Array, firstFrameWallMs: number, dacRateHz: number): RenderInfo;
  /** The clock's line moved by `deltaMs` (a house-clock correction: a step, or a slew it started); see the rules. */
  clockMoved?(deltaMs: number): void;
  /**
   * The next block's instant does not continue the previous block's: jump to it, do not slew.
   * `fresh`: it is the first block of a new DAC run (nothing before it is heard).
   */
  discontinuity?(fresh: boolean): void;
}

/** Before a later epoch's first DAC reading, silence queued ahead of the nominal pace (ms): 10 left a 200 ms-queue run dry 11.9 ms right after its first reading (rooms bench, load 4-5.6). */
export const PROBE_LEAD_MS = 20;
/**
 * After a later epoch's first reading its queue grows from PROBE_LEAD_MS by this many ms per
 * ms, not in one tick: rendering a 200 ms queue in one tick held its first blocks in the sink's
 * stage for the whole burst (the stage goes down the pipe after the tick), and the new run ran dry
 * 0.3 ms right after its start in the rooms bench (load 3-5), then played 215 µs late for the
 * queue's length. (A cap in blocks per tick instead starved the DAC whenever ticks came late.)
 */
const RAMP_PER_MS = 2;

/**
 * A DAC position step at least this large (ms) re-anchors the playout (the rules); a smaller one is
 * slewed (at the drift loop's steady gain, 0.5 ms bends the pitch 500 ppm at most).
 */
export const DAC_STEP_REANCHOR_MS = 0.5;

/** How far ahead the line is probed for a correction: past a slewed correction of up to 1 ms (500 ppm, 2 s). */
const LINE_PROBE_MS = 2000;

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
  /** A now() instant ahead and the wall() the line gave it at the last tick (clockMoved). */
  private probe = { at: NaN, wall: NaN };
  /** Epochs seen (the first one starts silent: nothing learnt yet). */
  private epochs = 0;
  /** now() when this epoch's frame 0 was written (NaN before). */
  private firstWriteAt = NaN;
  /** The previous epoch's DAC rate (Hz, against now()): the next one's DacClock starts at it. */
  private lastRateHz: number;
  /** This epoch's first reading has come (its blocks are placed by the DacClock). */
  private placed = false;
  /** A later epoch whose queue has not been full yet (RAMP_PER_MS), and now() at its first reading. */
  private ramping = false;
  private placedAt = NaN;
  /** This epoch's DacClock's steps and resets already told to the renderer. */
  private seen = { steps: 0, resets: 0 };
  blocks = 0;

  constructor(private readonly o: OutputLoopOptions) {
    this.dac = o.newDacClock();
    this.lastRateHz = o.rate;
    const frames = o.blockFrames ?? Math.round(o.rate / 200);
    this.block = new Int16Array(frames * o.channels);
  }

  get blockFrames(): number {
    return this.block.length / this.o.channels;
  }
  dacClock(): DacClock {
    return this.dac;
  }
  /**
   * The DAC's rate against wall() (ppm, the player's driftPpm): the fit's rate (against now())
   * through the rate of the clock's line, taken over an hour so that a correction the house clock
   * is slewing (up to 500 ppm for a second) does not read as DAC drift; the renderer is given the
   * rate of the moment. Against house time a DAC whose crystal is 40 ppm fast of this device's
   * monotonic clock reads 40 ppm less the house clock's own rate against that clock (ratePpm).
   */
  dacWallPpm(): number {
    return (this.dacRateHz(this.o.clock.now(), 3_600_000) / this.o.rate - 1) * 1e6;
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

  /** The DAC's rate in frames per wall() second from now() instant `at` over `spanMs`: the fit's, through the clock's line. */
  private dacRateHz(at: number, spanMs = 1000): number {
    const perMs = (wallAt(this.o.clock, at + spanMs) - wallAt(this.o.clock, at)) / spanMs;
    return Number.isFinite(perMs) && perMs > 0 ? this.dac.rateHz() / perMs : this.dac.rateHz();
  }

  private watchLine(now: number): void {
    const { clock } = this.o;
    if (Number.isFinite(this.probe.at)) {
      const moved = wallAt(clock, this.probe.at) - this.probe.wall;
      if (moved !== 0 && Number.isFinite(moved)) this.renderer?.clockMoved?.(moved);
    }
    this.probe = { at: now + LINE_PROBE_MS, wall: wallAt(clock, now + LINE_PROBE_MS) };
  }

  /** A gap in this epoch's DAC run, taken in by its DacClock since the last tick (the rules). */
  private watchGaps(): void {
    const steps = this.dac.stepCount(),
      resets = this.dac.resetCount();
    const gap = (steps !== this.seen.steps && Math.abs(this.dac.lastStepMs()) >= DAC_STEP_REANCHOR_MS) || resets !== this.seen.resets;
    this.seen = { steps, resets };
    if (gap && this.placed) this.renderer?.discontinuity?.(false);
  }

  tick(): void {
    const { sink } = this.o;
    const st = sink.status();
    if (st === 'closed' || st === 'opening') return;
    const pos = sink.position();
    if (pos.epoch !== this.epoch) {
      if (this.epochs > 0 && Number.isFinite(this.dac.wallOfFrame(0))) this.lastRateHz = this.dac.rateHz();
      this.epoch = pos.epoch;
      this.epochs++;
      this.dac = this.o.newDacClock();
      if (this.epochs > 1) this.dac.seedRate(this.lastRateHz); // the same crystal
      this.seen = { steps: 0, resets: this.dac.resetCount() };
      this.firstWriteAt = NaN;
      this.placed = false;
      this.ramping = this.epochs > 1;
    }
    const { now, wall: wallNow } = this.o.clock.both();
    // The DAC clock is fitted on now() (see the rules): the reading's wall stamp back to now() by
    // the clock's present line, as the sink made it from now() by the same line a moment ago.
    // A dry reading's count had stopped at what the device had been given (the rules).
    const given = pos.dry ? pos.framesConsumed : sink.framesWritten();
    this.dac.observe(pos.framesConsumed, now - (wallNow - pos.wallMs), given);
    this.watchGaps();
    this.watchLine(now);
    const zero = this.dac.wallOfFrame(0); // on now()
    if (!this.placed && Number.isFinite(zero)) {
      // A later epoch's first reading: its blocks from here on do not continue the old epoch's
      // (only the probe's silence was heard in this run).
      if (this.epochs > 1) this.renderer?.discontinuity?.(true);
      this.placed = true;
      this.placedAt = now;
    }
    const mon = this.o.monitor;
    mon?.position(now, pos.epoch, pos.framesConsumed, sink.framesWritten(), st);
    const frames = this.blockFrames;
    // Bounded: never more than a second of blocks per tick, whatever writable() says.
    let full = true;
    for (let n = 0; n < 200; n++) {
      if (sink.writable() < frames) {
        full = true;
        break;
      }
      full = false;
      const first = sink.framesWritten();
      if (first === 0) this.firstWriteAt = now;
      const at = this.dac.wallOfFrame(first); // on now()
      if (this.ramping && first > 0 && st === 'open') {
        // A later epoch: the probe's silence until its first reading, then a growing queue (rules above).
        const grown = this.placed ? RAMP_PER_MS * Math.max(0, now - this.placedAt) : 0;
        const probe = Math.max(PROBE_LEAD_MS, sink.bufferMs / 4); // a deep queue's writer stalls deeper
        const lead = ((now - this.firstWriteAt + probe + grown) * this.o.rate) / 1000;
        if (first + frames > lead) break;
      }
      const wall = wallAt(this.o.clock, at);
      if (this.renderer) this.last = this.renderer.render(this.block, wall, this.dacRateHz(at));
      else {
        this.block.fill(0);
        this.last = null;
      }
      sink.write(this.block, { rtpTimeAtStart: this.last?.rtpTimeAtStart ?? null });
      this.blocks++;
      mon?.block(now, frames, this.last, wall, wallNow, st);
    }
    if (this.ramping && this.placed && full) this.ramping = false; // the queue is full
  }
}
