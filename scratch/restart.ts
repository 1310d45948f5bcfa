// Experiment: two speaker sinks into the observer, each rendering noise by WALL instant (an ideal
// playout: the sample due at the block's predicted DAC instant). B's sink process is killed at
// KILL_S; the heard lag B−A per window around it shows the restart's silence and error.
import { createNetns } from '../test/helpers/netns.ts';
import { startRoomObserver, roomErrors } from '../test/helpers/room-observer.ts';
import { createSpeakerSink } from '../device/hal/audio-out.speaker.ts';
import { RealClock } from '../device/core/clock.ts';
import { createLogger } from '../device/core/log.ts';
import { OutputLoop } from '../device/audio/engine/output-loop.ts';
import { DacClock } from '../device/audio/engine/dac-clock.ts';
import { Prng } from '../device/audio/sim/prng.ts';
import { tree } from '../test/helpers/proc-stats.ts';
import { mkdtempSync, rmSync } from 'node:fs';

const RUN_S = Number(process.env.RUN_S ?? 30), KILL_S = Number(process.env.KILL_S ?? 15);
const L = 48000 * 30;
const noise = new Int16Array(L);
{ const r = new Prng(7); for (let i = 0; i < L; i++) noise[i] = Math.round((r.next() * 2 - 1) * 8000); }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const clock = new RealClock();
const log = createLogger({ level: 'info' } as never);
const ns = createNetns('hrst');
const dir = mkdtempSync('/tmp/hrst-');
const obs = await startRoomObserver(ns, ['roomA', 'roomB'], dir);
const rec = obs.record();
const W0 = clock.wall();
const events: string[] = [];
async function start(room: string) {
  const sink = createSpeakerSink({ device: room, clock, log, bufferMs: 200, env: { ...obs.env, ...(room === 'roomB' && process.env.STEP ? { LD_PRELOAD: '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', DONT_FAKE_MONOTONIC: '1', FAKETIME: process.env.STEP } : {}) }, ...(process.env.DIST ? { childScript: '/work/wt/rooms/dist/audio-out.speaker-child.js' } : {}) } as never);
  sink.listen({ lost: (e) => events.push(`${((clock.wall() - W0) / 1000).toFixed(3)} ${room} lost ${e}`), restored: (ms) => events.push(`${((clock.wall() - W0) / 1000).toFixed(3)} ${room} restored after ${ms.toFixed(0)} ms`) });
  const loop = new OutputLoop({ clock, sink, rate: 48000, channels: 2, newDacClock: () => new DacClock(48000) });
  loop.setRenderer({ render(out, wall) {
    if (!Number.isFinite(wall)) { out.fill(0); return { rtpTimeAtStart: null, syncErrorUs: 0, concealedFrames: 0, silentFrames: out.length / 2, leadMs: 0 }; }
    const k0 = Math.round((wall - W0) * 48);
    for (let i = 0; i < out.length / 2; i++) { const v = noise[((k0 + i) % L + L) % L]!; out[2 * i] = v; out[2 * i + 1] = v; }
    return { rtpTimeAtStart: 0, syncErrorUs: 0, concealedFrames: 0, silentFrames: 0, leadMs: 0 };
  } });
  await sink.open({ rate: 48000, channels: 2 });
  loop.start();
  return { sink, loop };
}
const a = await start('roomA');
await sleep(2000);
const b = await start('roomB');
await sleep(KILL_S * 1000);
const kids = tree(process.pid).filter((p) => p !== process.pid);
// B's child is the newest speaker child (the observer's processes are not ours).
const killAt = clock.wall();
events.push(`${((clock.wall() - W0) / 1000).toFixed(3)} killing ${kids.join(',')} (last), startup A ${a.loop.startupLatencyMs().toFixed(2)} B ${b.loop.startupLatencyMs().toFixed(2)} ms`);
process.kill(kids.at(-1)!, 'SIGKILL');
const trace: string[] = [];
let lastKey = '';
const iv = setInterval(() => {
  const p = b.sink.position(); const d = b.loop.dacClock();
  const key = `${p.epoch} ${p.framesConsumed}`;
  if (key === lastKey) return; lastKey = key;
  const now = clock.wall();
  trace.push(`${(now - killAt - (W0 - W0)).toFixed(0)}: ep ${p.epoch} ${b.sink.status()} written ${(b.sink.framesWritten() / 48).toFixed(1)} consumed ${(p.framesConsumed / 48).toFixed(1)} ms at -${(now - p.wallMs).toFixed(1)} | f0 ${(d.wallOfFrame(0) - killAt).toFixed(1)}`);
}, 2);
await sleep(1200);
clearInterval(iv);
console.log(trace.filter((l) => !l.includes(" lost ")).slice(0, 70).join('\n'));
await sleep((RUN_S - KILL_S) * 1000 - 1200);
const r = await rec.stop();
a.loop.stop(); b.loop.stop();
await a.sink.close(); await b.sink.close();
await obs.stop(); ns.delete(); rmSync(dir, { recursive: true, force: true });
const errs = roomErrors(r);
console.log(events.join('\n'));
console.log('per window from 0.3 s before the kill:', errs.filter((e) => e.wallMs >= killAt - 300 && e.wallMs < killAt + 3000).map((e) => (Number.isFinite(e.errUs) ? e.errUs.toFixed(0) : '—')).join(' '));
const med = (xs: number[]) => { const s = [...xs].filter(Number.isFinite).sort((x, y) => x - y); return s.length ? s[s.length >> 1]! : NaN; };
const c: string[] = [];
for (let t = errs[0]!.wallMs; t < errs.at(-1)!.wallMs; t += 1000) c.push(med(errs.filter((e) => e.wallMs >= t && e.wallMs < t + 1000).map((e) => e.errUs)).toFixed(0));
console.log('per 1 s from the start:', c.join(' '));
process.exit(0);
