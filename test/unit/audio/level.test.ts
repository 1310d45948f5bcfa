// The level meter of what a player writes to its DAC (device/audio/level.ts): known signals in,
// their peak and RMS in dBFS out, per channel, reset at each reading.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LevelMeter } from '../../../device/audio/level.ts';
import { LEVEL_FLOOR_DBFS, PlayerLevel } from '../../../protocol/roles/player.ts';
import { Value } from '@sinclair/typebox/value';

/** Stereo block: a sine of amplitude aL (0..1) on the left, a constant v on the right. */
function block(frames: number, aL: number, right: number): Int16Array {
  const b = new Int16Array(frames * 2);
  for (let i = 0; i < frames; i++) {
    b[2 * i] = Math.round(aL * 32767 * Math.sin((2 * Math.PI * 1000 * i) / 48000));
    b[2 * i + 1] = right;
  }
  return b;
}

test('a full-scale sine reads 0 dBFS peak and −3.0 RMS; a half-scale square −6.0 on both; per channel', () => {
  const m = new LevelMeter(2, 0);
  m.add(block(4800, 1, 16384));
  m.add(block(4800, 1, -16384));
  const r = m.take(2000);
  assert.equal(r.peakDbfs, [0, -6]);
  assert.equal(r.rmsDbfs, [-3, -6]);
  assert.is(r.frames, 9600);
  assert.is(r.windowMs, 2000);
  assert.ok(Value.Check(PlayerLevel, r), 'the protocol accepts it');
});

test('−20 dB of gain reads 20 dB lower; silence and an empty window read the floor', () => {
  const m = new LevelMeter(2, 0);
  m.add(block(4800, 0.1, 0));
  let r = m.take(1000);
  assert.is(r.peakDbfs[0], -20);
  assert.is(r.rmsDbfs[0], -23);
  assert.is(r.peakDbfs[1], LEVEL_FLOOR_DBFS);
  r = m.take(3000); // nothing written since: the last reading's audio is not carried over
  assert.equal(r, {
    windowMs: 2000,
    frames: 0,
    peakDbfs: [LEVEL_FLOOR_DBFS, LEVEL_FLOOR_DBFS],
    rmsDbfs: [LEVEL_FLOOR_DBFS, LEVEL_FLOOR_DBFS],
  });
  assert.ok(Value.Check(PlayerLevel, r));
});

test('the most negative sample is full scale, not above it', () => {
  const m = new LevelMeter(1, 0);
  m.add(Int16Array.from([-32768, 0]));
  assert.is(m.take(1).peakDbfs[0], 0);
});

test.run();
