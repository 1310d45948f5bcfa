// The sink process: the only place `speaker` (native, ALSA) is loaded. `speaker` opens ALSA and
// aborts the whole process when a device is missing or a native assertion fails, and an ALSA
// write can hang; living in its own process, none of that can take the runtime down.
//
// PCM arrives raw on stdin (interleaved s16le frames; a pipe costs far less than serialised IPC
// messages at 200 blocks/s). Control over IPC, parent → child:
//   {t:'open', device, rate, channels, quick}   open now (a zero-length write forces ALSA open);
//                                        the addon is already loaded ('ready' follows its load), so
//                                        a warm spare opens the device within milliseconds. quick:
//                                        a reopen after the sink process died mid-play: the first
//                                        report comes QUICK_FIRST_REPORT_MS after the first write
//   {t:'close'}                          after stdin ends: finish queued writes (≤ 500 ms), close, exit
// child → parent:
//   {t:'ready'} {t:'opened', delay} {t:'error', message}   delay: whether delay readings exist here
//   {t:'done', bytes, monoMs, delay}  every REPORT_MS while audio flows: bytes accepted by ALSA
//                      since the last report, and `delay`, the frames queued between ALSA and the
//                      DAC (snd_pcm_delay, through the `delay()` our patch adds to speaker's addon)
//                      read at `monoMs` (the midpoint of the clock reads around the reading; one
//                      the process paused inside is taken again: stamped-reading.ts). delay is
//                      null where it cannot be read (a speaker addon
//                      without the patch, a backend other than ALSA); then monoMs is the time of
//                      the last acceptance, as the parent's fallback needs. Where delay readings
//                      exist but this one could not be taken (a write still in flight after
//                      SETTLE_TRIES, an underrun just now), `busy` is set: bytes only, no position;
//                      `xrun` too when the PCM was in its xrun state (delay → -EPIPE: the DAC ran dry).
//                      monoMs is CLOCK_MONOTONIC (process.hrtime), which every process shares: the
//                      parent turns it into its own clock. This process's wall clock is not the
//                      parent's (each fixes wall = start wall + monotonic at its start, so a child
//                      started after a wall-clock step disagrees with it by the step).
//
// Cost rules (a player runs for days on a Pi): IPC is JSON (cheaper than V8 serialisation for these
// small messages), reports are batched, and while one ALSA write is in flight, the PCM that
// arrives meanwhile is joined into the next write, so a backed-up pipe costs one write, not many.
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import { ReadingStamper } from './stamped-reading.ts';

type Msg = { t: 'open'; device: string; rate: number; channels: number; quick?: boolean } | { t: 'close' };

const require = createRequire(import.meta.url);
let speaker: (Writable & { close(flush: boolean): void }) | undefined;
let binding: { delay?(handle: unknown): number } | undefined;
let failed = false;
let accepted = 0;
let acceptedMono = 0;
/** CLOCK_MONOTONIC in ms: shared by every process of the machine (libuv hrtime). */
const monoMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const stamper = new ReadingStamper(monoMs);
let reportTimer: NodeJS.Timeout | undefined;
const early: Buffer[] = [];
/**
 * How often ALSA progress is reported: the parent's DAC clock needs tens of points a second, not
 * hundreds. The interval is dithered (REPORT_MS ± REPORT_DITHER_MS/2) so that on a driver whose
 * pointer moves once per period the readings fall at every phase of the period and its
 * granularity averages out instead of aliasing into a rate error (DacClock's rules).
 */
const REPORT_MS = 40;
const REPORT_DITHER_MS = 20;
/** A reading waits (1 ms at a time, this many times) for a write in flight to be counted, or is taken again after a pause inside it. */
const SETTLE_TRIES = 5;
let settleTries = 0;
function nextReportMs(): number {
  return REPORT_MS - REPORT_DITHER_MS / 2 + Math.random() * REPORT_DITHER_MS;
}
/** snd_pcm_delay's answer in the xrun state: the DAC ran dry (speaker's ALSA output recovers on its next write). */
const EPIPE = 32;
let inFlight = false;
let waiting: Buffer[] = [];

function send(m: unknown): void {
  if (process.connected) process.send!(m);
}

function fail(message: string): void {
  if (failed) return;
  failed = true;
  send({ t: 'error', message });
  // The parent decides what to do next (retry with a fresh process); this one is done.
  setTimeout(() => process.exit(2), 20);
}

