// The speaker sink's DAC estimate (device/hal/audio-out.speaker-queue.ts) in virtual time, against
// a modelled DAC that plays at 48 kHz from the first write: a writer that tops the queue up to
// bufferMs + 20 ms every 5 ms from the estimate, delay readings every 30–50 ms.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DacReadings } from '../../../device/hal/audio-out.speaker-queue.ts';

const RATE = 48000;
const perMs = RATE / 1000;

interface Run {
  /** Times (ms) at which the modelled DAC had nothing to play. */
  dryMs: number;
  underruns: number;
  /** The most frames any reading or run-on counted as played beyond what the DAC had played (ms). */
  aheadMs: number;
  maxQueuedMs: number;
}

/**
 * `startMs`: the DAC starts this long after the first write (a PulseAudio stream's prebuffer).
 * `underReport(t)`: frames the device's delay reading leaves out at t (ALSA's PulseAudio plugin
 * before its timing info is in). `stall`: the writer writes nothing in [from, to). `runOn`: the
 * estimate's run-on between readings (false: count only the last reading, as before).
 */
function run(
  o: {
    bufferMs: number;
    ms: number;
    startMs?: number;
    underReport?: (t: number) => number;
    stall?: [number, number];
    runOn?: boolean;
    lagMs?: number;
  },
  stall2?: [number, number],
): Run {
  const dac = new DacReadings(RATE);
  let written = 0,
    played = 0,
    dryMs = 0,
    aheadMs = 0,
    maxQueuedMs = 0,
    nextReading = 40,
    k = 0;
  const inbox: { at: number; accepted: number; delay: number; taken: number }[] = [];
  for (let t = 0; t <= o.ms; t += 1) {
    // The DAC, 1 ms at a time.
    if (t > (o.startMs ?? 0) && written > 0) {
      const can = Math.min(perMs, written - played);
      if (can < perMs && t > 200) dryMs++;
      played += can;
    }
    if (t === nextReading) {
      const delay = Math.max(0, written - played - (o.underReport?.(t) ?? 0));
      inbox.push({ at: t + (o.lagMs ?? 0), accepted: written, delay, taken: t });
      nextReading += 30 + ((k++ * 7) % 21); // 30–50 ms, every phase
    }
    // Readings reach the sink `lagMs` after they were taken (the sink process's report, IPC, a busy event loop).
    while (inbox.length && inbox[0]!.at <= t) {
      const r = inbox.shift()!;
      dac.reading(r.accepted, r.delay, r.taken);
    }
    const stalled = [o.stall, stall2].some((st) => st && t >= st[0] && t < st[1]);
    if (t % 5 === 0 && !stalled) {
      const est = o.runOn === false ? (dac.consumed ?? 0) : dac.playedBy(t, written);
      aheadMs = Math.max(aheadMs, (est - played) / perMs, ((dac.consumed ?? 0) - played) / perMs);
      const room = Math.round((o.bufferMs + 20) * perMs) - (written - est);
      for (let n = 0; n < Math.floor(room / 240); n++) written += 240;
      if (written > 0) dac.wrote(t);
      maxQueuedMs = Math.max(maxQueuedMs, (written - played) / perMs);
    }
  }
  return { dryMs, underruns: dac.underruns, aheadMs, maxQueuedMs };
}

test('with bufferMs 40 a real-time DAC never runs dry between readings', () => {
  // Readings that reach the sink 15 ms after they were taken (a loaded machine).
  const r = run({ bufferMs: 40, ms: 10_000, lagMs: 15 });
  assert.is(r.dryMs, 0, `the DAC had nothing to play for ${r.dryMs} ms`);
  assert.is(r.underruns, 0);
  assert.ok(r.maxQueuedMs <= 40 + 20 + 5, `queued up to ${r.maxQueuedMs} ms`);
  // Counting only the last reading (the sink before this estimate) runs dry: the test can fail.
  const before = run({ bufferMs: 40, ms: 10_000, lagMs: 15, runOn: false });
  assert.ok(before.dryMs > 100, `without the run-on: dry ${before.dryMs} ms`);
});

