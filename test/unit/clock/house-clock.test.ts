// The whole house-clock path in virtual time on the simulated network: hearth's NTP server on a
// reference host, HouseClocks on devices whose crystals and OS clocks are off. Errors are taken
// against the reference's house time at the same TRUE instant (the simulation's base clock).
import { test } from 'uvu';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../../device/core/clock.ts';
import { SimNetwork, type LinkProfile } from '../../../device/hal/udp.sim.ts';
import { ClockServer } from '../../../device/clock/server.ts';
import { HouseClock, type HouseClockOptions } from '../../../device/clock/house-clock.ts';
import { Prng } from '../../../device/core/prng.ts';
import { buildNtp, parseNtp, toNtp } from '../../../device/clock/ntp-packet.ts';

const REF = '10.0.0.1';
async function house(
  o: {
    link?: LinkProfile;
    ppm?: number;
    offsetMs?: number;
    seed?: number;
    fastMaxMs?: number;
    refLagMs?: number;
    devLagMs?: number;
    envelope?: number;
    /** Per-direction links (request: device → reference; reply: reference → device). */
    legs?: { request: LinkProfile; reply: LinkProfile };
    /** HouseClock options (the schedule and slew of the code before a change, to show what it changed). */
    clock?: Partial<HouseClockOptions>;
  } = {},
) {
  const base = new VirtualClock(0);
  const net = new SimNetwork(base, { seed: o.seed ?? 1, defaultLink: o.link ?? { delayMs: 0.15, jitterMs: 0.2, loss: 0.01 } });
  const ref = net.addHost({ address: REF, ppm: 25, rxLagMs: o.refLagMs ?? 0.05 });
  let server = new ClockServer({ stack: ref.udp, clock: ref.clock, port: 123 });
  await server.start();
  const dev = net.addHost({ address: '10.0.0.2', ppm: o.ppm ?? -200, offsetMs: o.offsetMs ?? 3000, rxLagMs: o.devLagMs ?? 0.05 });
  if (o.legs) {
    net.setLink('10.0.0.2', REF, o.legs.request);
    net.setLink(REF, '10.0.0.2', o.legs.reply);
  }
  const events: Array<{ at: number; type: string }> = [];
  const hc = new HouseClock(dev.clock, {
    ...o.clock,
    stack: dev.udp,
    server: REF,
    port: 123,
    ...(o.fastMaxMs !== undefined ? { fastMaxMs: o.fastMaxMs } : {}),
    ...(o.envelope !== undefined ? { estimator: { envelope: o.envelope } } : {}),
    onEvent: (type) => events.push({ at: base.now(), type }),
  });
  await hc.start();
  const h = {
    base,
    net,
    ref,
    dev,
    hc,
    events,
    get server() {
      return server;
    },
    async restartServer(anchorShiftMs: number) {
      await server.stop();
      server = new ClockServer({ stack: ref.udp, clock: ref.clock, port: 123, anchorMs: server.houseAt(0) + anchorShiftMs });
      await server.start();
    },
    /** House-time error of the device now, µs. */
    errUs: () => (hc.wall() - server.houseAt(ref.clock.now())) * 1000,
    /** Runs for ms of true time in 10 ms steps, calling `each` after every step. */
    async run(ms: number, each?: (t: number) => void) {
      for (let t = 0; t < ms; t += 10) {
        base.advance(10);
        await Promise.resolve();
        each?.(base.now());
      }
    },
  };
  return h;
}
const p99 = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length * 0.99)]!;

test('a device 3 s and −200 ppm off is in house time within 2 s, then stays there at ≤ 60 queries a minute', async () => {
  for (const [ppm, offsetMs] of [
    [-200, 3000],
    [200, -3000],
  ] as const) {
    const h = await house({ ppm, offsetMs });
    assert.is(h.hc.sync().state, 'unsynced');
    const late: number[] = [];
    await h.run(2000);
    assert.is(h.hc.sync().state, 'locked');
    assert.ok(Math.abs(h.errUs()) <= 100, `error at 2 s: ${h.errUs().toFixed(1)} µs`);
    await h.run(8000);
    await h.run(60_000, () => late.push(Math.abs(h.errUs())));
    assert.ok(p99(late) < 50, `p99 from 10 s on: ${p99(late).toFixed(1)} µs`);
    const q0 = h.hc.client.queries;
    await h.run(60_000);
    assert.ok(h.hc.client.queries - q0 <= 60, `${h.hc.client.queries - q0} queries in a settled minute`);
    const s = h.hc.sync();
    assert.ok(Math.abs(s.offsetMs! + offsetMs) < 50, `offset vs the OS clock ${s.offsetMs} ms`);
    assert.ok(s.uncertaintyUs! >= Math.abs(h.errUs()), `uncertainty ${s.uncertaintyUs} covers the error ${h.errUs()}`);
    assert.equal(
      h.events.map((e) => e.type),
      ['lock'],
    );
    await h.hc.stop();
  }
});

