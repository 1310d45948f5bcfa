// The real DAC: the `speaker` module on an ALSA device, in a child process (audio-out.speaker-child.ts)
// so a native abort or a hung ALSA call costs a process restart, not the runtime.
//
// How consumption is measured: the child reads snd_pcm_delay() (the frames queued between ALSA
// and the DAC; our patch to speaker's addon exposes it, scripts/patch-speaker.mjs) every 40 ms, so
// frames consumed by the DAC = frames accepted by ALSA − delay, at the instant of that reading,
// whatever the device's own buffer size. The sink keeps `bufferMs` of audio queued (pipe + ALSA),
// which must stay below the playout latency: on a device with a large ring (mpg123 asks for 500 ms)
// the ring is simply never filled.
// Fallback, where delay cannot be read (speaker unpatched, a backend other than ALSA): mpg123's
// writes block once the ALSA ring is full, so with the ring kept full the "write done" reports
// are paced by the DAC's clock and consumed = accepted − ring, the ring being `bufferMs`.
// Between readings the writer's queue depth runs the last reading on at the nominal rate, bounded
// so that nothing counts as played before it could have been, and the DAC's dry spells (ALSA
// underruns, which speaker's ALSA output recovers from silently) are counted: rules in
// audio-out.speaker-queue.ts; `underruns()` reaches the player's state and events.
// A write that does not complete within `stallMs` is a hung device: the child is killed and the
// sink goes to 'lost' (rules in audio-out.ts).
// A sink process that dies after playing for STABLE_MS is restarted at once (the backoff is for a
// device that keeps failing): the rooms bench's step scenario kills it mid-play and counts the
// silence.
// Warm spare: SPARE_DELAY_MS (5 s) after the device opens, the sink forks one more sink process, which
// loads the addon and waits with the device closed (a hw device opens once only). When the active
// process dies, the spare is sent 'open' at once (ALSA open: milliseconds) instead of a new process
// being forked (node start-up + addon load: 0.2-0.6 s on this VM, more on a Pi), and a new spare is
// forked SPARE_DELAY_MS after that opens. A spare that dies is forked again after SPARE_RETRY_MS.
// Its cost is one idle node process (RSS measured in docs/audio.md); `spare: false` turns it off.
import { fork, type ChildProcess } from 'node:child_process';
import type { TimerHandle } from '../core/clock.ts';
import { Backoff } from '../core/backoff.ts';
import { childEntry, execArgvFor } from './child-entry.ts';
import { OUTPUT_BUFFER_MS_DEFAULT } from '../../protocol/roles/player.ts';
import { DacReadings } from './audio-out.speaker-queue.ts';
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

export interface SpeakerSinkOptions extends AudioSinkOptions {
  /** The child entry (default: audio-out.speaker-child.{ts,js} beside this module, see child-entry.ts). */
  childScript?: string;
  /** A write pending this long means a hung device (default bufferMs + 1500 ms; at least 2 s with delay readings). */
  stallMs?: number;
  /** Keep a warm spare sink process (default true; see the header). */
  spare?: boolean;
}

/** Open this long, a sink whose process dies is restarted without waiting for the backoff (ms). */
const STABLE_MS = 5000;
/**
 * The spare is forked this long after the device opened: not during the player's start-up, whose
 * CPU it would take (forked after 1 s, the extra node start-ups of faults/audio/player-faults' sinks
 * pushed its rooms 150-299 µs apart in 5 runs of 8 at load 3.4-8; 0 of 3 without a spare). A sink
 * process that dies sooner than STABLE_MS after opening is restarted after the backoff anyway.
 */
const SPARE_DELAY_MS = STABLE_MS;
/** A spare that died is forked again after this long (a spare that cannot start must not spin). */
const SPARE_RETRY_MS = 5000;

export function createSpeakerSink(opts: SpeakerSinkOptions): AudioSink {
  return new SpeakerSink(opts);
}

class SpeakerSink implements AudioSink {
  readonly kind = 'speaker';
  readonly device: string;
  readonly bufferMs: number;
  private st: SinkStatus = 'closed';
  private format: SinkFormat | undefined;
  private child: ChildProcess | undefined;
  /** The warm spare: addon loaded, device not opened (see the header). */
  private spare: ChildProcess | undefined;
  private spareTimer: TimerHandle | undefined;
  /** Children that said 'ready' (addon loaded). */
  private readonly ready = new WeakSet<ChildProcess>();
  /** How many times the spare took over from a dead sink process. */
  private takeovers = 0;
  private epoch = 0;
  private written = 0;
  private accepted = 0;
  private acceptedWall = 0;
  /** The DAC as the delay readings show it (played frames, run-on between readings, underruns): audio-out.speaker-queue.ts. */
  private dac: DacReadings | undefined;
  /** Wall time of the last delay reading. */
  private consumedWall = 0;
  /** DAC underruns in earlier openings (a new opening starts a new DacReadings). */
  private pastUnderruns = 0;
  private pendingSince: number | null = null;
  private openedAt = 0;
  /** The child reads snd_pcm_delay (the patched addon): the position comes from those readings only. */
  private delayReadings = false;
  private lossRun: NominalRun | undefined;
  private lostAtMs = 0;
  private lost = 0;
  private error: string | null = null;
  private retryTimer: TimerHandle | undefined;
  private watchdog: TimerHandle | undefined;
  private readonly backoff: Backoff;
  private readonly listeners: SinkListeners;
  private openWaiter: (() => void) | undefined;
  /** Audio written in this turn of the event loop, not yet sent to the child. */
  private stage: Buffer | undefined;
  private staged = 0;

