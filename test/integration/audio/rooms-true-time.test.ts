// Rooms in sync in TRUE time (issue 10): real players as separate `hearth run` processes in a
// namespace, one of them with its clock shifted from outside by libfaketime, heard through the
// true-time observer (one PulseAudio on the unshifted clock: room A left, room B right, recorded
// together and cross-correlated). First the observer itself is checked against a known delay.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetns, type Netns } from '../../helpers/netns.ts';
import { startRoomObserver, writeNoise, roomErrors, type RoomObserver } from '../../helpers/room-observer.ts';
import { CLI } from '../../helpers/ns-hub.ts';
import { startHearthHouse } from '../../../bench/lib/rooms-hearth.ts';
import { WIRED, sleep } from '../../../bench/lib/rooms-net.ts';
import { median } from '../../../bench/lib/stats.ts';

let ns: Netns, observer: RoomObserver, dir: string;
test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hearth-rooms-'));
  ns = createNetns('hrtt');
  observer = await startRoomObserver(ns, ['roomA', 'roomB'], dir);
});
test.after(async () => {
  await observer.stop();
  ns.delete();
  rmSync(dir, { recursive: true, force: true });
});

test('the observer reads a known left/right delay through PulseAudio to within half a microsecond', async () => {
  // Noise on the left; the right is the same noise 3.3 samples (68.75 µs) later, made exactly in
  // the frequency domain by the unit-tested helper's FFT (a circular shift of a periodic block).
  const { fft } = await import('../../helpers/delay-estimate.ts');
  const n = 1 << 17,
    d = 3.3;
  const re = new Float64Array(n),
    im = new Float64Array(n);
  let seed = 12345;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    re[i] = seed / 2 ** 31 - 1;
  }
  fft(re, im);
  for (let k = Math.floor(n * 0.35); k <= n - Math.floor(n * 0.35); k++) {
    re[k] = 0;
    im[k] = 0;
  } // band-limit to 0.7 of Nyquist
  const dr = Float64Array.from(re),
    di = Float64Array.from(im);
  for (let k = 0; k < n; k++) {
    const w = (2 * Math.PI * (k <= n / 2 ? k : k - n)) / n,
      c = Math.cos(-w * d),
      s = Math.sin(-w * d);
    dr[k] = re[k]! * c - im[k]! * s;
    di[k] = re[k]! * s + im[k]! * c;
  }
  fft(re, im, true);
  fft(dr, di, true);
  const buf = Buffer.alloc(n * 4 * 2); // the block twice: ~5.5 s
  for (let r = 0; r < 2; r++)
    for (let i = 0; i < n; i++) {
      buf.writeInt16LE(Math.round(re[i]! * 5000), (r * n + i) * 4);
      buf.writeInt16LE(Math.round(dr[i]! * 5000), (r * n + i) * 4 + 2);
    }
  const file = join(dir, 'known.raw');
  writeFileSync(file, buf);
  const rec = observer.record();
  const play = observer.pulse.client('paplay', ['-d', 'obs', '--raw', '--format=s16le', '--rate=48000', '--channels=2', file]);
  await new Promise((r) => play.once('exit', r));
  await sleep(300);
  const errs = roomErrors(await rec.stop(), { maxLagMs: 5 }).filter((e) => Number.isFinite(e.errUs));
  assert.ok(errs.length > 80, `${errs.length} readings`);
  const want = (d / 48000) * 1e6;
  for (const e of errs) assert.ok(Math.abs(e.errUs - want) < 0.5, `read ${e.errUs.toFixed(3)} µs, the file has ${want.toFixed(3)} µs`);
});

test('a player whose clock is 5 ms ahead is heard within 1 ms of the other room (house clock)', async () => {
  const noise = join(dir, 'noise.raw');
  writeNoise(noise, 20);
  const house = await startHearthHouse({
    ns,
    dir,
    observer,
    noise,
    down: WIRED,
    up: WIRED,
    houseClock: true,
    seed: 5,
    log: () => undefined,
    hub: null,
    source: null,
    a: null,
    b: { offsetS: 0.005, ppm: 0 },
    cli: ['--import', 'tsx', CLI],
  });
  const rec = observer.record();
  let joined = 0;
  let r: Awaited<ReturnType<typeof rec.stop>>;
  try {
    await house.startB();
    await house.bPlaying(); // started and compiled (slow from source on a loaded machine)
    joined = Date.now();
    await sleep(20_000);
  } finally {
    r = await rec.stop();
    await house.stop();
  }
  // Today's behaviour (each room on its own wall clock, the SR trusted) fails here: B measured
  // 5628 µs early (houseClock: false), as issue 10's table says (−5.3 ms).
  const last = roomErrors(r).filter((e) => e.wallMs > joined + 12_000);
  const heard = last.filter((e) => Number.isFinite(e.errUs));
  assert.ok(heard.length >= last.length * 0.8, `both rooms heard: ${heard.length} of ${last.length} windows`);
  const m = median(heard.map((e) => e.errUs));
  assert.ok(Math.abs(m) <= 1000, `room B − room A, median over the last 8 s: ${m.toFixed(0)} µs (bound 1000 µs)`);
});

test.run();
