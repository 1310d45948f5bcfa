// Experiment: how well does a speaker sink's DAC position (ALSA pulse plugin delay) predict when
// its frames are heard? Two sinks (roomA, roomB) write the same noise by FRAME COUNT (no wall
// mapping at all), B opened DELAY s after A. The heard lag B−A is then constant (both streams
// drain at the null sink's rate); the DacClocks' estimate of it evolves. Prints both.
import { createNetns } from '../test/helpers/netns.ts';
import { startRoomObserver, roomErrors } from '../test/helpers/room-observer.ts';
import { createSpeakerSink } from '../device/hal/audio-out.speaker.ts';
import { RealClock } from '../device/core/clock.ts';
import { createLogger } from '../device/core/log.ts';
import { OutputLoop } from '../device/audio/engine/output-loop.ts';
import { DacClock } from '../device/audio/engine/dac-clock.ts';
import { Prng } from '../device/audio/sim/prng.ts';
import { mkdtempSync, rmSync } from 'node:fs';

const RUN_S = Number(process.env.RUN_S ?? 60), DELAY_S = Number(process.env.DELAY_S ?? 5);
const BUF = Number(process.env.BUF ?? 200);
const L = 48000 * 30;
const noise = new Int16Array(L);
{ const r = new Prng(7); for (let i = 0; i < L; i++) noise[i] = Math.round((r.next() * 2 - 1) * 8000); }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const clock = new RealClock();
const log = createLogger({ level: 'warn' } as never);
const ns = createNetns('hpos');
const dir = mkdtempSync('/tmp/hpos-');
const obs = await startRoomObserver(ns, ['roomA', 'roomB'], dir);
Object.assign(process.env, obs.env);
const rec = obs.record();
const raws: Record<string, Array<[number, number, number]>> = {};
interface S { loop: OutputLoop; off: number; dacs: DacClock[]; sink: ReturnType<typeof createSpeakerSink> }
async function start(room: string, off0: number | (() => number)): Promise<S> {
  let off = typeof off0 === 'number' ? off0 : NaN;
  const sink = createSpeakerSink({ device: room, clock, log, bufferMs: BUF, env: obs.env } as never);
  const dacs: DacClock[] = [];
  const st = {} as S;
  const raw: Array<[number, number, number]> = [];
  raws[room] = raw;
  let lastN = -1;
  setInterval(() => { const p = sink.position(); if (p.framesConsumed !== lastN) { lastN = p.framesConsumed; raw.push([Date.now(), p.framesConsumed, p.wallMs]); } }, 5).unref();
  const loop = new OutputLoop({ clock, sink, rate: 48000, channels: 2, newDacClock: () => { const d = new DacClock(48000); dacs.push(d); return d; } });
  let k = 0;
  loop.setRenderer({ render(out) { if (Number.isNaN(off)) { off = (off0 as () => number)(); st.off = off; } for (let i = 0; i < out.length / 2; i++) { const v = noise[(k + off + i) % L]!; out[2 * i] = v; out[2 * i + 1] = v; } k += out.length / 2; return { rtpTimeAtStart: 0, syncErrorUs: 0, concealedFrames: 0, silentFrames: 0, leadMs: 0 }; } });
  Object.assign(st, { loop, off, dacs, sink });
  await sink.open({ rate: 48000, channels: 2 });
  loop.start();
  return st;
}
const a = await start('roomA', 0);
await sleep(DELAY_S * 1000);
// B's frame k carries noise[k + offB]; choose offB so that B's frames line up with A's (estimated).
const dA = a.loop.dacClock();
const b = await start('roomB', () => Math.round((clock.wall() + 30 - dA.wallOfFrame(0)) * 48));
await sleep(500);
const offB = b.off;
const t0 = Date.now();
const est: Array<{ t: number; e: number }> = [];
while (Date.now() - t0 < RUN_S * 1000) {
  await sleep(250);
  const w = clock.wall();
  // Estimated start (wall of frame 0) of each epoch, evaluated at the frames being written now.
  const s = (x: S) => { const d = x.loop.dacClock(); const n = x.sink.framesWritten(); return d.wallOfFrame(n) - n / 48; };
  // Heard lag B − A (µs) as the DacClocks see it: B's frame k carries A's frame k + offB.
  est.push({ t: Date.now(), e: (s(b) - s(a) - offB / 48) * 1000 });
  void w;
}
const r = await rec.stop();
a.loop.stop(); b.loop.stop();
await a.sink.close(); await b.sink.close();
await obs.stop(); ns.delete(); rmSync(dir, { recursive: true, force: true });
const errs = roomErrors(r);
(await import('node:fs')).writeFileSync(process.env.DUMP ?? '/tmp/pos-dump.json', JSON.stringify({ t0, offB, raws, heard: errs }));
const med = (xs: number[]) => { const s = [...xs].filter(Number.isFinite).sort((x, y) => x - y); return s.length ? s[s.length >> 1]! : NaN; };
console.log('t(s after B)  heard B−A µs   DacClocks say µs   player-path error µs');
for (let t = t0; t < t0 + RUN_S * 1000; t += 2500) {
  const h = med(errs.filter((x) => x.wallMs >= t && x.wallMs < t + 2500).map((x) => x.errUs));
  const e = med(est.filter((x) => x.t >= t && x.t < t + 2500).map((x) => x.e));
  console.log(`${((t - t0) / 1000).toFixed(1).padStart(6)} ${h.toFixed(1).padStart(12)} ${e.toFixed(1).padStart(16)} ${(e - h).toFixed(1).padStart(16)}`);
}
for (const room of ['roomA', 'roomB']) {
  const raw = raws[room]!;
  // Residual of each reading against a line of exactly nominal slope: constant for a perfect reading.
  const res = raw.filter(([, n]) => n > 0).map(([t, n, w]) => ({ t, r: w - n / (48 * (1 + Number(process.env.PPM ?? 75) * 1e-6)) }));
  const ref = med(res.filter((x) => x.t > t0 + (RUN_S - 10) * 1000).map((x) => x.r));
  const out: string[] = [];
  for (let t = t0 - 5000; t < t0 + RUN_S * 1000; t += 500) {
    const xs = res.filter((x) => x.t >= t && x.t < t + 500).map((x) => x.r);
    if (!xs.length) { out.push('—'); continue; }
    const m = med(xs), lo = Math.min(...xs), hi = Math.max(...xs);
    out.push(`${((m - ref) * 1000).toFixed(0)}[${((hi - lo) * 1000).toFixed(0)}]`);
  }
  console.log(room, 'dac ppm', (room === 'roomA' ? a : b).loop.dacClock().ppm().toFixed(1), 'residual µs per 0.5 s (median[spread]) from', (t0 - 5000 - t0) / 1000, 's:', out.join(' '));
}
process.exit(0);
