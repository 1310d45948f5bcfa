// The sink process: the only place `speaker` (native, ALSA) is loaded. `speaker` opens ALSA and
// aborts the whole process when a device is missing or a native assertion fails, and an ALSA
// write can hang; living in its own process, none of that can take the runtime down.
//
// PCM arrives raw on stdin (interleaved s16le frames; a pipe costs far less than serialised IPC
// messages at 200 blocks/s). Control over IPC, parent → child:
//   {t:'open', device, rate, channels}   open now (a zero-length write forces ALSA open)
//   {t:'close'}                          after stdin ends: finish queued writes (≤ 500 ms), close, exit
// child → parent:
//   {t:'ready'} {t:'opened'} {t:'error', message}
//   {t:'done', bytes, wallMs}  bytes accepted by ALSA since the last report, and the wall time of
//                      the last acceptance (reports at most every 5 ms; the time is exact)
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';

type Msg = { t: 'open'; device: string; rate: number; channels: number } | { t: 'close' };

const require = createRequire(import.meta.url);
let speaker: (Writable & { close(flush: boolean): void }) | undefined;
let failed = false;
let accepted = 0;
let acceptedWall = 0;
let reportTimer: NodeJS.Timeout | undefined;
const early: Buffer[] = [];

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

function report(): void {
  reportTimer = undefined;
  if (accepted > 0) { send({ t: 'done', bytes: accepted, wallMs: acceptedWall }); accepted = 0; }
}

function write(buf: Buffer): void {
  speaker!.write(buf, (err) => {
    if (err) { fail(err.message); return; }
    accepted += buf.length;
    acceptedWall = performance.timeOrigin + performance.now();
    reportTimer ??= setTimeout(report, 5);
  });
}

process.stdin.on('data', (chunk: Buffer) => {
  if (failed) return;
  if (!speaker) { early.push(chunk); return; }
  write(chunk);
});
process.stdin.on('error', () => { /* parent gone: disconnect handles it */ });
// Closing waits for both the close request and the end of stdin (two channels, no order between
// them), so every byte written before close() reaches ALSA.
let closeRequested = false;
let stdinEnded = false;
process.stdin.on('end', () => { stdinEnded = true; if (closeRequested) finish(); });

function finish(): void {
  if (!speaker || failed) process.exit(0);
  // 'close' follows speaker's own close (ALSA drain + snd_pcm_close) on 'finish'; end()'s
  // callback would run before it.
  speaker.once('close', () => process.exit(0));
  speaker.end();
}

process.on('message', (m: Msg) => {
  if (m.t === 'open') {
    try {
      const Speaker = require('speaker');
      speaker = new Speaker({ channels: m.channels, sampleRate: m.rate, bitDepth: 16, signed: true, device: m.device, samplesPerFrame: 1024 });
      speaker!.on('open', () => send({ t: 'opened' }));
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
