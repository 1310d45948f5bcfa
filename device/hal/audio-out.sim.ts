// The simulated DAC: plays at nominal × (1 + ppm/1e6) against the injected clock's MONOTONIC time
// (now()), as a real DAC's crystal keeps its rate whatever the device's wall clock (a house clock
// stepping at its lock, then slewing) does, and records, for every block, the wall instant its
// first frame reaches the "analog" side and the RTP time it carried, so two players' records give
// the sync error between rooms exactly. It also writes every block's bytes through the real
// `speaker` sink (a child process on an ALSA device, normally the file-backed one of
// docs/testing.md), so the real output path is exercised too.
//
// The model: frame slot n of an epoch plays at now() = anchorNow + (n − anchorSlot)·1000/trueRate.
// Written frames take consecutive slots; if the FIFO ran dry before a write (an underrun), the slots
// in between played silence and the block lands at the current slot. framesConsumed counts only
// written frames (silence slots excluded), as ALSA's hw pointer would after an xrun recovery.
// Wall instants (records, position().wallMs, wallOfFrame) are the now() instant turned into wall()
// by the clock's present line (wallAt), as a real sink stamps its readings with wall() read beside
// snd_pcm_delay(). (Paced on wall(), the DAC followed every slew of a just-locked house clock: its
// rate against wall() was exact while against now() it swung, which no crystal does, and a DAC fit
// on now() then read 28–89 ppm for a 40 ppm DAC in e2e-mqtt.)
//
// Device side (scriptable): unplug(error) / plug({startLatencyMs}) / setPpm(ppm) / records / underruns.
// plug() with a start latency: the epoch it opens plays its first frame that long after its first
// write (a sink process restarted on a device whose start-up the player has not measured yet), not
// at the next slot: its frame slots are anchored there.
import { wallAt, type TimerHandle } from '../core/clock.ts';
import { OUTPUT_BUFFER_MS_DEFAULT } from '../../protocol/roles/player.ts';
import { Backoff } from '../core/backoff.ts';
import {
  LOST_LEAD_MS,
  NominalRun,
  SinkListeners,
  type AudioSink,
  type AudioSinkOptions,
  type BlockMeta,
  type SinkFormat,
  type SinkListener,
  type SinkPosition,
  type SinkStatus,
} from './audio-out.ts';

export interface SimBlockRecord {
  epoch: number;
  /** Index of the block's first frame among the frames written in this epoch. */
  frame: number;
  frames: number;
  /** Wall time (ms) the first frame reaches the analog side. */
  wallMs: number;
  rtpTimeAtStart: number | null;
}

export interface SimDacOptions extends AudioSinkOptions {
  /** DAC rate offset from the clock's monotonic time (now()), ppm (default 0). */
  ppm?: number;
  /** Also write every block through this sink (e.g. a speaker sink on an ALSA file device). */
  mirror?: AudioSink;
  /** Keep at most this many records (oldest dropped; default 200 000). */
  maxRecords?: number;
  /** The retry backoff's random source (default Math.random): a seeded one keeps a simulation repeatable. */
  random?: () => number;
}

export interface SimDac extends AudioSink {
  readonly records: SimBlockRecord[];
  underruns(): number;
  /** Wall instants of the last 32 underruns (oldest first). */
  underrunTimes(): number[];
  ppm(): number;
  setPpm(ppm: number): void;
  /** Device side: the DAC vanishes (write errors from now on) until plug(). */
  unplug(error?: string): void;
  /** The DAC is back at the next retry; with startLatencyMs, its next epochs start that long after their first write. */
  plug(o?: { startLatencyMs?: number }): void;
  /** True wall time at which written frame `frame` of the current epoch plays (or will). */
  wallOfFrame(frame: number): number;
}

export function createSimDac(opts: SimDacOptions): SimDac {
  return new Sim(opts);
}

class Sim implements SimDac {
  readonly kind = 'sim';
  readonly device: string;
  readonly bufferMs: number;
  readonly records: SimBlockRecord[] = [];
  private st: SinkStatus = 'closed';
  private format: SinkFormat | undefined;
  private rateOffsetPpm: number;
  private epoch = 0;
  private startLatencyMs: number | undefined;
  private anchorNow = 0;
  private anchorSlot = 0;
  private silenceSlots = 0;
  private written = 0;
  private under = 0;
  private readonly underAt: number[] = [];
  private present = true;
  private lost = 0;
  private lostAtMs = 0;
  private error: string | null = null;
  private lossRun: NominalRun | undefined;
  private retryTimer: TimerHandle | undefined;
  private readonly backoff: Backoff;
  private readonly listeners: SinkListeners;

  constructor(private readonly o: SimDacOptions) {
    this.device = o.device;
    this.bufferMs = o.bufferMs ?? OUTPUT_BUFFER_MS_DEFAULT.sim;
    this.rateOffsetPpm = o.ppm ?? 0;
    this.backoff = new Backoff({ minMs: o.retryMinMs ?? 250, maxMs: o.retryMaxMs ?? 5000, random: o.random });
    this.listeners = new SinkListeners(o.log);
  }

  private get trueRate(): number {
    return this.format!.rate * (1 + this.rateOffsetPpm / 1e6);
  }
  private get capacity(): number {
    return Math.round((this.bufferMs * this.format!.rate) / 1000);
  }

