// The audio output edge (a DAC). Two adapters implement it: audio-out.speaker.ts (the `speaker`
// module on an ALSA device, isolated in a child process) and audio-out.sim.ts (a simulated DAC
// running at a configurable rate offset, for tests and the house in a box). One contract suite
// (test/integration/hal/audio-out.contract.test.ts) runs against both.
//
// Rules every adapter keeps:
// 1. open(format) never rejects because of the device: a device that is absent or fails puts the
//    sink in 'lost', emits 'lost' once, and the sink retries by itself with backoff (on the
//    injected clock) until close(). When it comes back it emits 'restored' and opens a new epoch.
// 2. The stream clock keeps running while the DAC is gone: position() goes on advancing at the
//    nominal rate against the wall clock, writable() keeps granting room at that pace, and write()
//    accepts and discards the audio. A player therefore paces exactly as before and is in sync the
//    moment the device returns. While gone, the queue is kept LOST_LEAD_MS deep, not the buffer:
//    what is written then is thrown away, so a writer that ran the buffer ahead would have consumed
//    (and discarded) the stream audio due right after the device returns.
// 3. Backpressure: writable() is how many frames fit in the sink's queue now. A writer keeps the
//    queue topped up to writable(); writing more is allowed but adds latency (the excess is queued).
// 4. position() reports, for the current epoch, how many of the frames written so far have reached
//    the DAC's analog side (`framesConsumed`, never more than written, never decreasing) and the
//    wall time at which that was true. This is what a DAC clock estimator observes. A new epoch
//    (after a restore or reopen) starts again at frame 0. `dry` says the DAC had run dry at that
//    reading: its count had stopped at what the device had been given. A reading may be older
//    than the frames written since (the speaker sink's come from its sink process every 30–50 ms),
//    so `framesConsumed < framesWritten()` does not say the DAC was playing; `dry` does.
// 5. write(block) takes interleaved s16 in the format given to open(); `meta.rtpTimeAtStart` is the
//    source time of the block's first frame (null for silence), kept by adapters that record.
// 6. close() stops retrying, releases the device, and is safe to call twice; no event after it.
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import type { EdgeFactory } from '../core/hal-overrides.ts';

/** How far ahead of the nominal position writable() lets a writer go while the device is gone (rule 2). */
export const LOST_LEAD_MS = 10;

export interface SinkFormat {
  rate: number;
  channels: 1 | 2;
}

export interface BlockMeta {
  rtpTimeAtStart: number | null;
}

export type SinkStatus = 'closed' | 'opening' | 'open' | 'lost';

export interface SinkPosition {
  /** Bumped at every (re)open; frame counts restart at 0. */
  epoch: number;
  framesConsumed: number;
  wallMs: number;
  /**
   * The reading found nothing queued: the count had reached every frame the device had been given
   * at that reading (rule 4), so it had stopped there and is no point on the DAC's running line.
   * Absent where the sink cannot tell (then only a count that has reached framesWritten() says so).
   */
  dry?: boolean;
}

export interface SinkListener {
  lost?(error: string): void;
  restored?(lostMs: number): void;
}

export interface AudioSink {
  readonly kind: 'speaker' | 'sim' | string;
  readonly device: string;
  /** Audio the sink keeps queued ahead of the DAC (ms): how often a writer must top it up. */
  readonly bufferMs: number;
  status(): SinkStatus;
  /** The last device error (while lost), else null. */
  lastError(): string | null;
  /** How many times the device was lost since open. */
  lostCount(): number;
  /** How many times the DAC ran dry (played silence for want of audio), as the device showed it; absent where the sink cannot tell. */
  underruns?(): number;
  open(format: SinkFormat): Promise<void>;
  writable(): number;
  write(block: Int16Array, meta: BlockMeta): void;
  position(): SinkPosition;
  /** Frames written in the current epoch (what position().framesConsumed catches up to). */
  framesWritten(): number;
  listen(l: SinkListener): () => void;
  close(): Promise<void>;
}

export interface AudioSinkOptions {
  device: string;
  clock: Clock;
  log: Logger;
  /** Queue the sink keeps (the ALSA buffer for speaker, the DAC FIFO for sim), in ms. */
  bufferMs?: number;
  /** Environment for a child process (ALSA_CONFIG_PATH in tests). */
  env?: NodeJS.ProcessEnv;
  /** Retry backoff bounds while the device is lost (defaults 250 ms .. 5 s). */
  retryMinMs?: number;
  retryMaxMs?: number;
}

/** A player's `output` config: which adapter (speaker, the default, or sim), and its settings. */
export interface AudioOutConfig {
  kind?: 'speaker' | 'sim';
  device?: string;
  bufferMs?: number;
  simPpm?: number;
}

declare module '../core/hal-overrides.ts' {
  interface HalOverrides {
    /** Builds the player's DAC sink in place of the configured one (tests, house in a box). */
    audioOut?: EdgeFactory<AudioOutConfig, AudioSink>;
  }
}

/** Listener bookkeeping shared by the adapters: errors thrown by a listener never reach the sink. */
export class SinkListeners {
  private readonly set = new Set<SinkListener>();
  constructor(private readonly log: Logger) {}
  add(l: SinkListener): () => void {
    this.set.add(l);
    return () => this.set.delete(l);
  }
  lost(error: string): void {
    for (const l of this.set) {
      try {
        l.lost?.(error);
      } catch (e) {
        this.log.error('sink lost listener threw', { error: e });
      }
    }
  }
  restored(ms: number): void {
    for (const l of this.set) {
      try {
        l.restored?.(ms);
      } catch (e) {
        this.log.error('sink restored listener threw', { error: e });
      }
    }
  }
}

/**
 * Position while the device is gone (rule 2): frames keep being "consumed" at the nominal rate
 * from the moment of loss, up to what was written.
 */
export class NominalRun {
  constructor(
    private readonly rate: number,
    private readonly fromFrames: number,
    private readonly fromWall: number,
  ) {}
  consumed(wallMs: number, written: number): number {
    return Math.min(written, this.fromFrames + Math.max(0, Math.floor(((wallMs - this.fromWall) * this.rate) / 1000)));
  }
}

/**
 * A sink that passes every call through to `inner`, with `over` in place of the calls it names: the
 * one way to put something between a player and its DAC (a level meter, a house-time stamp on the
 * readings in tests and the demo, a record of each block in the simulator).
 */
export function wrapSink(inner: AudioSink, over: Partial<AudioSink> = {}): AudioSink {
  return {
    kind: inner.kind,
    device: inner.device,
    bufferMs: inner.bufferMs,
    status: () => inner.status(),
    lastError: () => inner.lastError(),
    lostCount: () => inner.lostCount(),
    ...(inner.underruns ? { underruns: () => inner.underruns!() } : {}),
    open: (f) => inner.open(f),
    writable: () => inner.writable(),
    write: (block, meta) => inner.write(block, meta),
    position: () => inner.position(),
    framesWritten: () => inner.framesWritten(),
    listen: (l) => inner.listen(l),
    close: () => inner.close(),
    ...over,
  };
}