test('a stream that starts late, with under-reported delays at first: nothing counted as played before its time', () => {
  // PulseAudio: the stream starts 24 ms after the first write; its first readings leave out 97 ms.
  const r = run({ bufferMs: 200, ms: 5000, startMs: 24, underReport: (t) => (t < 200 ? 97 * perMs : 0) });
  // Rule 1 bounds it by the time since the first write: at most the 24 ms the stream waited.
  assert.ok(r.aheadMs <= 24 + 1, `counted ${r.aheadMs.toFixed(1)} ms ahead of the DAC`);
  assert.is(r.dryMs, 0);
  assert.ok(r.maxQueuedMs <= 200 + 20 + 24 + 5, `queued up to ${r.maxQueuedMs} ms`);
});

test('a writer that stalls 100 ms: the dry spell is counted once', () => {
  const r = run({ bufferMs: 40, ms: 3000, stall: [1000, 1100] });
  assert.ok(r.dryMs >= 20, `dry ${r.dryMs} ms`);
  assert.is(r.underruns, 1);
});

test('two stalls with clean readings between them: two dry spells', () => {
  const r = run({ bufferMs: 40, ms: 3000, stall: [1000, 1100] });
  const two = run({ bufferMs: 40, ms: 3000, stall: [1000, 1100] }, [1300, 1400]);
  assert.is(r.underruns, 1);
  assert.is(two.underruns, 2);
});

test('a DAC 200 ppm fast is read as it is for minutes: the bound never holds it back', () => {
  const dac = new DacReadings(RATE);
  dac.wrote(0);
  const fast = RATE * (1 + 200e-6);
  let raw = 0;
  for (let t = 40; t <= 600_000; t += 40) {
    raw = Math.floor(((t - 2) * fast) / 1000); // started 2 ms after the first write
    dac.reading(raw + 4800, 4800, t);
  }
  assert.is(dac.consumed, raw);
  assert.is(dac.underruns, 0);
});

test('a writer that stops for good: one underrun, not one per reading', () => {
  const r = run({ bufferMs: 40, ms: 3000, stall: [1000, 3001] });
  assert.is(r.underruns, 1);
});

test('the sink process saw the xrun state: counted once, even where the readings miss the gap', () => {
  const dac = new DacReadings(RATE);
  dac.wrote(0);
  dac.reading(4800, 2400, 50); // 50 ms played of 100 written
  dac.xrun();
  assert.is(dac.reading(9600, 2400, 100), true);
  assert.is(dac.underruns, 1);
  dac.reading(12000, 2400, 150);
  assert.is(dac.underruns, 1);
});

test('a DAC not yet playing (prebuffering) is not run on between readings', () => {
  const dac = new DacReadings(RATE);
  dac.wrote(0);
  dac.reading(9600, 9600, 40);
  dac.reading(9600, 9600, 80);
  assert.is(dac.playedBy(110, 9600), 0);
  // Playing: run on from the reading at the nominal rate, at most 60 ms.
  dac.reading(9600, 9600 - 40 * perMs, 120);
  assert.is(dac.playedBy(140, 20_000), 60 * perMs);
  assert.is(dac.playedBy(400, 20_000), 100 * perMs, 'a late reading: at most 60 ms of run-on');
});

test('a reading that found nothing queued is dry (rule 4): its count had stopped at what ALSA had accepted', () => {
  const dac = new DacReadings(RATE);
  dac.wrote(0);
  dac.reading(4800, 2400, 50); // playing: 2400 queued
  assert.is(dac.dry, false);
  dac.xrun(); // the xrun state: no reading, the position stays the last one, taken while playing
  assert.is(dac.dry, false);
  dac.reading(9600, 0, 200); // delay 0: everything accepted had played, the count stopped there
  assert.is(dac.consumed, 9600);
  assert.is(dac.dry, true);
  dac.reading(12000, 1200, 260); // written again: playing
  assert.is(dac.dry, false);
  // A fresh PulseAudio stream's under-reported delay (0) held to rule 1's bound is not a stopped count.
  const early = new DacReadings(RATE);
  early.wrote(0);
  early.reading(9600, 0, 54);
  assert.ok(early.consumed! < 9600);
  assert.is(early.dry, false);
});

test.run();
