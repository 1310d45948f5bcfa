import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Resampler } from '../../../../device/audio/engine/resampler.ts';
import { thdn } from '../../../../device/audio/analysis.ts';

const A = Math.pow(10, -1 / 20); // −1 dBFS

/** Runs a stereo tone through a resampler at a (possibly varying) ratio; returns left channel as int16 or float·32767. */
function runTone(o: {
  freq: number;
  inRate: number;
  ratio: (block: number) => number;
  nominal?: number;
  nOut?: number;
  quantize?: boolean;
  simd?: boolean;
  block?: number;
}) {
  const r = new Resampler({ channels: 2, nominalRatio: o.nominal ?? 1, simd: o.simd });
  const block = o.block ?? 256;
  const nOut = o.nOut ?? 98304;
  const chunk = new Float32Array(1024 * 2);
  let produced = 0; // input frames generated so far (absolute index = produced)
  r.setPosition(0, 0);
  const out = new Float32Array(nOut * 2);
  for (let b = 0; b * block < nOut; b++) {
    const ratio = o.ratio(b);
    const n = Math.min(block, nOut - b * block);
    while (r.inputEnd() < r.inputNeeded(n, ratio)) {
      for (let i = 0; i < 1024; i++) {
        const v = A * Math.sin((2 * Math.PI * o.freq * (produced + i)) / o.inRate);
        chunk[2 * i] = v;
        chunk[2 * i + 1] = -v;
      }
      r.push(chunk, 1024);
      produced += 1024;
    }
    r.process(out, b * block, n, ratio);
  }
  const skip = 1024;
  const left = new Float64Array(nOut - skip),
    right = new Float64Array(nOut - skip);
  for (let i = 0; i < left.length; i++) {
    const l = out[(i + skip) * 2]! * 32767,
      rr = out[(i + skip) * 2 + 1]! * 32767;
    left[i] = o.quantize === false ? l : Math.round(l);
    right[i] = o.quantize === false ? rr : Math.round(rr);
  }
  return { left, right, r, out };
}

test('THD+N of a 1 kHz tone through the ±300 ppm corrected path, int16 out: ≤ −90 dB', () => {
  for (const ppm of [300, -300]) {
    const { left, right } = runTone({ freq: 1000, inRate: 48000, ratio: () => 1 + ppm / 1e6 });
    const l = thdn(left, 48000, { fullScale: 32767 });
    const r = thdn(right, 48000, { fullScale: 32767 });
    assert.ok(l.thdnDb <= -90, `L ${ppm} ppm: ${l.thdnDb.toFixed(1)} dB`);
    assert.ok(r.thdnDb <= -90, `R ${ppm} ppm: ${r.thdnDb.toFixed(1)} dB`);
    assert.ok(Math.abs(l.fundamentalDbfs + 1) < 0.01, `level ${l.fundamentalDbfs}`);
    assert.ok(Math.abs(l.fundamentalHz - 1000 * (1 + ppm / 1e6)) < 0.5, `frequency ${l.fundamentalHz}`);
  }
});

test('the filter itself (float out) stays below −100 dB, also 44.1 → 48 kHz and 48 → 44.1 kHz', () => {
  const cases = [
    { inRate: 48000, ratio: 1.0003, nominal: 1 },
    { inRate: 44100, ratio: (44100 / 48000) * 1.0003, nominal: 44100 / 48000 },
    { inRate: 48000, ratio: (48000 / 44100) * 0.9997, nominal: 48000 / 44100 },
  ];
  for (const c of cases) {
    const { left } = runTone({ freq: 1000, inRate: c.inRate, ratio: () => c.ratio, nominal: c.nominal, quantize: false });
    const res = thdn(left, c.inRate / c.ratio, { fullScale: 32767 });
    assert.ok(res.thdnDb <= -100, `${c.inRate} ratio ${c.ratio}: ${res.thdnDb.toFixed(1)} dB`);
  }
});

test('flat passband: level within ±0.05 dB from 100 Hz to 18 kHz', () => {
  for (const f of [100, 5000, 12000, 18000]) {
    const { left } = runTone({ freq: f, inRate: 48000, ratio: () => 1.0001, quantize: false, nOut: 32768 });
    const res = thdn(left, 48000 / 1.0001, { fullScale: 32767, highHz: 23000 });
    assert.ok(Math.abs(res.fundamentalDbfs + 1) < 0.05, `${f} Hz at ${res.fundamentalDbfs.toFixed(3)} dBFS`);
  }
});

test('a ratio that changes at every block stays clean (no steps)', () => {
  // A drift controller nudges the ratio at every block: a sweep from −1000 to +1000 ppm over 2 s
  // plus a ±0.5 ppm random step per block. (Steps of tens of ppm per block would be audible as FM
  // sidebands — about −66 dB for 100 ppm at 94 Hz — which is why the controller must be smooth.)
  let seed = 7;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5;
  const blocks = 98304 / 256;
  let walk = 0;
  const ratios: number[] = [];
  const { left } = runTone({
    freq: 1000,
    inRate: 48000,
    ratio: (b) => (ratios[b] ??= 1 + (-1000 + (2000 * b) / blocks + (walk += rnd())) / 1e6),
  });
  const res = thdn(left, 48000, { fullScale: 32767, notchBins: 40 });
  assert.ok(res.thdnDb <= -90, `${res.thdnDb.toFixed(1)} dB`);
});

test('SIMD kernel and scalar loop agree; position advances by exactly n·ratio', () => {
  const a = runTone({ freq: 3000, inRate: 48000, ratio: () => 1.000731, quantize: false, simd: true, nOut: 20000, block: 300 });
  const b = runTone({ freq: 3000, inRate: 48000, ratio: () => 1.000731, quantize: false, simd: false, nOut: 20000, block: 300 });
  let maxDiff = 0;
  for (let i = 0; i < a.left.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.left[i]! - b.left[i]!));
  assert.ok(maxDiff < 32767 * 1e-5, `max difference ${maxDiff}`);
  assert.ok(Math.abs(a.r.position() - 20000 * 1.000731) < 1e-6, `position ${a.r.position()}`);
  assert.ok(Math.abs(b.r.position() - 20000 * 1.000731) < 1e-6, `position ${b.r.position()}`);
});

test('zero phase: output at position p equals the input signal at p', () => {
  const r = new Resampler({ channels: 1 });
  const n = 4000,
    f = 440,
    rate = 48000;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.sin((2 * Math.PI * f * i) / rate);
  r.setPosition(1000.37, 0);
  r.push(x, n);
  const out = new Float32Array(1);
  r.process(out, 0, 1, 1);
  assert.ok(Math.abs(out[0]! - Math.sin((2 * Math.PI * f * 1000.37) / rate)) < 1e-5, `${out[0]}`);
});

test('silence in, silence out; missing input reads as zero', () => {
  const r = new Resampler({ channels: 2 });
  r.setPosition(0, 0);
  r.pushSilence(2000);
  const out = new Float32Array(1000 * 2).fill(1);
  r.process(out, 0, 1000, 1.001);
  assert.ok(out.every((v) => v === 0));
  assert.ok(Math.abs(r.position() - 1001) < 1e-9);
});

test.run();