// A joining player's house clock starts ~0.3 s before its first audio (the rooms bench: 1.45 s
// after spawn, first audio at 1.77 s), in a process still starting up. The legs of two rooms-bench
// players' real exchanges (fixtures/rooms-start-legs.csv: the first 2 s after their clocks started,
// replies read up to 28 ms late, and their steady legs after 5 s) are drawn here for every datagram.
// With 6 queries 25 ms apart, then 10 a second, and corrections slewed over 1 s at ≤ 500 ppm, half
// the starts were still over 100 µs off 1 s in (the bench's B: −220 µs for 1.4 s after its lock).
const LEGS = (() => {
  const legs = { start: { req: [] as number[], rep: [] as number[] }, steady: { req: [] as number[], rep: [] as number[] } };
  for (const l of readFileSync(new URL('./fixtures/rooms-start-legs.csv', import.meta.url), 'utf8').split('\n')) {
    const [phase, req, rep] = l.split(',');
    if (phase === 'start' || phase === 'steady') {
      legs[phase].req.push(Number(req));
      legs[phase].rep.push(Number(rep));
    }
  }
  return legs;
})();
async function recordedStart(seed: number, ppm: number, clock?: Partial<HouseClockOptions>) {
  const rng = new Prng(seed);
  let phase: 'start' | 'steady' = 'start';
  const pick = (a: number[]) => a[Math.floor(rng.next() * a.length)]!;
  const h = await house({
    seed,
    ppm,
    devLagMs: 0, // the recorded reply legs hold the player's late reads
    refLagMs: 0, // chrony's receive timestamps
    legs: { request: { sample: () => pick(LEGS[phase].req) }, reply: { sample: () => pick(LEGS[phase].rep) } },
    ...(clock ? { clock } : {}),
  });
  const errs: Array<{ t: number; err: number; unc: number }> = [];
  await h.run(3000, (t) => {
    if (t === 2000) phase = 'steady';
    if (h.hc.synced) errs.push({ t, err: Math.abs(h.errUs()), unc: h.hc.sync().uncertaintyUs! });
  });
  await h.hc.stop();
  let last = -1;
  errs.forEach((e, i) => {
    if (e.err > 100) last = i;
  });
  return {
    /** True ms from the start until the error is ≤ 100 µs to the end of the 3 s. */
    sureFrom: errs[last + 1]?.t ?? Infinity,
    worstFrom500: Math.max(...errs.filter((e) => e.t >= 500).map((e) => e.err)),
    uncovered: errs.filter((e) => e.err > e.unc).length / errs.length,
  };
}

// Now (12 starts, crystals +180/−170 ppm as the bench's B and A): within 100 µs for good from
// 80–300 ms, median 80 ms; worst after 0.5 s 48–85 µs. The schedule, slews and rate before (OLD:
// 6 queries 25 ms apart, lock after 4, corrections slewed over 1 s at ≤ 500 ppm, the rate from θ):
// median 1535 ms, two starts never within 3 s, worst after 0.5 s 42–283 µs. The reported ±
// covered the true error at every 10 ms of every start, in both.
test("a player's start-up on real legs: house time within 100 µs 0.5 s after the clock starts, inside its reported ±", async () => {
  const runs = [];
  for (let seed = 1; seed <= 12; seed++) runs.push(await recordedStart(seed, seed % 2 ? 180 : -170));
  const sure = runs.map((r) => r.sureFrom).sort((a, b) => a - b);
  const median = (sure[5]! + sure[6]!) / 2;
  assert.ok(median <= 300, `within 100 µs for good from ${sure.join(', ')} ms: median ${median}`);
  for (const [i, r] of runs.entries()) {
    assert.ok(r.worstFrom500 <= 100, `start ${i + 1}: ${r.worstFrom500.toFixed(0)} µs off after 0.5 s`);
    assert.is(r.uncovered, 0, `start ${i + 1}: the error beyond the reported ± ${(r.uncovered * 100).toFixed(1)} % of the time`);
  }
});