// Reports run on their own timer while the device plays, so the queue is read even when no
// write completes (a full device, or a writer that paused).
function report(): void {
  reportTimer = undefined;
  if (accepted === 0 && !started) return;
  // accepted − delay is the DAC's position only when every byte ALSA holds is counted in
  // `accepted`: a write in flight (or done on the worker, its callback not yet run) is not.
  if (inFlight && settleTries < SETTLE_TRIES) {
    settleTries++;
    reportTimer = setTimeout(report, 1);
    return;
  }
  const settled = !inFlight;
  const handle = (speaker as unknown as { audio_handle?: unknown }).audio_handle;
  // Stamped by the clock reads around it (stamped-reading.ts); one the process paused inside is
  // taken again, like a write in flight, then given up as busy.
  const r = settled && handle && binding?.delay ? stamper.read(() => binding!.delay!(handle)) : { value: -1, atMs: null };
  if (r.value >= 0 && r.atMs === null && settleTries < SETTLE_TRIES) {
    settleTries++;
    reportTimer = setTimeout(report, 1);
    return;
  }
  settleTries = 0;
  const d = r.atMs === null && r.value >= 0 ? -1 : r.value;
  if (d >= 0) send({ t: 'done', bytes: accepted, monoMs: r.atMs, delay: d });
  else if (handle && binding?.delay)
    send({ t: 'done', bytes: accepted, monoMs: acceptedMono, delay: null, busy: true, ...(d === -EPIPE ? { xrun: true } : {}) });
  else send({ t: 'done', bytes: accepted, monoMs: acceptedMono, delay: null });
  accepted = 0;
  if (!failed) reportTimer = setTimeout(report, nextReportMs());
}

/** Audio has been written: from now on the DAC is playing (mpg123 sets ALSA's start threshold to 1 frame). */
let started = false;
/**
 * A reopen mid-play (the 'open' message's `quick`): the player renders silence until this opening's
 * first reading places its blocks (engine/output-loop.ts), so that reading comes this long after the
 * first write instead of REPORT_MS: it cut the silence of a sink restart by ~35 ms (docs/audio.md,
 * "A late-stamped reading, and the silence left"). Only then: at a player's start a fresh PulseAudio stream under-reports its
 * delay for ~0.2 s, and a reading taken as its first write completed put a player's first fit off
 * (interop ffmpeg → player, 1001.5 Hz); a DAC's snd_pcm_delay is exact from its first frame.
 */
const QUICK_FIRST_REPORT_MS = 5;
let quick = false;

function write(buf: Buffer): void {
  if (inFlight) {
    waiting.push(buf);
    return;
  }
  inFlight = true;
  if (!started && buf.length) {
    started = true;
    reportTimer ??= setTimeout(report, quick ? QUICK_FIRST_REPORT_MS : nextReportMs());
  }
  speaker!.write(buf, (err) => {
    inFlight = false;
    if (err) {
      fail(err.message);
      return;
    }
    accepted += buf.length;
    acceptedMono = monoMs();
    if (waiting.length && !failed) {
      const next = waiting.length === 1 ? waiting[0]! : Buffer.concat(waiting);
      waiting = [];
      write(next);
    }
  });
}

process.stdin.on('data', (chunk: Buffer) => {
  if (failed) return;
  if (!speaker) {
    early.push(chunk);
    return;
  }
  write(chunk);
});
process.stdin.on('error', () => {
  /* parent gone: disconnect handles it */
});
// Closing waits for both the close request and the end of stdin (two channels, no order between
// them), so every byte written before close() reaches ALSA.
let closeRequested = false;
let stdinEnded = false;
process.stdin.on('end', () => {
  stdinEnded = true;
  if (closeRequested) finish();
});

function finish(): void {
  if (!speaker || failed) process.exit(0);
  clearTimeout(reportTimer);
  failed = true; // no more reports: the handle closes below
  // 'close' follows speaker's own close (ALSA drain + snd_pcm_close) on 'finish'; end()'s
  // callback would run before it. PCM still waiting behind an in-flight write goes first.
  speaker.once('close', () => process.exit(0));
  const rest = waiting.length ? Buffer.concat(waiting) : undefined;
  waiting = [];
  if (rest) speaker.write(rest);
  speaker.end();
}

// The addon is loaded before 'ready', the device opened only on 'open': the parent keeps one such
// process as a warm spare (audio-out.speaker.ts), and a hw device can be opened by one process only.
let Speaker: (new (o: Record<string, unknown>) => Writable & { close(flush: boolean): void }) | undefined;
let loadError: string | undefined;
try {
  Speaker = require('speaker');
  // The same addon instance speaker loaded (Node caches it by path); `delay` is our patch's.
  try {
    binding = require('speaker/build/Release/binding.node');
  } catch {
    binding = undefined;
  }
} catch (e) {
  loadError = (e as Error).message;
}

process.on('message', (m: Msg) => {
  if (m.t === 'open') {
    quick = m.quick === true;
    try {
      if (!Speaker) throw new Error(loadError ?? 'speaker not loaded');
      speaker = new Speaker({
        channels: m.channels,
        sampleRate: m.rate,
        bitDepth: 16,
        signed: true,
        device: m.device,
        samplesPerFrame: 1024,
      });
      speaker!.on('open', () => send({ t: 'opened', delay: typeof binding?.delay === 'function' }));
      speaker!.on('error', (e: Error) => fail(e.message));
      speaker!.write(Buffer.alloc(0));
      for (const c of early.splice(0)) write(c);
    } catch (e) {
      fail((e as Error).message);
    }
  } else if (m.t === 'close') {
    // Let queued writes reach ALSA (the file plugin writes its last partial period on close),
    // but never wait long on a device that may be hung.
    setTimeout(() => process.exit(0), 500).unref();
    closeRequested = true;
    if (stdinEnded) finish();
  }
});
process.on('disconnect', () => process.exit(0));
send({ t: 'ready' });
