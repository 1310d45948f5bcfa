// The PI drift controller against a plant with a made-up drift: no feed-forward at all, so the
// integrator alone must learn every offset in ±1000 ppm.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DriftController } from '../../../../device/audio/engine/drift.ts';
import { Prng } from '../../../../device/core/prng.ts';

/** Runs `seconds` of 5 ms blocks; the plant's phase error integrates (drift − u). Measurement noise optional. */
function run(driftPpm: number, seconds: number, noiseUs = 0, e0 = 0) {
  const c = new DriftController();
  const dt = 0.005;
  const rnd = new Prng(42);
  let e = e0;
  const es: number[] = [],
    us: number[] = [];
  for (let k = 0; k < seconds / dt; k++) {
    const measured = e + (noiseUs ? (rnd.next() - 0.5) * 2 * noiseUs * 1e-6 : 0);
    const u = c.update(measured, dt);
    e += dt * (driftPpm * 1e-6 - u);
    es.push(e);
    us.push(u);
  }
  return { c, es, us };
}

test('tracks every offset over ±1000 ppm: residual drift ≤ 1 ppm, phase error → 0, no saturation in steady state', () => {
  for (const ppm of [-1000, -500, -120, 0, 80, 300, 1000]) {
    const { c, es, us } = run(ppm, 120);
    // Residual drift over the last 60 s: the slope of the phase error, in ppm.
    const n = es.length,
      half = n / 2;
    const slopePpm = ((es[n - 1]! - es[half]!) / ((n - 1 - half) * 0.005)) * 1e6;
    assert.ok(Math.abs(slopePpm) <= 1, `${ppm} ppm: residual ${slopePpm.toFixed(4)} ppm`);
    assert.ok(Math.abs(es[n - 1]!) < 1e-7, `${ppm} ppm: final error ${es[n - 1]} s`);
    assert.ok(Math.abs(c.learned() * 1e6 - ppm) < 0.5, `${ppm} ppm: learned ${c.learned() * 1e6}`);
    const lastUs = us.slice(half);
    assert.ok(
      lastUs.every((u) => Math.abs(u) < 2000e-6),
      'not saturated',
    );
  }
});

test('settles a 1 ms phase step to 10 µs within 15 s (ωn = 0.5 rad/s) and never overshoots by more than 15 %', () => {
  const { es } = run(0, 30, 0, 1e-3);
  const idx = es.findIndex((e, i) => es.slice(i).every((x) => Math.abs(x) < 10e-6));
  assert.ok(idx >= 0 && idx * 0.005 < 15, `settled after ${(idx * 0.005).toFixed(2)} s`);
  assert.ok(Math.min(...es) > -0.15e-3, `overshoot ${Math.min(...es)}`);
});

test('noisy measurements (±20 µs) average out: steady correction stays within a few ppm of the drift', () => {
  const { us } = run(250, 120, 20);
  const tail = us.slice(us.length / 2);
  const mean = tail.reduce((a, b) => a + b, 0) / tail.length;
  assert.ok(Math.abs(mean * 1e6 - 250) < 1, `mean correction ${mean * 1e6}`);
  // Block-to-block ratio changes stay small (no audible FM): ≤ 0.1 ppm typical.
  let maxStep = 0;
  for (let i = 1; i < tail.length; i++) maxStep = Math.max(maxStep, Math.abs(tail[i]! - tail[i - 1]!));
  assert.ok(maxStep * 1e6 < 50, `largest step ${maxStep * 1e6} ppm`);
});

test('saturates at ±2000 ppm without wind-up, and recovers without a long overshoot', () => {
  const c = new DriftController();
  for (let k = 0; k < 2000; k++) c.update(0.02, 0.005); // 20 ms error held for 10 s
  assert.ok(Math.abs(c.correctionPpm() - 2000) < 1e-6);
  assert.ok(c.learned() <= 2000e-6);
  // Error gone: the correction falls back promptly.
  let u = 0;
  for (let k = 0; k < 400; k++) u = c.update(0, 0.005);
  assert.ok(Math.abs(u) <= 2000e-6);
  c.reset();
  assert.is(c.correction(), 0);
});

test.run();
