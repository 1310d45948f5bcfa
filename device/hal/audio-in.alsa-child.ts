// The capture process: the only place `alsa-capture` (native) is loaded, so a native crash or a
// close() that hangs (it can, through PulseAudio) costs this process only. The device pushes as
// fast as it delivers; this process keeps the newest `maxFrames` and answers the parent's pulls,
// so IPC traffic follows the parent's pace even on an unpaced (file-backed) device.
//
// IPC (advanced serialisation), parent → child:
//   {t:'open', device, rate, channels, maxFrames}  {t:'pull', frames}  {t:'close'}
// child → parent:
//   {t:'opened'} | {t:'error', message} | {t:'pcm', data: Int16Array, dropped}
import { createRequire } from 'node:module';
import { SampleFifo } from './audio-in.ts';

type Msg =
  { t: 'open'; device: string; rate: number; channels: number; maxFrames: number } | { t: 'pull'; frames: number } | { t: 'close' };

const require = createRequire(import.meta.url);
let capture: { on(e: string, f: (x: any) => void): void; close(): void } | undefined;
let fifo: SampleFifo | undefined;
let opened = false;

function send(m: unknown): void {
  if (process.connected) process.send!(m);
}
function fail(message: string): void {
  send({ t: 'error', message });
  setTimeout(() => process.exit(2), 20);
}

process.on('message', (m: Msg) => {
  if (m.t === 'open') {
    try {
      const AlsaCapture = require('alsa-capture');
      fifo = new SampleFifo(m.channels, m.maxFrames);
      capture = new AlsaCapture({ channels: m.channels, rate: m.rate, format: 'S16_LE', device: m.device, periodSize: 256 });
      capture!.on('audio', (d: Uint8Array) => {
        if (!opened) {
          opened = true;
          send({ t: 'opened' });
        }
        fifo!.push(new Int16Array(d.buffer, d.byteOffset, d.byteLength >> 1));
      });
      capture!.on('error', (e: Error) => fail(String(e?.message ?? e).trim()));
      capture!.on('readError', (e: string) => fail(`read error: ${e}`));
    } catch (e) {
      fail((e as Error).message);
    }
  } else if (m.t === 'pull') {
    if (!fifo) return;
    const n = Math.min(m.frames, fifo.frames);
    const dropped = fifo.dropped;
    fifo.dropped = 0;
    send({ t: 'pcm', data: fifo.take(n), dropped });
  } else if (m.t === 'close') {
    setTimeout(() => process.exit(0), 300).unref();
    try {
      capture?.close();
    } catch {
      /* exiting anyway */
    }
    setTimeout(() => process.exit(0), 20);
  }
});
process.on('disconnect', () => process.exit(0));
send({ t: 'ready' });
