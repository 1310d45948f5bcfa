// The source reader's concealment: a lost packet in a tone is bridged by repeating a matched
// period (the bridge continues the tone), and leaving/entering concealment makes no click.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { JitterBuffer } from '../../../../device/audio/packets/jitter-buffer.ts';
import { SourceReader } from '../../../../device/audio/engine/reader.ts';

const RATE = 48000,
  F = 320,
  A = 20000;
const tone = (i: number) => Math.round(A * Math.sin((2 * Math.PI * 440 * i) / RATE));

function stream(lost: Set<number>, packets: number) {
  const jb = new JitterBuffer({ rate: RATE, maxFrames: RATE * 2 });
  for (let k = 0; k < packets; k++) {
    if (lost.has(k)) continue;
    const pay = new Uint8Array(F * 2);
    for (let i = 0; i < F; i++) {
      const v = tone(k * F + i) & 0xffff;
      pay[2 * i] = v >> 8;
      pay[2 * i + 1] = v & 0xff;
    }
    jb.insert(1, k, k * F, F, pay, 1000 + (k * F * 1000) / RATE);
  }
  const r = new SourceReader(jb, 1, RATE);
  r.start(0);
  const out = new Float32Array(packets * F);
  const res = r.read(out, packets * F);
  return { out: Array.from(out, (v) => v * 32768), res, r, jb };
}

test('one lost packet in a 440 Hz tone: bridged by the tone itself, no click, counted', () => {
  const { out, res, jb } = stream(new Set([10]), 20);
  assert.is(res.concealed, F);
  assert.is(jb.lost, 1);
  const maxSlope = (2 * Math.PI * 440 * A) / RATE;
  // Whole output, including both seams: no step beyond what the tone itself does (+10 %).
  let worst = 0;
  for (let i = 201; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i]! - out[i - 1]!));
  assert.ok(worst <= maxSlope * 1.1, `largest step ${worst.toFixed(0)} vs ${maxSlope.toFixed(0)}`);
  // The bridge is the tone: the concealed packet matches the true signal closely.
  let err = 0,
    sig = 0;
  for (let i = 10 * F; i < 11 * F; i++) {
    err += (out[i]! - tone(i)) ** 2;
    sig += tone(i) ** 2;
  }
  assert.ok(10 * Math.log10(err / sig) < -30, `bridge error ${(10 * Math.log10(err / sig)).toFixed(1)} dB`);
});

test('a long outage fades to silence after 30 ms, counts one underrun, and fades back in', () => {
  const jb = new JitterBuffer({ rate: RATE, maxFrames: RATE * 2 });
  const put = (k: number) => {
    const pay = new Uint8Array(F * 2);
    for (let i = 0; i < F; i++) {
      const v = tone(k * F + i) & 0xffff;
      pay[2 * i] = v >> 8;
      pay[2 * i + 1] = v & 0xff;
    }
    jb.insert(1, k, k * F, F, pay, 1000 + (k * F * 1000) / RATE);
  };
  for (let k = 0; k < 5; k++) put(k);
  const r = new SourceReader(jb, 1, RATE);
  r.start(0);
  const a = new Float32Array(5 * F + 4800);
  const ra = r.read(a, a.length); // 100 ms past the end of the data
  assert.ok(ra.underrun);
  assert.is(r.underruns, 1);
  const tail = a.subarray(5 * F + Math.round(RATE * 0.031));
  assert.ok(
    tail.every((v) => v === 0),
    'silent after the fade',
  );
  for (let k = 20; k < 30; k++) put(k); // the stream comes back (timeline continues)
  const b = new Float32Array(20 * F - (5 * F + 4800) + 10 * F);
  r.read(b, b.length);
  const back = Array.from(b.subarray(b.length - 10 * F), (v) => v * 32768);
  assert.ok(Math.abs(back[0]!) < 400, `starts from silence (${back[0]})`);
  assert.ok(Math.max(...back.slice(200)) > A * 0.95, 'then full level');
  assert.is(r.underruns, 1);
});

test.run();
