// The observer's arithmetic on made-up recordings with a known delay: whole and fractional
// samples, either sign, a delay that changes, silence on one side (no reading, never zero).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { channelLags, fft } from '../../helpers/delay-estimate.ts';
import { Prng } from '../../../device/core/prng.ts';

/** Seeded noise band-limited to 0.7 of Nyquist (a resampler would cut the top too) on the left; the
 * right is the left delayed by `delay(t)` samples (windowed-sinc interpolation, 2×64 taps). */
function stereo(frames: number, delay: number | ((frame: number) => number), seed = 7): Int16Array {
  const rnd = new Prng(seed);
  const n = 1 << Math.ceil(Math.log2(frames + 16384));
  const re = new Float64Array(n),
    im = new Float64Array(n);
  for (let i = 0; i < n; i++) re[i] = rnd.next() * 2 - 1;
  fft(re, im);
  const cut = Math.floor((n / 2) * 0.7);
  for (let k = cut; k <= n - cut; k++) {
    re[k] = 0;
    im[k] = 0;
  }
  if (typeof delay === 'number') {
    // constant: exactly, in the frequency domain (×e^{−jωd})
    const dr = Float64Array.from(re),
      di = Float64Array.from(im);
    for (let k = 0; k < n; k++) {
      const w = (2 * Math.PI * (k <= n / 2 ? k : k - n)) / n,
        c = Math.cos(-w * delay),
        sn = Math.sin(-w * delay);
      dr[k] = re[k]! * c - im[k]! * sn;
      di[k] = re[k]! * sn + im[k]! * c;
    }
    fft(re, im, true);
    fft(dr, di, true);
    const pcm = new Int16Array(frames * 2);
    for (let i = 0; i < frames; i++) {
      pcm[2 * i] = Math.round(re[i]! * 6000);
      pcm[2 * i + 1] = Math.round(dr[i]! * 6000);
    }
    return pcm;
  }
  fft(re, im, true);
  const off = 8192; // left frame i is re[off + i]; the right reaches back up to `off` frames
  const at = (x: number) => {
    // band-limited value at fractional index x of re
    const i0 = Math.floor(x),
      sf = Math.sin(Math.PI * (x - i0)); // sin(π(x − k)) = ±sf
    let v = 0;
    for (let k = i0 - 63; k <= i0 + 64; k++) {
      const t = x - k;
      const w = 0.42 + 0.5 * Math.cos((Math.PI * t) / 64) + 0.08 * Math.cos((2 * Math.PI * t) / 64);
      v += re[k]! * (t === 0 ? 1 : ((i0 - k) & 1 ? -sf : sf) / (Math.PI * t)) * w;
    }
    return v;
  };
  const out = new Int16Array(frames * 2);
  for (let i = 0; i < frames; i++) {
    out[2 * i] = Math.round(re[off + i]! * 6000);
    out[2 * i + 1] = Math.round(at(off + i - delay(i)) * 6000);
  }
  return out;
}

const us = (samples: number) => (samples / 48000) * 1e6;

test('a constant fractional delay reads to well under a microsecond', () => {
  for (const d of [0, 3.3, -2.71, 0.5, 7.5, 40.123]) {
    const r = channelLags(stereo(48000 * 2, d), { maxLagMs: 5 }).filter((x) => Number.isFinite(x.lagUs));
    assert.ok(r.length > 30, `readings for ${d}`);
    for (const x of r)
      assert.ok(Math.abs(x.lagUs - us(d)) < 0.5, `delay ${d} samples (${us(d).toFixed(3)} µs) read ${x.lagUs.toFixed(3)} µs`);
  }
});

test('a large delay is found by the wide search and then tracked as it moves', () => {
  // 120 ms, then moving by 40 ppm (0.04 ms per second).
  const delay = (i: number) => 5760 + 40e-6 * i; // i: the right channel's frame
  const r = channelLags(stereo(48000 * 3, delay), { maxLagMs: 150 });
  const ok = r.filter((x) => Number.isFinite(x.lagUs));
  assert.ok(ok.length > r.length * 0.95, `${ok.length} of ${r.length} readings`);
  for (const x of ok) {
    const want = us(delay(x.atS * 48000 + 5760 + 1024)); // at the middle of the window the right channel plays
    assert.ok(Math.abs(x.lagUs - want) < 1, `at ${x.atS.toFixed(3)} s read ${x.lagUs.toFixed(2)} µs, delay ${want.toFixed(2)} µs`);
  }
});

test('silence on one side gives no reading, never a lag of zero', () => {
  const pcm = stereo(48000, 2);
  for (let i = 1; i < pcm.length; i += 2) pcm[i] = 0;
  const r = channelLags(pcm, { maxLagMs: 5 });
  assert.ok(r.length > 5);
  assert.ok(r.every((x) => Number.isNaN(x.lagUs)));
});

test.run();
