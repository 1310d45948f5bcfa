// The true-DAC analyser (test/helpers/true-dac/true-dac.ts) on synthetic recordings whose true
// offsets are known: a fractional true start, a fractional delay in the audio itself, a crystal
// error, a gap, and the recording format true-dac.c writes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dacErrors, parseRecording, silentSpans, type DacRun } from '../../helpers/true-dac/true-dac.ts';
import { fft } from '../../helpers/delay-estimate.ts';
import { Prng } from '../../../device/core/prng.ts';

const RATE = 48000;
const N = 1 << 17; // 2.7 s

/** Band-limited (0.7 of Nyquist) periodic noise, and the same noise `d` frames later (exact, in the frequency domain). */
function noisePair(d: number, seed = 7): [Int16Array, Int16Array] {
  const re = new Float64Array(N),
    im = new Float64Array(N);
  const rnd = new Prng(seed);
  for (let i = 0; i < N; i++) re[i] = rnd.next() * 2 - 1;
  fft(re, im);
  for (let k = Math.floor(N * 0.35); k <= N - Math.floor(N * 0.35); k++) re[k] = im[k] = 0;
  const dr = new Float64Array(N),
    di = new Float64Array(N);
  for (let k = 0; k < N; k++) {
    const w = (2 * Math.PI * (k <= N / 2 ? k : k - N)) / N;
    dr[k] = re[k]! * Math.cos(-w * d) - im[k]! * Math.sin(-w * d);
    di[k] = re[k]! * Math.sin(-w * d) + im[k]! * Math.cos(-w * d);
  }
  fft(re, im, true);
  fft(dr, di, true);
  const q = (x: Float64Array) => Int16Array.from(x, (v) => Math.round(v * 5000));
  return [q(re), q(dr)];
}

const T0 = 5_000_000_000; // a true CLOCK_MONOTONIC start, ns
const wall = (ns: number) => ns / 1e6;
const finite = <T extends { errUs: number }>(e: T[]) => e.filter((x) => Number.isFinite(x.errUs));

test('two rooms playing the same audio, B started 2.5 ms + a fraction of a frame later in true time, read to within 0.05 µs', () => {
  const [x] = noisePair(0);
  const offsetNs = 2_500_000 + 7_300; // 2507.3 µs: 120.35 frames
  const a: DacRun[] = [{ t0Ns: T0, rate: RATE, frames: x }];
  const b: DacRun[] = [{ t0Ns: T0 + offsetNs, rate: RATE, frames: x }];
  const errs = dacErrors(a, b, T0, T0 + 2.5e9, { monoToWallMs: wall });
  assert.ok(finite(errs).length >= 50, `${finite(errs).length} readings`);
  for (const e of finite(errs)) assert.ok(Math.abs(e.errUs - offsetNs / 1000) < 0.05, `read ${e.errUs} µs`);
});

test('a fractional delay in the audio itself (0.37 frame, both started together) reads as 7.708 µs', () => {
  const [x, y] = noisePair(0.37);
  const errs = finite(
    dacErrors([{ t0Ns: T0, rate: RATE, frames: x }], [{ t0Ns: T0, rate: RATE, frames: y }], T0, T0 + 2.5e9, { monoToWallMs: wall }),
  );
  assert.ok(errs.length >= 50);
  for (const e of errs) assert.ok(Math.abs(e.errUs - (0.37 / RATE) * 1e6) < 0.1, `read ${e.errUs} µs`);
});

test("B ahead: a negative error; A started later than B is read at A's windows only", () => {
  const [x] = noisePair(0);
  // B starts 1 ms earlier but at frame 48 + 10 of the same audio: B plays A's frame k at T0 − 1 ms + (k − 58)/48 kHz.
  const a: DacRun[] = [{ t0Ns: T0, rate: RATE, frames: x }];
  const b: DacRun[] = [{ t0Ns: T0 - 1_000_000, rate: RATE, frames: x.subarray(58) }];
  const want = -1000 - (58 / RATE) * 1e6 + 0; // B plays each frame 2208.3 µs before A
  const errs = finite(dacErrors(a, b, T0 - 1e8, T0 + 2.5e9, { monoToWallMs: wall }));
  assert.ok(errs.length >= 50);
  for (const e of errs) assert.ok(Math.abs(e.errUs - want) < 0.05, `read ${e.errUs} µs, want ${want}`);
  assert.ok(errs[0]!.wallMs >= wall(T0), 'no reading before A played');
});

