// Press windows, targets and the config checks a schema cannot express.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { TunerMachine } from '../../../device/tuner/machine.ts';
import { checkTunerConfig } from '../../../device/tuner/role.ts';
import { resolveTunerSettings as resolveSettings, tunerConfigProblems as problems } from '../../../protocol/roles/tuner-rules.ts';

const m = new TunerMachine({
  bypassBelowMs: 500,
  fullAboveMs: 2500,
  targets: { bypass: 250, memory: 1500, full: 3500 },
  guardMs: 100,
  errorMs: 5,
  minGapMs: 1000,
});
const t = {
  modeOf: (ms: number) => m.modeOf(ms),
  targetMs: (x: 'bypass' | 'memory' | 'full') => m.targetMs(x),
  margin: (x: 'bypass' | 'memory' | 'full', ms: number) => m.inside(x, ms),
  inWindow: (x: 'bypass' | 'memory' | 'full', ms: number) => m.modeOf(ms) === x,
};
const tunerConfigProblems = (c: Parameters<typeof problems>[0]) =>
  problems(c).map((p) => `${p.path.replace('/roles/tuner', '')}: ${p.message}`);

test('modes by press length at the AT-7000 thresholds', () => {
  assert.is(t.modeOf(20), 'bypass');
  assert.is(t.modeOf(499.9), 'bypass');
  assert.is(t.modeOf(500), 'memory');
  assert.is(t.modeOf(2500), 'memory');
  assert.is(t.modeOf(2500.1), 'full');
  assert.is(t.modeOf(9000), 'full');
});

test('default targets sit in the middle of their windows with wide margins', () => {
  for (const m of ['bypass', 'memory', 'full'] as const) {
    assert.ok(t.inWindow(m, t.targetMs(m)), m);
    assert.ok(t.margin(m, t.targetMs(m)) >= 250, `${m} margin ${t.margin(m, t.targetMs(m))}`);
  }
  assert.is(t.margin('memory', 1500), 1000);
  assert.ok(t.margin('memory', 2600) < 0);
});

test('every length falls in exactly one window', () => {
  fc.assert(
    fc.property(fc.double({ min: 0, max: 20_000, noNaN: true }), (ms) => {
      const hits = (['bypass', 'memory', 'full'] as const).filter((m) => t.inWindow(m, ms));
      return hits.length === 1 && hits[0] === t.modeOf(ms);
    }),
  );
});

const base = { start: { line: 17 }, key: { line: 27 } };

test('defaults fill in', () => {
  const s = resolveSettings(base);
  assert.is(s.adapter, 'auto');
  assert.equal(s.presses, { bypass: 250, memory: 1500, full: 3500 });
  assert.is(s.key.activeLow, true);
  assert.is(s.key.bias, 'pull-up');
  assert.is(s.start.activeLow, false);
  assert.is(s.minGapMs, 1000);
});

test('presses outside their windows, shared lines and an empty mapping are refused with paths', () => {
  assert.equal(tunerConfigProblems(base), []);
  const p = tunerConfigProblems({
    ...base,
    key: { line: 17 },
    presses: { bypassMs: 600, memoryMs: 2600, fullMs: 2400 },
    button: { line: 24, mode: 'mapped' },
  });
  assert.ok(
    p.some((x) => x.startsWith('/presses/bypassMs')),
    p.join('\n'),
  );
  assert.ok(p.some((x) => x.startsWith('/presses/memoryMs')));
  assert.ok(p.some((x) => x.startsWith('/presses/fullMs')));
  assert.ok(p.some((x) => x.startsWith('/key/line: GPIO 17 is already used by /start/line')));
  assert.ok(p.some((x) => x.startsWith('/button: mode "mapped" needs')));
  assert.throws(
    () => checkTunerConfig({ ...base, windows: { bypassBelowMs: 3000, fullAboveMs: 2000 } }),
    /bypassBelowMs \(3000\) must be below/,
  );
});

test.run();
