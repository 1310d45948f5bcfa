// The tuner's pure state machine, driven with made-up times: busy, minimum gap, margins, PTT
// rules and truthful verdicts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { TunerMachine, Refusal, type MachineRules } from '../../../device/tuner/machine.ts';

const RULES: MachineRules = {
  bypassBelowMs: 500,
  fullAboveMs: 2500,
  targets: { bypass: 250, memory: 1500, full: 3500 },
  guardMs: 100,
  errorMs: 5,
  minGapMs: 1000,
  pttMaxMs: 2000,
};
const refusedWith = (fn: () => unknown, code: string, re: RegExp) => {
  try {
    fn();
  } catch (e) {
    assert.instance(e, Refusal);
    assert.is((e as Refusal).code, code);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable('not refused');
};

test('one operation at a time, and the minimum gap after each', () => {
  const m = new TunerMachine(RULES);
  m.begin('tune', 'command', 'memory', 0);
  refusedWith(() => m.begin('tune', 'button', 'full', 10), 'busy', /pressing \(tune memory from command\)/);
  m.pressed(1500, false, 1500);
  refusedWith(() => m.begin('press', 'command', 'bypass', 1600), 'busy', /tuning/);
  m.end(3000);
  refusedWith(() => m.begin('press', 'command', 'bypass', 3400), 'busy', /try again in 600 ms/);
  m.begin('press', 'command', 'bypass', 4000);
});

test('raw press lengths within the guard of an edge are refused; others name their mode', () => {
  const m = new TunerMachine(RULES);
  for (const ms of [20, 99, 401, 499, 500, 599, 2401, 2500, 2599]) refusedWith(() => m.rawPressMode(ms), 'invalid', /margins.guardMs/);
  assert.is(m.rawPressMode(100), 'bypass');
  assert.is(m.rawPressMode(400), 'bypass');
  assert.is(m.rawPressMode(600), 'memory');
  assert.is(m.rawPressMode(2400), 'memory');
  assert.is(m.rawPressMode(2600), 'full');
});

test('a measured press is trusted only where a press off by at most the adapter error could land', () => {
  const m = new TunerMachine(RULES);
  const judge = (mode: 'bypass' | 'memory' | 'full' | null, ms: number) => {
    m.begin('tune', mode ? 'command' : 'pass-through', mode, m.lastEnd + 10_000);
    const j = m.pressed(ms, false, 0);
    m.end(m.lastEnd + 10_000);
    return j;
  };
  assert.equal([judge('bypass', 250).trusted, judge('bypass', 405).trusted, judge('bypass', 406).trusted], [true, true, false]);
  assert.equal([judge('memory', 595).trusted, judge('memory', 594).trusted, judge('memory', 2405).trusted], [true, false, true]);
  assert.equal([judge('full', 2595).trusted, judge('full', 2590).trusted], [true, false]);
  const off = judge('bypass', 520);
  assert.equal([off.read, off.trusted], ['memory', false]);
  // Pass-through: the press's own window, with the same margin.
  assert.equal([judge(null, 1200).trusted, judge(null, 2480).trusted], [true, false]);
});

test('verdicts: success only when the press and KEY agree with the mode asked for', () => {
  const run = (mode: 'bypass' | 'memory' | 'full', ms: number, key: 'tuned' | 'failed' | 'no-response' | 'stuck') => {
    const m = new TunerMachine(RULES);
    m.begin('tune', 'command', mode, 0);
    m.pressed(ms, false, ms);
    return m.verdict(key);
  };
  assert.equal(run('bypass', 250, 'no-response'), { outcome: 'bypassed', mode: 'bypass', ok: true });
  assert.equal(run('bypass', 250, 'tuned'), { outcome: 'press-window', mode: 'memory', ok: false, code: 'failed', reason: 'press-window' });
  assert.equal(run('bypass', 520, 'tuned'), { outcome: 'press-window', mode: 'memory', ok: false, code: 'failed', reason: 'press-window' });
  assert.equal(run('memory', 1500, 'tuned'), { outcome: 'tuned', mode: 'memory', ok: true });
  assert.equal(run('memory', 2600, 'tuned'), { outcome: 'press-window', mode: 'full', ok: false, code: 'failed', reason: 'press-window' });
  assert.equal(run('memory', 1500, 'failed').code, 'failed');
  assert.equal(run('full', 3500, 'no-response').code, 'timeout');
  assert.equal(run('full', 3500, 'stuck').outcome, 'stuck');
});

test('never an ok reply for a press outside the asked window by the margin (any length, any KEY)', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('bypass' as const, 'memory' as const, 'full' as const),
      fc.double({ min: 20, max: 9000, noNaN: true }),
      fc.constantFrom('tuned' as const, 'failed' as const, 'no-response' as const, 'stuck' as const),
      (mode, ms, key) => {
        const m = new TunerMachine(RULES);
        m.begin('tune', 'command', mode, 0);
        m.pressed(ms, false, ms);
        const v = m.verdict(key);
        return !v.ok || (m.modeOf(ms) === mode && m.inside(mode, ms) >= RULES.guardMs - RULES.errorMs);
      },
    ),
  );
});

test('PTT: only while KEY asks during a trusted tune, never during the press, a bypass or an untrusted press', () => {
  const m = new TunerMachine(RULES);
  m.begin('tune', 'command', 'memory', 0);
  assert.is(m.key(true, 100), undefined, 'not while START is pressed');
  assert.is(m.pressed(1500, true, 1500).ptt, 'on', 'KEY already asserted at the end of the press');
  assert.is(m.pttDeadline(), 3500);
  assert.is(m.key(false, 2100), 'off');
  assert.is(m.ptt.ms, 600);
  m.end(2900);

  m.begin('tune', 'command', 'bypass', 5000);
  m.pressed(250, false, 5250);
  assert.is(m.key(true, 5300), undefined, 'a bypass never keys the radio, whatever the tuner does');
  m.end(7000);

  m.begin('tune', 'command', 'memory', 9000);
  m.pressed(2490, false, 11_490);
  assert.is(m.key(true, 11_500), undefined, 'an untrusted press never keys the radio');
  m.end(13_000);

  const n = new TunerMachine({ ...RULES, pttMaxMs: undefined });
  n.begin('tune', 'command', 'full', 0);
  n.pressed(3500, false, 3500);
  assert.is(n.key(true, 3600), undefined, 'no PTT wired');
});

test('PTT limit: off at the limit and locked for the rest of the operation', () => {
  const m = new TunerMachine(RULES);
  m.begin('tune', 'command', 'full', 0);
  m.pressed(3500, false, 3500);
  assert.is(m.key(true, 3540), 'on');
  assert.is(m.pttDeadline(), 5540);
  assert.is(m.pttLimit(5540), 'off');
  assert.is(m.key(false, 6000), undefined);
  assert.is(m.key(true, 6100), undefined, 'locked');
  assert.is(m.ptt.ms, 2000);
  m.end(7000);
  m.begin('tune', 'command', 'full', 9000);
  m.pressed(3500, false, 12_500);
  assert.is(m.key(true, 12_600), 'on', 'a new operation starts unlocked');
});

test.run();
