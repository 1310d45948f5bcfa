// The estimator alone, fed made-up exchanges: a reference `offset` ms ahead of this device's
// monotonic clock, running `ppm` faster, seen through links with given one-way delays.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ClockEstimator, type Exchange } from '../../../device/clock/estimator.ts';
import { Prng } from '../../../device/core/prng.ts';

const REF0 = 1_767_225_600_000;
/** Reference time at local t, for a reference `ppm` fast and `offset` ahead at t = 0. */
const refOf = (t: number, ppm: number, offset = 0) => REF0 + offset + t * (1 + ppm / 1e6);
function exchange(t1: number, up: number, down: number, ppm: number, offset = 0, hold = 0.02): Exchange {
  const t2 = refOf(t1 + up, ppm, offset),
    t3 = t2 + hold;
  const t4 = t1 + up + hold / (1 + ppm / 1e6) + down;
  return { t1, t2, t3, t4 };
}
const errUs = (e: ClockEstimator, t: number, ppm: number, offset = 0) => (e.refAt(t)! - refOf(t, ppm, offset)) * 1000;

test('offset and a 200 ppm rate are found from jittery exchanges; the uncertainty covers the error', () => {
  for (const ppm of [200, -200, 0]) {
    const e = new ClockEstimator();
    const rng = new Prng(7);
    for (let i = 0; i < 120; i++) assert.is(e.add(exchange(i * 1000, 0.1 + rng.next() * 0.2, 0.1 + rng.next() * 0.2, ppm)), 'accepted');
    const t = 120_000;
    const est = e.estimate(t)!;
    assert.ok(Math.abs(est.rate * 1e6 - ppm) < 0.5, `rate ${est.rate * 1e6} ppm vs ${ppm}`);
    assert.ok(Math.abs(errUs(e, t, ppm)) < 20, `error ${errUs(e, t, ppm)} µs`);
    assert.ok(est.uncertaintyUs >= Math.abs(errUs(e, t, ppm)) && est.uncertaintyUs < 100, `uncertainty ${est.uncertaintyUs}`);
  }
});

test('asymmetric delay bursts (20 ms one way) do not pull the line; min-delay exchanges decide', () => {
  const e = new ClockEstimator();
  const rng = new Prng(3);
  for (let i = 0; i < 200; i++) {
    const burst = i % 10 < 3; // 30 % of exchanges queue 20 ms on the way up
    e.add(exchange(i * 1000, 0.1 + rng.next() * 0.1 + (burst ? 20 : 0), 0.1 + rng.next() * 0.1, 50));
  }
  assert.ok(Math.abs(errUs(e, 200_000, 50)) < 15, `error ${errUs(e, 200_000, 50)} µs (a plain mean would be ~3000)`);
});

test('a lying reply is an outlier: counted, never followed', () => {
  const e = new ClockEstimator();
  for (let i = 0; i < 30; i++) e.add(exchange(i * 1000, 0.15, 0.15, 20));
  const before = errUs(e, 30_000, 20);
  assert.is(e.add(exchange(30_000, 0.15, 0.15, 20, 5000)), 'suspect'); // says the time is 5 s later
  for (let i = 31; i < 35; i++) assert.is(e.add(exchange(i * 1000, 0.15, 0.15, 20)), 'accepted');
  assert.is(e.counts.outliers, 1);
  assert.is(e.counts.jumps, 0);
  assert.ok(Math.abs(errUs(e, 35_000, 20) - before) < 5);
});

test('impossible exchanges are invalid: negative round trip, reply before request', () => {
  const e = new ClockEstimator();
  assert.is(e.add({ t1: 100, t2: REF0, t3: REF0 + 50, t4: 110 }), 'invalid'); // held 50 ms of a 10 ms round trip
  assert.is(e.add({ t1: 100, t2: REF0, t3: REF0, t4: 90 }), 'invalid');
  assert.is(e.add({ t1: 100, t2: NaN, t3: REF0, t4: 101 }), 'invalid');
  assert.is(e.counts.invalid, 3);
  assert.is(e.estimate(100), undefined);
});

test('the reference jumping (a restart with a new anchor) is detected after 3 agreeing exchanges and re-converged', () => {
  const e = new ClockEstimator();
  for (let i = 0; i < 60; i++) e.add(exchange(i * 1000, 0.15, 0.15, 10));
  const res = [60, 61, 62].map((i) => e.add(exchange(i * 1000, 0.15, 0.15, 10, 1234.5)));
  assert.equal(res, ['suspect', 'suspect', 'jump']);
  assert.is(e.counts.jumps, 1);
  assert.ok(Math.abs(errUs(e, 62_000, 10, 1234.5)) < 5, `error after the jump ${errUs(e, 62_000, 10, 1234.5)} µs`);
});

test('silence: the last line is extrapolated and its uncertainty grows with the wait', () => {
  const e = new ClockEstimator();
  for (let i = 0; i < 60; i++) e.add(exchange(i * 1000, 0.15, 0.15, -120));
  const u0 = e.uncertaintyUs(60_000),
    u1 = e.uncertaintyUs(660_000);
  assert.ok(u1 > u0 + 250, `uncertainty ${u0} → ${u1} µs after 10 min`);
  assert.ok(Math.abs(errUs(e, 660_000, -120)) < u1);
});

test.run();
