// ReadingStamper on a scripted monotonic clock: the reading's instant is the midpoint of the clock
// reads around it, and a reading the process paused inside is refused (the speaker sink process's
// delay readings: audio-out.speaker-child.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BRACKET_FLOOR_MS, BRACKET_HISTORY, ReadingStamper } from '../../../device/hal/stamped-reading.ts';

/** A monotonic clock that a device read advances by `readMs` (what the call takes, pauses included). */
function scripted(): { mono: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { mono: () => t, advance: (ms) => (t += ms) };
}

test('a reading is stamped at the midpoint of the clock reads around it', () => {
  const c = scripted();
  const s = new ReadingStamper(c.mono);
  const r = s.read(() => {
    c.advance(0.03);
    return 4800;
  });
  assert.is(r.value, 4800);
  assert.ok(Math.abs(r.widthMs - 0.03) < 1e-9, `bracket ${r.widthMs}`);
  assert.ok(Math.abs(r.atMs! - 1000.015) < 1e-9, `stamped at ${r.atMs}`);
});

test("a reading the process paused inside (0.66 ms, as the rooms bench's restarted sink process did) is no reading; the next one is", () => {
  // Stamped after the read, that reading was 0.66 ms late: 1.2 s into a restarted sink's epoch it
  // moved the DAC clock's young fit 85 µs (device/audio/engine/dac-clock.ts).
  const c = scripted();
  const s = new ReadingStamper(c.mono);
  const normal = () => {
    c.advance(0.032);
    return 2000;
  };
  for (let i = 0; i < 10; i++) assert.ok(s.read(normal).atMs !== null, `reading ${i}`);
  const paused = s.read(() => {
    c.advance(0.66);
    return 2291;
  });
  assert.is(paused.atMs, null, 'refused');
  assert.is(paused.value, 2291);
  c.advance(1); // taken again a millisecond later
  const again = s.read(normal);
  assert.ok(again.atMs !== null && Math.abs(again.atMs - (c.mono() - 0.016)) < 1e-9);
});

test('a host whose reads are all slow (0.5 ms each) is refused its first reading only: the limit follows the median', () => {
  const c = scripted();
  const s = new ReadingStamper(c.mono);
  const slow = () => {
    c.advance(0.5);
    return 1;
  };
  assert.is(s.read(slow).atMs, null, `the first, over the ${BRACKET_FLOOR_MS} ms floor`);
  for (let i = 0; i < 2 * BRACKET_HISTORY; i++) assert.ok(s.read(slow).atMs !== null, `reading ${i + 2}`);
  // A pause of 3 ms there is still refused (4 × the 0.5 ms median = 2 ms).
  assert.is(
    s.read(() => {
      c.advance(3);
      return 1;
    }).atMs,
    null,
  );
});

test.run();