test('an OS clock step moves neither house time nor its rate; the reported offset shows it', async () => {
  const h = await house();
  await h.run(10_000);
  const off0 = h.hc.sync().offsetMs!;
  const w0 = h.hc.wall();
  h.dev.clock.stepWall(-3_600_000); // booted an hour off, or an NTP daemon stepping
  assert.ok(Math.abs(h.hc.wall() - w0) < 1e-6);
  await h.run(5000);
  assert.ok(Math.abs(h.errUs()) < 50);
  // The OS clock runs with the crystal (−200 ppm), house time with the reference's (+25 ppm).
  assert.ok(Math.abs(h.hc.sync().offsetMs! - off0 - 3_600_000) < 5, `offset ${h.hc.sync().offsetMs} (was ${off0})`);
  assert.is(h.hc.steps, 0);
  await h.hc.stop();
});

test('monoOffsetUs: house time minus the monotonic clock to the µs, as wall() serves it, tracking the true offset', async () => {
  const h = await house();
  await h.run(20_000);
  const seen: number[] = [];
  await h.run(10_000, (t) => {
    if (t % 500 !== 0) return;
    const s = h.hc.sync();
    const served = (h.hc.wall() - h.dev.clock.now()) * 1000;
    assert.ok(Math.abs(s.monoOffsetUs! - served) <= 0.5, `${s.monoOffsetUs} µs reported, ${served.toFixed(2)} served`);
    const truth = (h.server.houseAt(h.ref.clock.now()) - h.dev.clock.now()) * 1000;
    assert.ok(Math.abs(s.monoOffsetUs! - truth) < 100, `${s.monoOffsetUs} µs reported, ${truth.toFixed(1)} true`);
    seen.push(s.monoOffsetUs!);
  });
  // The house clock's own correction shows below a millisecond: the device's crystal is 225 ppm
  // slower than the reference's, 112.5 µs per 500 ms, which whole milliseconds would not show. Each
  // 500 ms also carries the estimator's slewed corrections, a few µs: 105–119 µs on seeds 1–6 with
  // the start-up schedule before the 1.5 s burst, 108–121 with it (seed 1 here: 110–119; the bound
  // was ±5, which seed 1 of the old schedule met and seeds 2, 4 and 6 did not).
  const steps = seen.slice(1).map((v, i) => v - seen[i]!);
  for (const d of steps) assert.ok(Math.abs(d - 112.5) < 10, `change per 500 ms ${d} µs`);
  await h.hc.stop();
});

test('reference lost: the last estimate is kept and reported stale with its age; back: locked again', async () => {
  const h = await house();
  await h.run(60_000);
  h.net.setLink(REF, '10.0.0.2', { down: true });
  await h.run(30_000);
  const s = h.hc.sync();
  assert.is(s.state, 'stale');
  assert.ok(s.lastReachedS! >= 29 && s.lastReachedS! <= 31, `last reached ${s.lastReachedS} s ago`);
  assert.ok(Math.abs(h.errUs()) < s.uncertaintyUs!, `error ${h.errUs().toFixed(1)} µs within ±${s.uncertaintyUs}`);
  assert.ok(Math.abs(h.errUs()) < 100, 'a known rate holds the line for 30 s');
  h.net.setLink(REF, '10.0.0.2', { delayMs: 0.15, jitterMs: 0.2 });
  await h.run(5000);
  assert.is(h.hc.sync().state, 'locked');
  assert.ok(Math.abs(h.errUs()) < 50);
  assert.equal(
    h.events.map((e) => e.type),
    ['lock', 'lost', 'back'],
  );
  await h.hc.stop();
});

test('the reference restarting 2 s off: a counted jump, one step, house time follows', async () => {
  const h = await house();
  await h.run(30_000);
  await h.restartServer(2000);
  await h.run(5000);
  const s = h.hc.sync();
  assert.is(s.jumps, 1);
  assert.is(s.steps, 1);
  assert.ok(Math.abs(h.errUs()) < 100, `error after the restart ${h.errUs().toFixed(1)} µs`);
  assert.equal(
    h.events.map((e) => e.type),
    ['lock', 'jump', 'step'],
  );
  await h.hc.stop();
});