  status(): SinkStatus {
    return this.st;
  }
  lastError(): string | null {
    return this.st === 'lost' ? this.error : null;
  }
  lostCount(): number {
    return this.lost;
  }
  underruns(): number {
    return this.under;
  }
  underrunTimes(): number[] {
    return [...this.underAt];
  }
  ppm(): number {
    return this.rateOffsetPpm;
  }
  framesWritten(): number {
    return this.written;
  }
  listen(l: SinkListener): () => void {
    return this.listeners.add(l);
  }

  setPpm(ppm: number): void {
    if (this.st === 'open') {
      // re-anchor so slots already played keep their times
      const now = this.o.clock.now();
      this.anchorSlot = this.slotAt(now);
      this.anchorNow = this.nowOfSlot(this.anchorSlot);
    }
    this.rateOffsetPpm = ppm;
  }

  async open(format: SinkFormat): Promise<void> {
    if (this.st !== 'closed') throw new Error('sim DAC: open() called twice');
    this.format = format;
    if (this.o.mirror) await this.o.mirror.open(format);
    if (this.present) this.start();
    else {
      this.st = 'opening';
      this.goLost('no such device');
    }
  }

  private start(): void {
    this.epoch++;
    this.st = 'open';
    this.error = null;
    this.anchorNow = this.o.clock.now();
    this.anchorSlot = 0;
    this.silenceSlots = 0;
    this.written = 0;
    this.lossRun = undefined;
    this.backoff.reset();
  }

  private slotAt(now: number): number {
    return this.anchorSlot + Math.floor(((now - this.anchorNow) * this.trueRate) / 1000 + 1e-9);
  }
  private nowOfSlot(slot: number): number {
    return this.anchorNow + ((slot - this.anchorSlot) * 1000) / this.trueRate;
  }

  wallOfFrame(frame: number): number {
    return wallAt(this.o.clock, this.nowOfSlot(frame + this.silenceSlots));
  }

  private goLost(error: string): void {
    const pos = this.position();
    this.lossRun = new NominalRun(this.format!.rate, pos.framesConsumed, this.o.clock.now());
    this.st = 'lost';
    this.error = error;
    this.lost++;
    this.lostAtMs = this.o.clock.now();
    this.o.log.warn(`simulated DAC ${this.device} lost: ${error}`);
    this.listeners.lost(error);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    this.o.clock.clearTimeout(this.retryTimer);
    this.retryTimer = this.o.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (this.st !== 'lost') return;
      if (!this.present) {
        this.scheduleRetry();
        return;
      }
      const lostMs = this.o.clock.now() - this.lostAtMs;
      this.start();
      this.o.log.info(`simulated DAC ${this.device} restored after ${Math.round(lostMs)} ms`);
      this.listeners.restored(lostMs);
    }, this.backoff.next());
  }

  unplug(error = 'device unplugged'): void {
    this.present = false;
    if (this.st === 'open') this.goLost(error);
  }

  plug(o: { startLatencyMs?: number } = {}): void {
    this.present = true;
    if (o.startLatencyMs !== undefined) this.startLatencyMs = o.startLatencyMs;
  }

  writable(): number {
    if (this.st === 'closed' || this.st === 'opening') return 0;
    const depth = this.st === 'lost' ? Math.round((this.format!.rate * LOST_LEAD_MS) / 1000) : this.capacity;
    return Math.max(0, depth - (this.written - this.position().framesConsumed));
  }

  write(block: Int16Array, meta: BlockMeta): void {
    if (this.st === 'closed' || this.st === 'opening') return;
    const frames = block.length / this.format!.channels;
    if (this.st === 'lost') {
      this.written += frames;
      return;
    }
    const { now, wall } = this.o.clock.both();
    if (this.written === 0 && this.startLatencyMs !== undefined) {
      this.anchorNow = now + this.startLatencyMs; // frame 0 plays then (see the header)
      this.anchorSlot = 0;
      this.silenceSlots = 0;
    }
    const current = Math.max(0, this.slotAt(now) + 1); // the slot now playing is taken; the next one is free
    let slot = this.written + this.silenceSlots;
    if (slot < current) {
      if (this.written > 0) {
        this.under++;
        this.underAt.push(wall);
        if (this.underAt.length > 32) this.underAt.shift();
      }
      this.silenceSlots += current - slot;
      slot = current;
    }
    this.records.push({
      epoch: this.epoch,
      frame: this.written,
      frames,
      wallMs: wallAt(this.o.clock, this.nowOfSlot(slot)),
      rtpTimeAtStart: meta.rtpTimeAtStart,
    });
    if (this.records.length > (this.o.maxRecords ?? 200_000)) this.records.splice(0, this.records.length >> 1);
    this.written += frames;
    this.o.mirror?.write(block, meta);
  }

  position(): SinkPosition {
    const { now, wall } = this.o.clock.both();
    if (this.st === 'lost' && this.lossRun)
      return { epoch: this.epoch, framesConsumed: this.lossRun.consumed(now, this.written), wallMs: wall };
    if (this.st !== 'open') return { epoch: this.epoch, framesConsumed: 0, wallMs: wall };
    // Frames whose slot started at or before now have reached the analog side.
    const played = this.slotAt(now) + 1 - this.silenceSlots;
    // dry: every frame written has started playing (the FIFO is empty; the count stops here).
    return { epoch: this.epoch, framesConsumed: Math.max(0, Math.min(this.written, played)), wallMs: wall, dry: played >= this.written };
  }

  async close(): Promise<void> {
    if (this.st === 'closed') return;
    this.st = 'closed';
    this.o.clock.clearTimeout(this.retryTimer);
    await this.o.mirror?.close();
  }
}