test('a DAC 200 ppm fast drifts against a true one by 200 µs per second, read window by window', () => {
  const [x] = noisePair(0);
  const a: DacRun[] = [{ t0Ns: T0, rate: RATE, frames: x }];
  const b: DacRun[] = [{ t0Ns: T0, rate: RATE * (1 + 200e-6), frames: x }];
  const errs = finite(dacErrors(a, b, T0, T0 + 2.5e9, { monoToWallMs: wall }));
  assert.ok(errs.length >= 50);
  for (const e of errs) {
    const tS = (e.wallMs - wall(T0)) / 1000;
    // A's frame i plays at i/48000; B's at i/(48000·(1+200e-6)): B earlier by tA·200e-6/(1+200e-6).
    const want = -(tS * 200e-6 * 1e6) / (1 + 200e-6);
    assert.ok(Math.abs(e.errUs - want) < 0.2, `at ${tS.toFixed(3)} s read ${e.errUs} µs, want ${want}`);
  }
});

test("a gap in B (its sink restarted) gives windows without a reading, then readings again with the new run's start", () => {
  const [x] = noisePair(0);
  const a: DacRun[] = [{ t0Ns: T0, rate: RATE, frames: x }];
  // B plays the first second, stops; its second run plays from frame 72000 (1.5 s) starting 1.5 s + 40 µs after T0.
  const b: DacRun[] = [
    { t0Ns: T0, rate: RATE, frames: x.subarray(0, RATE) },
    { t0Ns: T0 + 1_500_040_000, rate: RATE, frames: x.subarray(72000) },
  ];
  const errs = dacErrors(a, b, T0, T0 + 2.5e9, { monoToWallMs: wall });
  const at = (s: number) => errs.filter((e) => Math.abs(e.wallMs - wall(T0) - s * 1000) < 22)[0]!;
  assert.ok(Math.abs(at(0.5).errUs) < 0.05);
  assert.ok(Number.isNaN(at(1.2).errUs), 'silence between the runs is no reading');
  assert.ok(Math.abs(at(2.0).errUs - 40) < 0.05, `after the restart ${at(2.0).errUs}`);
});

test('parseRecording: runs from the index, channel 0, a killed run up to its last pos, unplayed frames skipped', () => {
  const raw = Buffer.alloc(10 * 4);
  for (let i = 0; i < 10; i++) {
    raw.writeInt16LE(i + 1, i * 4);
    raw.writeInt16LE(-100, i * 4 + 2);
  }
  const runs = parseRecording(
    'rate 48000 channels 2 ppm 50.000000 buffer 4 period 1\nstart 1000 0\npos 2\nend 3\nstart 9000 5\npos 4\n',
    raw,
  );
  assert.is(runs.length, 2);
  assert.equal(Array.from(runs[0]!.frames), [1, 2, 3]);
  assert.is(runs[0]!.t0Ns, 1000);
  assert.ok(Math.abs(runs[0]!.rate - 48000 * (1 + 50e-6)) < 1e-9);
  assert.equal(Array.from(runs[1]!.frames), [6, 7, 8, 9], 'frames 3 and 4 were handed over but dropped unplayed');
  assert.is(runs[0]!.unmarked, undefined, 'an ended run has nothing unmarked');
  assert.equal(Array.from(runs[1]!.unmarked!), [10], 'the killed run: what it had been given after its last pos');
});

test("silentSpans: a killed sink's gap counted from the kill (not its last position mark) to the new run's first audio, its probe's zeros included; a 2 ms dry spell; nothing else", () => {
  const ms = (x: number) => x * 1e6;
  const tone = (n: number) => Int16Array.from({ length: n }, (_, i) => 1000 + (i % 7));
  // Run 1: 1 s of audio, its process killed 30 ms after its last mark with 40 ms more given.
  const killed: DacRun = { t0Ns: T0, rate: RATE, frames: tone(RATE), unmarked: tone(RATE * 0.04) };
  // Run 2, 25 ms after the kill: 20 ms of probe zeros, then audio for 1 s, then a 2 ms dry spell, run 3.
  const probeThen = new Int16Array(RATE * 1.02);
  probeThen.set(tone(RATE), RATE * 0.02);
  const second: DacRun = { t0Ns: T0 + ms(1055), rate: RATE, frames: probeThen };
  const third: DacRun = { t0Ns: T0 + ms(2077), rate: RATE, frames: tone(RATE) };
  const spans = silentSpans([killed, second, third], T0, T0 + ms(3000), { killedAtNs: T0 + ms(1030) });
  const got = spans.map((s) => [Math.round((s.startNs - T0) / 1e4) / 100, Math.round((s.endNs - T0) / 1e4) / 100]);
  assert.equal(got, [
    [1030, 1075],
    [2075, 2077],
  ]);
  // Without the kill instant the gap starts at the last mark: 30 ms more, which the DAC did play.
  assert.is(Math.round((silentSpans([killed, second], T0, T0 + ms(1500))[0]!.startNs - T0) / 1e6), 1000);
});

test.run();