test('a new reference (retarget, a config change): the last estimate is served until it locks, then house time moves to it', async () => {
  const h = await house();
  await h.run(30_000);
  // A second reference, 2 s ahead of the first, not answering yet.
  const ref2 = h.net.addHost({ address: '10.0.0.3', ppm: -40, rxLagMs: 0.05 });
  const anchorMs = h.server.houseAt(h.ref.clock.now()) + 2000 - ref2.clock.now();
  const server2 = new ClockServer({ stack: ref2.udp, clock: ref2.clock, port: 123, anchorMs });
  const err2Us = () => (h.hc.wall() - server2.houseAt(ref2.clock.now())) * 1000;
  const queries = h.hc.sync().queries;
  await h.hc.retarget({ server: '10.0.0.3', port: 123 });
  let last = h.hc.wall();
  await h.run(5000, () => {
    const w = h.hc.wall();
    assert.ok(w > last, 'house time runs on, never backwards, while the new reference is silent');
    last = w;
  });
  let s = h.hc.sync();
  assert.is(s.state, 'stale', 'serving the last estimate');
  assert.is(s.reference, '10.0.0.3:123');
  assert.ok(Math.abs(h.errUs()) < 100, `still on the old reference's time: ${h.errUs().toFixed(1)} µs`);
  assert.ok(s.uncertaintyUs! < 1000 && s.lastReachedS! >= 4.9, JSON.stringify(s));
  assert.ok(s.queries > queries, 'query counts run on across the switch');
  await server2.start();
  await h.run(3000);
  s = h.hc.sync();
  assert.is(s.state, 'locked');
  assert.ok(Math.abs(err2Us()) < 100, `on the new reference's time: ${err2Us().toFixed(1)} µs`);
  assert.is(s.steps, 1, 'the 2 s difference is stepped once');
  assert.equal(
    h.events.map((e) => e.type),
    ['lock', 'switch', 'lock', 'step'],
  );
  // The same target again changes nothing (no new client, no event).
  const c = h.hc.client;
  await h.hc.retarget({ server: '10.0.0.3', port: 123 });
  assert.is(h.hc.client, c);
  assert.is(h.events.length, 4);
  await h.hc.stop();
  await server2.stop();
});

