// KEY classification from made-up edge sequences in virtual time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../../device/core/clock.ts';
import { KeyWatch, type KeyVerdict } from '../../../device/tuner/key-watch.ts';

const OPTS = { responseMs: 1000, maxMs: 5000, settleMs: 500, failCount: 3, failMaxMs: 200 };

function rig(opts = OPTS) {
  const clock = new VirtualClock(0);
  let level = false;
  const w = new KeyWatch(
    clock,
    opts,
    () => level,
    () => clock.now(),
  );
  let verdict: KeyVerdict | undefined;
  w.result.then((v) => {
    verdict = v;
  });
  const at = (ms: number, active: boolean) => {
    clock.advanceTo(ms);
    level = active;
    w.edge(active, ms);
  };
  return {
    clock,
    w,
    at,
    verdict: async () => {
      await Promise.resolve();
      await Promise.resolve();
      return verdict;
    },
    setLevel: (v: boolean) => {
      level = v;
    },
  };
}

test('assert then release, then quiet: tuned, with timings from the press end', async () => {
  const r = rig();
  r.clock.advanceTo(1500);
  r.w.pressEnded(1500);
  r.at(1550, true);
  r.at(2150, false);
  r.clock.advanceTo(2649);
  assert.is(await r.verdict(), undefined, 'not before settleMs');
  r.clock.advanceTo(2650);
  const v = (await r.verdict())!;
  assert.is(v.outcome, 'tuned');
  assert.is(v.key.delayMs, 50);
  assert.is(v.key.lowMs, 600);
  assert.is(v.key.pulses, 0);
  assert.equal(v.key.segments, [[50, 600]]);
});

test('three short pulses after the tune: failed; two: tuned', async () => {
  for (const [n, expect] of [
    [3, 'failed'],
    [2, 'tuned'],
  ] as const) {
    const r = rig();
    r.w.pressEnded(0);
    r.at(50, true);
    r.at(650, false);
    let t = 650;
    for (let i = 0; i < n; i++) {
      r.at((t += 100), true);
      r.at((t += 100), false);
    }
    r.clock.advanceTo(t + 500);
    const v = (await r.verdict())!;
    assert.is(v.outcome, expect);
    assert.is(v.key.pulses, n);
  }
});

test('no assertion within responseMs: no-response', async () => {
  const r = rig();
  r.w.pressEnded(0);
  r.clock.advanceTo(999);
  assert.is(await r.verdict(), undefined);
  r.clock.advanceTo(1000);
  const v = (await r.verdict())!;
  assert.is(v.outcome, 'no-response');
  assert.is(v.key.delayMs, null);
});

test('an edge still in flight at the response deadline is not a timeout', async () => {
  const r = rig();
  r.w.pressEnded(0);
  r.setLevel(true); // the level is asserted but the edge has not been delivered yet
  r.clock.advanceTo(1000);
  assert.is(await r.verdict(), undefined);
  r.at(1100, false);
  r.clock.advanceTo(1700);
  assert.is((await r.verdict())!.outcome, 'tuned');
});

test('KEY held past maxMs: stuck', async () => {
  const r = rig();
  r.w.pressEnded(0);
  r.at(10, true);
  r.clock.advanceTo(5010);
  assert.is((await r.verdict())!.outcome, 'stuck');
});

test('KEY asserted during the press counts from the press end (negative delay)', async () => {
  const r = rig();
  r.at(100, true);
  r.clock.advanceTo(300);
  r.w.pressEnded(300);
  r.at(900, false);
  r.clock.advanceTo(1400);
  const v = (await r.verdict())!;
  assert.is(v.outcome, 'tuned');
  assert.is(v.key.delayMs, -200);
});

test('abort resolves at once and clears every timer', async () => {
  const r = rig();
  r.w.pressEnded(0);
  r.at(10, true);
  r.w.abort();
  assert.is((await r.verdict())!.outcome, 'aborted');
  assert.is(r.clock.pending(), 0);
});

test.run();