  constructor(private readonly o: SpeakerSinkOptions) {
    this.device = o.device;
    this.bufferMs = o.bufferMs ?? OUTPUT_BUFFER_MS_DEFAULT.speaker;
    this.backoff = new Backoff({ minMs: o.retryMinMs ?? 250, maxMs: o.retryMaxMs ?? 5000 });
    this.listeners = new SinkListeners(o.log);
  }

  private get bufferFrames(): number {
    return Math.round((this.bufferMs * this.format!.rate) / 1000);
  }
  private get frameBytes(): number {
    return 2 * this.format!.channels;
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
  framesWritten(): number {
    return this.written;
  }
  listen(l: SinkListener): () => void {
    return this.listeners.add(l);
  }

  open(format: SinkFormat): Promise<void> {
    if (this.st !== 'closed') throw new Error('speaker sink: open() called twice');
    this.format = format;
    this.st = 'opening';
    const p = new Promise<void>((resolve) => {
      this.openWaiter = resolve;
    });
    this.spawn();
    this.watchdog = this.o.clock.setInterval(() => this.checkStall(), 250);
    return p;
  }

  private settleOpen(): void {
    const w = this.openWaiter;
    this.openWaiter = undefined;
    w?.();
  }

  /** Makes a sink process the active one: the warm spare if there is one, else a new process. */
  private spawn(): void {
    const spare = this.spare;
    if (spare) {
      this.spare = undefined;
      this.child = spare;
      this.takeovers++;
      this.o.log.info(`audio device ${this.device}: the warm spare sink process takes over`, { pid: spare.pid });
      if (this.ready.has(spare)) this.sendOpen(spare);
      return;
    }
    let child: ChildProcess;
    try {
      child = this.fork();
    } catch (e) {
      this.failed((e as Error).message);
      return;
    }
    this.child = child;
  }

  /**
   * Opens the device in `child`; a reopen after the device was lost mid-play (it had opened before)
   * asks for its first reading at once (the child's QUICK_FIRST_REPORT_MS).
   */
  private sendOpen(child: ChildProcess): void {
    const quick = this.st === 'lost' && this.epoch > 0;
    child.send({ t: 'open', device: this.device, rate: this.format!.rate, channels: this.format!.channels, quick });
  }

  /** Forks the spare SPARE_DELAY_MS (or `ms`) from now, unless off, closed, or one exists. */
  private scheduleSpare(ms = SPARE_DELAY_MS): void {
    if (this.o.spare === false || this.spare || this.spareTimer !== undefined) return;
    this.spareTimer = this.o.clock.setTimeout(() => {
      this.spareTimer = undefined;
      if (this.st !== 'open' || this.spare) return;
      try {
        this.spare = this.fork();
      } catch (e) {
        this.o.log.warn(`audio device ${this.device}: no spare sink process: ${(e as Error).message}`);
      }
    }, ms);
  }

  /** A spare that exited (or failed to start): forgotten, and forked again later. */
  private spareGone(child: ChildProcess, why: string): void {
    if (this.spare !== child) return;
    this.spare = undefined;
    this.o.log.warn(`audio device ${this.device}: the spare sink process ${why}`);
    if (this.st === 'open') this.scheduleSpare(SPARE_RETRY_MS);
  }

  /** Forks a sink process; messages and exits are routed by its role (active or spare) when they come. */
  private fork(): ChildProcess {
    const { script, execArgv } = this.o.childScript
      ? { script: this.o.childScript, execArgv: execArgvFor(this.o.childScript) }
      : childEntry('audio-out.speaker-child', import.meta.url);
    const child = fork(script, [], {
      execArgv,
      env: { ...process.env, ...(this.o.env ?? {}) },
      serialization: 'json',
      stdio: ['pipe', 'ignore', 'pipe', 'ipc'],
    });
    child.stdin?.on('error', () => {
      /* the exit handler reports it */
    });
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr = (stderr + d).slice(-2000);
    });
    child.on(
      'message',
      (m: {
        t: string;
        message?: string;
        bytes?: number;
        monoMs?: number;
        delay?: number | boolean | null;
        busy?: boolean;
        xrun?: boolean;
      }) => {
        if (m.t === 'ready') this.ready.add(child);
        if (this.child !== child) return;
        if (m.t === 'ready') this.sendOpen(child);
        else if (m.t === 'opened') this.opened(m.delay === true);
        else if (m.t === 'done')
          this.done(m.bytes!, m.monoMs!, typeof m.delay === 'number' ? m.delay : null, m.busy === true, m.xrun === true);
        else if (m.t === 'error') this.failed(m.message ?? 'device error');
      },
    );
    child.on('exit', (code, signal) => {
      const last = stderr.trim().split('\n').filter(Boolean).slice(-1)[0];
      const why = `sink process exited (${signal ?? `code ${code}`})${last ? `: ${last}` : ''}`;
      if (this.child === child) this.failed(why);
      else this.spareGone(child, why);
    });
    child.on('error', (e) => {
      if (this.child === child) this.failed(e.message);
      else this.spareGone(child, e.message);
    });
    return child;
  }

  private opened(delayReadings: boolean): void {
    this.delayReadings = delayReadings;
    const wasLost = this.st === 'lost';
    this.st = 'open';
    this.error = null;
    this.backoff.reset();
    this.epoch++;
    this.openedAt = this.o.clock.now();
    this.written = 0;
    this.accepted = 0;
    this.acceptedWall = this.o.clock.wall();
    this.pendingSince = null;
    this.pastUnderruns = this.underruns();
    this.dac = new DacReadings(this.format!.rate);
    this.consumedWall = this.acceptedWall;
    this.lossRun = undefined;
    this.o.log.info(`audio device ${this.device} open`, { epoch: this.epoch });
    if (wasLost) this.listeners.restored(this.o.clock.now() - this.lostAtMs);
    this.settleOpen();
    this.scheduleSpare();
  }

  /**
   * How old the child's stamp (CLOCK_MONOTONIC, shared by all processes) is, read on the same
   * monotonic clock now: the caller takes it back from the injected clock's now() or wall(). The
   * child's own wall clock is not ours after a wall-clock step (see the child's protocol notes).
   */
  private ageOfMono(monoMs: number): number {
    return Math.max(0, Number(process.hrtime.bigint()) / 1e6 - monoMs);
  }

  /** DAC underruns since this sink was created (audio-out.speaker-queue.ts rule 3). */
  underruns(): number {
    return this.pastUnderruns + (this.dac?.underruns ?? 0);
  }

  /**
   * ALSA accepted `bytes` more; with `delay`, that many frames were still queued for the DAC at
   * `monoMs`, else `monoMs` is when the last of them was accepted (CLOCK_MONOTONIC).
   */
  private done(bytes: number, monoMs: number, delay: number | null, busy: boolean, xrun: boolean): void {
    if (bytes > 0) {
      this.accepted += bytes / this.frameBytes;
      this.pendingSince = this.accepted < this.written ? this.o.clock.now() : null;
    }
    if (xrun) this.dac?.xrun();
    if (busy) return; // a reading skipped: the position stays what the last reading said
    const age = this.ageOfMono(monoMs);
    if (delay !== null && this.dac) {
      // Never backwards (rule 4), never beyond what was accepted or what time allows.
      if (this.dac.reading(this.accepted, delay, this.o.clock.now() - age))
        this.o.log.warn(`audio device ${this.device}: the DAC ran dry (underrun ${this.underruns()})`);
      this.consumedWall = this.o.clock.wall() - age;
    } else if (bytes > 0) {
      this.acceptedWall = this.o.clock.wall() - age;
    }
  }

  private checkStall(): void {
    if (this.st !== 'open' || this.pendingSince === null) return;
    const stall = this.o.stallMs ?? Math.max(2000, this.bufferMs + 1500);
    if (this.o.clock.now() - this.pendingSince > stall) this.failed(`ALSA write hung for more than ${stall} ms`);
  }

  private failed(message: string): void {
    if (this.st === 'closed') return;
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (this.st === 'lost') {
      this.error = message;
      this.scheduleRetry();
      return;
    }
    // Keep the stream clock running from where the device stopped (rule 2).
    const stable = this.st === 'open' && this.o.clock.now() - this.openedAt >= STABLE_MS;
    const pos = this.position();
    this.lossRun = new NominalRun(this.format!.rate, pos.framesConsumed, pos.wallMs);
    this.st = 'lost';
    this.error = message;
    this.lost++;
    this.lostAtMs = this.o.clock.now();
    this.o.log.warn(`audio device ${this.device} lost: ${message}`);
    this.listeners.lost(message);
    this.settleOpen();
    this.scheduleRetry(stable ? 0 : undefined);
  }

  /** A sink that had played for STABLE_MS is restarted at once (a crash mid-play); otherwise after the backoff. */
  private scheduleRetry(ms = this.backoff.next()): void {
    this.o.clock.clearTimeout(this.retryTimer);
    this.retryTimer = this.o.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (this.st === 'lost') this.spawn();
    }, ms);
  }

  writable(): number {
    if (this.st === 'closed' || this.st === 'opening') return 0;
    const slack = Math.round(this.format!.rate * 0.02);
    const depth = this.st === 'lost' ? Math.round((this.format!.rate * LOST_LEAD_MS) / 1000) : this.bufferFrames + slack;
    // While open with delay readings, the DAC's position now (the last reading run on, rules in
    // audio-out.speaker-queue.ts), not at the last reading: that kept up to a reading interval
    // less than bufferMs queued.
    const played =
      this.st === 'open' && this.dac?.consumed != null
        ? this.dac.playedBy(this.o.clock.now(), this.written)
        : this.position().framesConsumed;
    return Math.max(0, depth - (this.written - played));
  }

  write(block: Int16Array, _meta: BlockMeta): void {
    if (this.st === 'closed' || this.st === 'opening') return;
    const frames = block.length / this.format!.channels;
    this.written += frames;
    if (this.st !== 'open' || !this.child) return; // discarded while lost (rule 2)
    if (this.pendingSince === null) this.pendingSince = this.o.clock.now();
    this.dac?.wrote(this.o.clock.now());
    // Blocks written in one turn of the event loop are copied (the caller reuses its block) into
    // one buffer that goes down the pipe as one write. s16 in host order is little-endian on
    // every Pi and PC.
    const bytes = new Uint8Array(block.buffer, block.byteOffset, block.byteLength);
    if (!this.stage) {
      this.stage = Buffer.allocUnsafe(Math.max(bytes.length * 4, 8192));
      this.staged = 0;
      queueMicrotask(() => this.flush());
    } else if (this.staged + bytes.length > this.stage.length) {
      const bigger = Buffer.allocUnsafe(2 * (this.staged + bytes.length));
      this.stage.copy(bigger, 0, 0, this.staged);
      this.stage = bigger;
    }
    this.stage.set(bytes, this.staged);
    this.staged += bytes.length;
  }

  private flush(): void {
    const stage = this.stage;
    this.stage = undefined;
    if (stage && this.staged > 0 && this.st === 'open' && this.child) this.child.stdin?.write(stage.subarray(0, this.staged));
    this.staged = 0;
  }

  position(): SinkPosition {
    if (this.st === 'lost' && this.lossRun) {
      const wall = this.o.clock.wall();
      return { epoch: this.epoch, framesConsumed: this.lossRun.consumed(wall, this.written), wallMs: wall };
    }
    const read = this.dac?.consumed;
    if (read != null) {
      // dry: the reading found nothing queued (audio-out.speaker-queue.ts rule 4), whatever was written since.
      return { epoch: this.epoch, framesConsumed: Math.min(this.written, read), wallMs: this.consumedWall, dry: this.dac!.dry };
    }
    // A child with delay readings that has not given one yet: nothing is known to have played
    // (the ring-full fallback below would count bufferMs as played at once on a device whose
    // ring is larger, and throttle the writer to what ALSA accepts: a fresh PulseAudio stream ran
    // dry after its first buffer and stayed silent ~0.6 s in the rooms bench's step scenario).
    if (this.delayReadings) return { epoch: this.epoch, framesConsumed: 0, wallMs: this.o.clock.wall() };
    const consumed = Math.max(0, Math.min(this.written, this.accepted - (this.format ? this.bufferFrames : 0)));
    return { epoch: this.epoch, framesConsumed: consumed, wallMs: this.acceptedWall };
  }

  async close(): Promise<void> {
    if (this.st === 'closed') return;
    this.flush(); // blocks written in this turn still go out
    this.st = 'closed';
    this.o.clock.clearTimeout(this.retryTimer);
    this.o.clock.clearInterval(this.watchdog);
    this.o.clock.clearTimeout(this.spareTimer);
    this.spareTimer = undefined;
    this.settleOpen();
    // The spare holds no device and no audio: killed, and waited for, so close() leaves no process.
    const spare = this.spare;
    this.spare = undefined;
    const spareExit = spare && spare.exitCode === null && spare.signalCode === null ? new Promise((r) => spare.once('exit', r)) : null;
    if (spareExit) spare!.kill('SIGKILL');
    const child = this.child;
    this.child = undefined;
    await spareExit;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
      }, 1000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      try {
        child.stdin?.end();
        child.send({ t: 'close' });
      } catch {
        child.kill('SIGKILL');
      }
    });
  }
}