test("hearth's server restarting in the same boot keeps its timescale (saved anchor): no jump, even across an OS clock step", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-anchor-'));
  const persist = { file: join(dir, 'ntp-anchor.json'), bootId: 'boot-1', monoOriginMs: 0 };
  try {
    const h = await house();
    await h.server.stop();
    const first = new ClockServer({ stack: h.ref.udp, clock: h.ref.clock, port: 123, persist });
    await first.start();
    assert.is(first.anchoredFrom, 'os-clock');
    await h.run(30_000);
    const houseBefore = first.houseAt(h.ref.clock.now());
    await first.stop();
    h.ref.clock.stepWall(2000); // the hub's OS clock stepped while it was down
    const again = new ClockServer({ stack: h.ref.udp, clock: h.ref.clock, port: 123, persist });
    await again.start();
    assert.is(again.anchoredFrom, 'saved');
    assert.ok(Math.abs(again.houseAt(h.ref.clock.now()) - houseBefore) < 1e-6, 'the same timescale');
    await h.run(10_000);
    const s = h.hc.sync();
    assert.is(s.jumps, 0);
    assert.is(s.steps, 0);
    assert.ok(Math.abs((h.hc.wall() - again.houseAt(h.ref.clock.now())) * 1000) < 100);
    await again.stop();
    // Another boot: CLOCK_MONOTONIC restarted, the saved value means nothing; the OS clock it is.
    const rebooted = new ClockServer({ stack: h.ref.udp, clock: h.ref.clock, port: 123, persist: { ...persist, bootId: 'boot-2' } });
    assert.is(rebooted.anchoredFrom, 'os-clock');
    assert.match(rebooted.anchorNote!, /another boot/);
    assert.ok(Math.abs(rebooted.houseAt(h.ref.clock.now()) - h.ref.clock.wall()) < 1e-6);
    await h.hc.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('garbage and lying replies are counted and never followed', async () => {
  const h = await house();
  await h.run(10_000);
  // An impostor on the LAN sprays the client's port with garbage and forged replies.
  const bad = h.net.addHost({ address: '10.0.0.66' });
  const sock = await bad.udp.open({});
  const clientPort = [...h.dev.sockets][0]!.port;
  const forged = buildNtp({ mode: 4, stratum: 1, refId: 'GPS', origin: 42n, receive: toNtp(1), transmit: toNtp(2) });
  // And the reference itself lies once in a while: a reply 0.5 s ahead (a corrupted timestamp).
  let n = 0;
  const real = h.server;
  const orig = real.houseAt.bind(real);
  real.houseAt = (now: number) => orig(now) + (Math.floor(n++ / 2) % 20 === 17 ? 500 : 0); // t2 and t3 of one reply
  const errs: number[] = [];
  await h.run(60_000, (t) => {
    if (t % 500 === 0) {
      sock.send(Buffer.from('garbage!'), clientPort, '10.0.0.2');
      sock.send(forged, clientPort, '10.0.0.2');
    }
    errs.push(Math.abs((h.hc.wall() - orig(h.ref.clock.now())) * 1000));
  });
  const f = h.hc.client.faults;
  assert.ok(f.malformed >= 100 && f.unexpected >= 100, JSON.stringify(f));
  assert.ok(f.outliers >= 1, JSON.stringify(f));
  assert.ok(Math.max(...errs) < 100, `worst error ${Math.max(...errs).toFixed(1)} µs`);
  assert.is(h.hc.sync().jumps, 0);
  assert.ok(parseNtp(forged).origin === 42n);
  await h.hc.stop();
});

// A public server (`clock.server` pointed off the LAN) may answer a burst with kiss-o'-death RATE:
// the burst and the fast pace end there, and the poll gap doubles (150 queries in 1.5 s, then 10 a
// second, without this).
test("a reference asking to slow down (kiss-o'-death RATE): the start-up burst and the fast pace end", async () => {
  const base = new VirtualClock(0);
  const net = new SimNetwork(base, { seed: 1 });
  const ref = net.addHost({ address: REF });
  const sock = await ref.udp.open({ port: 123 });
  let asked = 0;
  sock.onMessage((m) => {
    asked++;
    const kiss = buildNtp({ mode: 4, stratum: 0, refId: 'RATE', origin: parseNtp(m.data).transmit, receive: toNtp(1), transmit: toNtp(2) });
    sock.send(kiss, m.port, m.address);
  });
  const dev = net.addHost({ address: '10.0.0.2' });
  const hc = new HouseClock(dev.clock, { stack: dev.udp, server: REF, port: 123 });
  await hc.start();
  for (let t = 0; t < 5000; t += 10) {
    base.advance(10);
    await Promise.resolve();
  }
  assert.ok(hc.client.faults.kiss >= 1, JSON.stringify(hc.client.faults));
  assert.ok(asked <= 4, `${asked} queries in 5 s after the first kiss-o'-death`);
  await hc.stop();
});

test('a Wi-Fi-like link (3 ms jitter, 1 % loss, 20 ms bursts): the lower envelope holds house time to a fraction of the jitter', async () => {
  const h = await house({
    link: { delayMs: 0.15, jitterMs: 3, loss: 0.01, burst: { everyMs: 5000, durationMs: 300, extraMs: 20 } },
    seed: 5,
  });
  await h.run(120_000);
  const errs: number[] = [];
  await h.run(180_000, () => errs.push(Math.abs(h.errUs())));
  assert.ok(p99(errs) < 400, `p99 ${p99(errs).toFixed(0)} µs over minutes 2–5 (a plain average of exchanges: ~1 ms)`);
  await h.hc.stop();
});

// A first lock is taken from eight exchanges 10 ms apart; if they all meet a delay burst on one leg
// (Wi-Fi queueing toward the device), it is half the burst off. Slewing that at 500 ppm took
// 20 s here (36 s for an 18 ms lock in the clock bench); while the client settles it is stepped.
test('a first lock taken in a one-way delay burst is corrected within 3 s, not slewed for tens of seconds', async () => {
  const h = await house({ link: { delayMs: 0.15, jitterMs: 0.2 } });
  // Toward the device: +20 ms for the first 300 ms of every 60 s (the device starts in one).
  h.net.setLink(REF, '10.0.0.2', { delayMs: 0.15, jitterMs: 0.2, burst: { everyMs: 60_000, durationMs: 300, extraMs: 20 } });
  await h.run(100);
  assert.is(h.hc.sync().state, 'locked');
  assert.ok(Math.abs(h.errUs()) > 5000, `the lock in the burst is off: ${h.errUs().toFixed(0)} µs`);
  await h.run(2600);
  assert.ok(Math.abs(h.errUs()) <= 100, `error at 3 s: ${h.errUs().toFixed(0)} µs`);
  assert.ok(
    h.events.some((e) => e.type === 'step'),
    'stepped (while settling), counted',
  );
  await h.hc.stop();
});

// hearth's Node server reads a request's arrival when its event loop wakes (on this VM 0.1–0.3 ms
// late; measured one-way legs on loopback: request floor 216–256 µs, reply floor 74–92 µs), which
// only ever delays t2. The weighted mean of θ kept half of that lateness: house time ran ahead by
// +45 to +77 µs here (three seeds). The legs' separate envelopes see the least-late requests.
test("a reference that reads requests late (0–0.4 ms): the legs' envelopes keep house time from running ahead", async () => {
  for (const seed of [1, 2, 3]) {
    const h = await house({ link: { delayMs: 0.1, jitterMs: 0.2 }, refLagMs: 0.4, ppm: 200, seed });
    await h.run(10_000);
    const errs: number[] = [];
    await h.run(50_000, () => errs.push(h.errUs()));
    const bias = [...errs].sort((a, b) => a - b)[errs.length >> 1]!;
    assert.ok(Math.abs(bias) <= 25, `seed ${seed}: median error ${bias.toFixed(1)} µs (the lateness kept half)`);
    assert.ok(p99(errs.map(Math.abs)) <= 60, `seed ${seed}: p99 ${p99(errs.map(Math.abs)).toFixed(1)} µs`);
    await h.hc.stop();
  }
});

// The rooms bench's Wi-Fi profile (1 ms + 0–3 ms each way, 1 % loss, 20 ms bursts). With 3 s of
// 10 queries a second and then one a second, the line's rate rested on ~30 noisy exchanges over 3 s
// and swung by hundreds of ppm: house time wandered ±1 ms through the first minute (the rooms
// bench measures 25–60 s after a player joins). The fast pace now runs while the estimate is
// unsure (up to 30 s): with it, the same seeds stay within a quarter of a millisecond.
test('a Wi-Fi-like link: within 250 µs in the first minute (the fast pace lasts while the estimate is unsure)', async () => {
  const wifi: LinkProfile = { delayMs: 1, jitterMs: 3, loss: 0.01, burst: { everyMs: 4000, durationMs: 150, extraMs: 20 } };
  for (const [seed, ppm] of [
    [2, -150],
    [3, 200],
    [4, -150],
  ] as const) {
    const h = await house({ link: wifi, seed, ppm });
    await h.run(25_000);
    const errs: number[] = [];
    await h.run(35_000, () => errs.push(Math.abs(h.errUs())));
    assert.ok(p99(errs) <= 250, `seed ${seed}: p99 ${p99(errs).toFixed(0)} µs from 25 to 60 s`);
    const q0 = h.hc.client.queries;
    await h.run(60_000);
    assert.ok(h.hc.client.queries - q0 <= 60, `seed ${seed}: ${h.hc.client.queries - q0} queries in the second minute`);
    await h.hc.stop();
  }
});

// In the start-up window (the 1.5 s burst and 3 s: the client's `starting`) corrections are slewed
// fast (≤ 5000 ppm, over 100 ms), so that a joining player starts on a sure line; after it at
// ≤ 500 ppm (twice that between two samples 10 ms apart, as a new correction replaces one half done).
test('once locked, corrections are slewed: house time never jumps nor runs backwards', async () => {
  const h = await house({ link: { delayMs: 0.2, jitterMs: 2, loss: 0.05, burst: { everyMs: 7000, durationMs: 500, extraMs: 20 } } });
  await h.run(1000);
  let last = h.hc.wall(),
    lastDev = h.dev.clock.now(),
    worst = 0,
    worstStart = 0;
  await h.run(60_000, (t) => {
    const w = h.hc.wall(),
      d = h.dev.clock.now();
    const off = Math.abs((w - last) / (d - lastDev) - 1);
    if (t <= 3000) worstStart = Math.max(worstStart, off);
    else worst = Math.max(worst, off);
    last = w;
    lastDev = d;
  });
  assert.ok(worstStart <= 5e-3, `house time ran at ${(worstStart * 1e6).toFixed(0)} ppm off the monotonic clock in the start-up window`);
  assert.ok(worst < 1e-3, `house time ran at ${(worst * 1e6).toFixed(0)} ppm off the monotonic clock at worst after it`);
  assert.is(h.hc.steps, 0);
  await h.hc.stop();
});

test.run();
