import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../../device/core/clock.ts';
import { Liveness, type LivenessChange } from '../../../device/waker/liveness.ts';

function setup(opts: Partial<{ intervalMs: number; timeoutMs: number; misses: number; wakeTimeoutMs: number }> = {}) {
  const clock = new VirtualClock();
  const probes: number[] = [];
  const changes: LivenessChange[] = [];
  let answer = false;
  const l: Liveness = new Liveness(
    clock,
    { intervalMs: 10_000, timeoutMs: 1_000, misses: 2, wakeTimeoutMs: 60_000, ...opts },
    () => {
      probes.push(clock.now());
      if (answer) clock.setTimeout(() => l.seen(), 5);
    },
    (c) => changes.push(c),
  );
  return {
    clock,
    l,
    probes,
    changes,
    setAnswer: (v: boolean) => {
      answer = v;
    },
  };
}

const states = (cs: LivenessChange[]) => cs.filter((c) => c.type === 'state').map((c) => (c as { to: string }).to);

test('starts unknown, probes at once and every interval (timer-driven)', () => {
  const { clock, l, probes } = setup();
  assert.is(l.state, 'unknown');
  l.start();
  assert.equal(probes, [0]);
  clock.advance(30_000);
  assert.equal(probes, [0, 10_000, 20_000, 30_000]);
  l.stop();
  assert.is(clock.pending(), 0, 'stop clears every timer');
});

test('an answered probe → awake, with "seen N s ago"', () => {
  const { clock, l, setAnswer, changes } = setup();
  setAnswer(true);
  l.start();
  clock.advance(5);
  assert.is(l.state, 'awake');
  assert.equal(states(changes), ['awake']);
  clock.advance(4_000);
  assert.is(l.seenAgoMs(), 4_000);
});

test('unknown → asleep after one unanswered probe', () => {
  const { clock, l } = setup();
  l.start();
  clock.advance(999);
  assert.is(l.state, 'unknown');
  clock.advance(1);
  assert.is(l.state, 'asleep');
  assert.is(l.seenAgoMs(), undefined);
});

test('awake → asleep only after `misses` consecutive unanswered probes', () => {
  const { clock, l, setAnswer, changes } = setup({ misses: 3 });
  setAnswer(true);
  l.start();
  clock.advance(10);
  setAnswer(false);
  clock.advance(10_000 + 1_000); // miss 1
  clock.advance(10_000); // miss 2
  assert.is(l.state, 'awake');
  clock.advance(10_000); // miss 3
  assert.is(l.state, 'asleep');
  assert.equal(states(changes), ['awake', 'asleep']);
});

test('one answer between misses resets the count', () => {
  const { clock, l, setAnswer } = setup({ misses: 2 });
  setAnswer(true);
  l.start();
  clock.advance(10);
  setAnswer(false);
  clock.advance(11_000); // miss at t=11 000
  l.seen(); // ARP from the host itself
  clock.advance(10_000); // miss again: only 1 in a row
  assert.is(l.state, 'awake');
});

test('wake → waking, probed every second, woke with the time to wake', () => {
  const { clock, l, probes, setAnswer, changes } = setup();
  l.start();
  clock.advance(1_000);
  assert.is(l.state, 'asleep');
  clock.advance(500);
  const wakeAt = clock.now();
  l.wakeSent();
  assert.is(l.state, 'waking');
  const before = probes.length;
  clock.advance(3_000);
  assert.is(probes.length - before, 3, 'probes every second while waking');
  setAnswer(true);
  clock.advance(1_000);
  assert.is(l.state, 'waking', 'the answer takes 5 ms');
  clock.advance(5);
  assert.is(l.state, 'awake');
  const woke = changes.find((c) => c.type === 'woke') as { wakeMs: number };
  assert.is(woke.wakeMs, clock.now() - wakeAt);
  assert.is(woke.wakeMs, 4_005);
  assert.is(l.lastWakeAt, wakeAt);
});

test('a wake that brings nothing within the timeout → wake-failed → asleep', () => {
  const { clock, l, changes } = setup({ wakeTimeoutMs: 20_000 });
  l.start();
  clock.advance(1_000);
  l.wakeSent();
  clock.advance(19_999);
  assert.is(l.state, 'waking');
  clock.advance(1);
  assert.is(l.state, 'asleep');
  assert.equal(
    changes.filter((c) => c.type === 'wake-failed'),
    [{ type: 'wake-failed', timeoutMs: 20_000 }],
  );
  assert.equal(states(changes), ['asleep', 'waking', 'asleep']);
});

test('a wake of an awake host changes nothing but the last-wake time', () => {
  const { clock, l, setAnswer, changes } = setup();
  setAnswer(true);
  l.start();
  clock.advance(10);
  l.wakeSent();
  assert.is(l.state, 'awake');
  assert.is(l.lastWakeAt, 10);
  assert.equal(states(changes), ['awake']);
});

test('demand while awake but stale → urgent probe; unanswered → asleep at once', () => {
  const { clock, l, probes, setAnswer } = setup({ misses: 3 });
  setAnswer(true);
  l.start();
  clock.advance(10);
  setAnswer(false);
  clock.advance(500);
  l.demandWhileAwake();
  assert.is(probes.length, 1, 'seen recently: no urgent probe');
  clock.advance(2_000);
  l.demandWhileAwake();
  assert.is(probes.length, 2, 'stale: probes now');
  l.demandWhileAwake();
  assert.is(probes.length, 2, 'one urgent probe at a time');
  clock.advance(1_000);
  assert.is(l.state, 'asleep');
});

test('interval shorter than the timeout: misses are still judged', () => {
  const { clock, l } = setup({ intervalMs: 200, timeoutMs: 1_000 });
  l.start();
  clock.advance(1_000);
  assert.is(l.state, 'asleep');
});

test.run();
