// The layering rule (protocol ← core ← hal ← roles ← tools ← cli) and no import cycles, checked
// over every file of protocol/ and device/ (scripts/architecture.ts walks the imports with the
// TypeScript parser). KNOWN lists what is still to be untangled: the test fails on any other
// cycle or upward import, and on a KNOWN entry that has been fixed (so the list only shrinks).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { graph, cycles, upwardImports } from '../../../scripts/architecture.ts';

const KNOWN_CYCLES = [
  'device/hal/audio-in.alsa.ts ⇄ device/hal/audio-in.file.ts ⇄ device/hal/audio-in.tone.ts ⇄ device/hal/audio-in.ts',
  'device/cli/extra-commands.ts ⇄ device/monitor/cli.ts',
];
const KNOWN_UPWARD = [
  'device/hal/udp.sim.ts (hal) → device/audio/sim/prng.ts (roles)',
  'device/image/cli.ts (tools) → device/cli/broker-options.ts (cli)',
  'device/monitor/cli.ts (tools) → device/cli/broker-options.ts (cli)',
  'device/monitor/cli.ts (tools) → device/cli/extra-commands.ts (cli)',
];

const g = graph();

test('no import cycle beyond the known ones', () => {
  const found = cycles(g).map((c) => c.join(' ⇄ '));
  assert.equal(found.filter((c) => !KNOWN_CYCLES.includes(c)), [], 'new import cycles');
  assert.equal(KNOWN_CYCLES.filter((c) => !found.includes(c)), [], 'fixed: remove these from KNOWN_CYCLES');
});

test('no import runs up a layer beyond the known ones', () => {
  const found = upwardImports(g);
  assert.equal(found.filter((u) => !KNOWN_UPWARD.includes(u)), [], 'new upward imports');
  assert.equal(KNOWN_UPWARD.filter((u) => !found.includes(u)), [], 'fixed: remove these from KNOWN_UPWARD');
});

test('core names no role: no file of device/core imports a role, and none mentions one by name in code', () => {
  for (const [from, tos] of g) {
    if (!from.startsWith('device/core/')) continue;
    for (const to of tos) assert.not.match(to, /^device\/(audio|tuner|waker|hub)\//, `${from} imports ${to}`);
  }
});

test('the walker sees a cycle and an upward import when there is one', () => {
  const fake = new Map<string, string[]>([
    ['device/core/a.ts', ['device/hub/b.ts']], ['device/hub/b.ts', ['device/core/a.ts']], ['protocol/c.ts', []],
  ]);
  assert.equal(cycles(fake), [['device/core/a.ts', 'device/hub/b.ts']]);
  assert.equal(upwardImports(fake), ['device/core/a.ts (core) → device/hub/b.ts (roles)']);
});

test.run();
