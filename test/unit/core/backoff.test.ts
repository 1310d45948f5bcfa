// Backoff: capped exponential growth with jitter, deterministic when the random source is injected.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Backoff } from '../../../device/core/backoff.ts';

test('without jitter the delay doubles from min and stops at max', () => {
  const b = new Backoff({ minMs: 100, maxMs: 1000, jitter: 0 });
  const seen = Array.from({ length: 7 }, () => b.next());
  assert.equal(seen, [100, 200, 400, 800, 1000, 1000, 1000]);
  assert.is(b.attempts, 7);
});

test('random 0.5 is the centre of the jitter band, 0 and 1 its edges', () => {
  const at = (r: number) =>
    Array.from(
      { length: 4 },
      (
        (b) => () =>
          b.next()
      )(new Backoff({ minMs: 1000, maxMs: 8000, jitter: 0.25, random: () => r })),
    );
  assert.equal(at(0.5), [1000, 2000, 4000, 8000]);
  assert.equal(at(0), [750, 1500, 3000, 6000]);
  assert.equal(at(1), [1250, 2500, 5000, 10000]);
});

test('default jitter is ±20 %', () => {
  assert.is(new Backoff({ minMs: 1000, maxMs: 1000, random: () => 0 }).next(), 800);
  assert.is(new Backoff({ minMs: 1000, maxMs: 1000, random: () => 1 }).next(), 1200);
});

test('a scripted random sequence gives exactly the expected delays', () => {
  const rs = [0.1, 0.9, 0.5, 0.0, 0.75];
  let i = 0;
  const b = new Backoff({ minMs: 50, maxMs: 500, jitter: 0.2, random: () => rs[i++]! });
  // raw 50,100,200,400,500 × (0.8 + 0.4·r)
  assert.equal(
    Array.from({ length: 5 }, () => b.next()),
    [42, 116, 200, 320, 550],
  );
});

test('reset starts again from min', () => {
  const b = new Backoff({ minMs: 10, maxMs: 1000, jitter: 0 });
  b.next();
  b.next();
  b.next();
  b.reset();
  assert.is(b.attempts, 0);
  assert.is(b.next(), 10);
});

test('huge attempt counts neither overflow nor exceed the jittered cap', () => {
  const b = new Backoff({ minMs: 500, maxMs: 30_000, jitter: 0.2, random: () => 0.999 });
  let last = 0;
  for (let i = 0; i < 5000; i++) last = b.next();
  assert.ok(Number.isFinite(last));
  assert.ok(last <= 36_000 && last >= 24_000, `delay ${last}`);
});

test('property: every delay lies in [raw·(1−j), raw·(1+j)] with raw = min(max, min·2^n)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 10_000 }),
      fc.integer({ min: 1, max: 100_000 }),
      fc.double({ min: 0, max: 0.9, noNaN: true }),
      fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 40 }),
      (minMs, maxMs, jitter, rs) => {
        let i = 0;
        const b = new Backoff({ minMs, maxMs, jitter, random: () => rs[i++]! });
        for (let n = 0; n < rs.length; n++) {
          const raw = Math.min(maxMs, minMs * 2 ** n);
          const d = b.next();
          if (d < Math.floor(raw * (1 - jitter)) || d > Math.ceil(raw * (1 + jitter))) return false;
        }
        return true;
      },
    ),
  );
});

test.run();
