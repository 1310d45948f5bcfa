// Button debounce and press classes, in virtual time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { VirtualClock } from '../../../device/core/clock.ts';
import { ButtonWatch, classifyPress } from '../../../device/tuner/button.ts';

function rig(debounceMs = 20) {
  const clock = new VirtualClock(0);
  const downs: number[] = [];
  const ups: Array<{ ms: number; t: number }> = [];
  const b = new ButtonWatch(clock, debounceMs, { down: (t) => downs.push(t), up: (ms, t) => ups.push({ ms, t }) });
  const edge = (t: number, active: boolean) => {
    clock.advanceTo(t);
    b.edge(active, t);
  };
  return { clock, b, downs, ups, edge };
}

test('a clean press is measured edge to edge', () => {
  const r = rig();
  r.edge(100, true);
  r.edge(900, false);
  r.clock.advanceTo(1000);
  assert.equal(r.downs, [100]);
  assert.equal(r.ups, [{ ms: 800, t: 900 }]);
});

test('bounce on both edges is ignored and does not lengthen the press', () => {
  const r = rig(20);
  r.edge(100, true);
  r.edge(102, false);
  r.edge(104, true);
  r.edge(1104, false);
  r.edge(1106, true);
  r.edge(1108, false);
  r.clock.advanceTo(1200);
  assert.equal(r.downs, [104]);
  assert.equal(r.ups, [{ ms: 1004, t: 1108 }]);
  assert.ok(r.b.bounces >= 4);
});

test('a glitch shorter than the debounce time is not a press', () => {
  const r = rig(20);
  r.edge(100, true);
  r.edge(110, false);
  r.clock.advanceTo(500);
  assert.equal(r.downs, []);
  assert.equal(r.ups, []);
});

test('classes by length', () => {
  assert.is(classifyPress(200, 1000, 3000), 'short');
  assert.is(classifyPress(1000, 1000, 3000), 'medium');
  assert.is(classifyPress(2999, 1000, 3000), 'medium');
  assert.is(classifyPress(3000, 1000, 3000), 'long');
});

test('any bounce pattern shorter than debounce yields exactly one press of the settled length', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 6 }),
      fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 6 }),
      fc.integer({ min: 100, max: 5000 }),
      (downBounce, upBounce, hold) => {
        const r = rig(20);
        let t = 1000;
        let v = true;
        r.edge(t, true);
        for (const d of downBounce) {
          v = !v;
          r.edge((t += d), v);
        }
        if (!v) r.edge((t += 1), (v = true));
        const down = t;
        r.edge((t += hold), (v = false));
        for (const d of upBounce) {
          v = !v;
          r.edge((t += d), v);
        }
        if (v) r.edge((t += 1), (v = false));
        r.clock.advanceTo(t + 100);
        return r.ups.length === 1 && r.ups[0]!.ms === t - down && r.downs[0] === down;
      },
    ),
  );
});

test.run();
