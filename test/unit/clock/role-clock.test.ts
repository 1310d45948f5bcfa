// What audio roles ask of their clock: SRs only once house time is served; a player's
// "sufficient" flag and its clock-unsure / clock-sure events.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock, type ClockSync } from '../../../device/core/clock.ts';
import { ClockWatch, houseTimeServed } from '../../../device/clock/role-clock.ts';

function clockWith(s: Partial<ClockSync>) {
  const c = new VirtualClock(0) as VirtualClock & { sync(): ClockSync; cur: ClockSync };
  c.cur = { state: 'unsynced', reference: '10.0.0.1:123', queries: 0, faults: 0, jumps: 0, steps: 0, maxUncertaintyUs: 500, ...s };
  c.sync = () => c.cur;
  return c;
}

test('SRs are sent and used only while house time is served; a clock without sync() is trusted as before', () => {
  assert.ok(houseTimeServed(new VirtualClock(0)));
  const c = clockWith({});
  for (const [state, served] of [
    ['unsynced', false],
    ['locking', false],
    ['locked', true],
    ['stale', true],
  ] as const) {
    c.cur = { ...c.cur, state };
    assert.is(houseTimeServed(c), served, state);
  }
});

test('a player says when its clock is less sure than sync needs, and when it is sure again', () => {
  const c = clockWith({});
  const events: string[] = [];
  const w = new ClockWatch(c, (ok, s) => events.push(`${ok ? 'sure' : 'unsure'} ${s.uncertaintyUs}`));
  w.check();
  assert.equal(events, [], 'nothing before the first lock (arrival timing, not unsure)');
  assert.is(w.status()!.sufficient, false);
  c.cur = { ...c.cur, state: 'locked', uncertaintyUs: 40 };
  w.check();
  assert.equal(events, [], 'a first lock that is good enough is no news');
  assert.is(w.status()!.sufficient, true);
  c.cur = { ...c.cur, state: 'stale', uncertaintyUs: 800, lastReachedS: 120 };
  w.check();
  w.check();
  assert.equal(events, ['unsure 800']);
  c.cur = { ...c.cur, state: 'locked', uncertaintyUs: 30 };
  w.check();
  assert.equal(events, ['unsure 800', 'sure 30']);
  assert.is(new ClockWatch(new VirtualClock(0), () => {}).status(), undefined);
});

test.run();
