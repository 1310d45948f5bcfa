// The sink process: the only place `speaker` (native, ALSA) is loaded. `speaker` opens ALSA and
// aborts the whole process when a device is missing or a native assertion fails, and an ALSA
// write can hang; living in its own process, none of that can take the runtime down.
//
// IPC (advanced serialisation), parent → child:
//   {t:'open', device, rate, channels}   open lazily; a zero-length write forces ALSA open now
//   {t:'pcm', data: Uint8Array}          interleaved s16le frames
//   {t:'close'}                          finish queued writes (≤ 500 ms), close and exit
// child → parent:
//   {t:'opened'} | {t:'error', message} | {t:'done', bytes}  (a pcm write has been accepted by ALSA)
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';

type Msg = { t: 'open'; device: string; rate: number; channels: number } | { t: 'pcm'; data: Uint8Array } | { t: 'close' };

const require = createRequire(import.meta.url);
let speaker: (Writable & { close(flush: boolean): void }) | undefined;
let failed = false;

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

process.on('message', (m: Msg) => {
  if (m.t === 'open') {
    try {
      const Speaker = require('speaker');
      speaker = new Speaker({ channels: m.channels, sampleRate: m.rate, bitDepth: 16, signed: true, device: m.device, samplesPerFrame: 256 });
      speaker!.on('open', () => send({ t: 'opened' }));
      speaker!.on('error', (e: Error) => fail(e.message));
      speaker!.write(Buffer.alloc(0));
    } catch (e) {
      fail((e as Error).message);
    }
  } else if (m.t === 'pcm') {
    if (!speaker || failed) return;
    const buf = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
    speaker.write(buf, (err) => { if (err) fail(err.message); else send({ t: 'done', bytes: buf.length }); });
  } else if (m.t === 'close') {
    // Let queued writes reach ALSA (the file plugin writes its last partial period on close),
    // but never wait long on a device that may be hung.
    setTimeout(() => process.exit(0), 500).unref();
    if (!speaker || failed) process.exit(0);
    // 'close' follows speaker's own close (ALSA drain + snd_pcm_close) on 'finish'; end()'s
    // callback would run before it.
    speaker.once('close', () => process.exit(0));
    speaker.end();
  }
});
process.on('disconnect', () => process.exit(0));
send({ t: 'ready' });
