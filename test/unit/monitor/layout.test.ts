// The monitor's per-role layout and keys: a player's line leads with stream, sync error, buffer
// and drift inside 100 columns (it was ~800 characters with the sync error near column 365);
// details on demand (expanded); the selected device marked; keys as a pure reducer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderFleet, visibleLength, clockLine } from '../../../device/monitor/render.ts';
import { FleetModel } from '../../../device/monitor/model.ts';
import { initialView, onKey, parseKeys } from '../../../device/monitor/keys.ts';
import { clockPart, levelPart, roleSummary } from '../../../device/monitor/roles.ts';
import { T0, t, info, state, telemetry } from './fixtures.ts';

const PLAYER = {
  stream: { by: 'stream', id: 'living/music', name: 'Living room music', group: '239.255.77.1', port: 46000, origin: 'mqtt' },
  playing: true,
  sender: '10.0.0.5',
  ssrc: 1234,
  format: { encoding: 'L16', rate: 48000, channels: 2, payloadType: 127 },
  latencyMs: 150,
  trimMs: 0,
  bufferMs: 131.6,
  driftPpm: 38.24,
  senderDriftPpm: 0.01,
  timing: 'rtcp',
  syncErrorUs: -3.4,
  output: { status: 'playing', reason: null, audiblePct: 100, leadMs: 18.4, lateBlocks: 0, droppedBlocks: 0, silentMs: 0 },
  packets: { received: 9990, lost: 10, late: 10, duplicates: 0, concealed: 0, malformed: 0, wrongPt: 0, foreignSsrc: 0 },
  underruns: 0,
  resyncs: 0,
  volume: 0.4,
  muted: false,
  sink: { kind: 'sim', device: 'default', status: 'open', error: null, lostCount: 0 },
};

function house(): FleetModel {
  const m = new FleetModel();
  m.apply({ topic: t.status('kitchen'), payload: 'online', at: T0 - 60_000 });
  m.apply({ topic: t.info('kitchen'), payload: info('kitchen', ['player']), at: T0 });
  m.apply({ topic: t.state('kitchen', 'player'), payload: state('player', 'running', T0 - 60_000, { detail: PLAYER }), at: T0 });
  m.apply({ topic: t.telemetry('kitchen'), payload: telemetry({ roles: { player: { received: 9990, lost: 10 } } }), at: T0 });
  m.apply({ topic: t.status('shack'), payload: 'online', at: T0 - 60_000 });
  m.apply({ topic: t.info('shack'), payload: info('shack', ['tuner']), at: T0 });
  m.apply({
    topic: t.state('shack', 'tuner'),
    payload: state('tuner', 'running', T0 - 60_000, {
      detail: {
        status: 'idle',
        adapter: 'sim',
        operation: null,
        key: false,
        start: false,
        last: {
          mode: 'memory',
          requested: 'memory',
          source: 'command',
          outcome: 'tuned',
          requestedMs: 1500,
          pressMs: 1502,
          at: new Date(T0).toISOString(),
          message: 'done',
          key: { delayMs: 41, lowMs: 902, totalMs: 902, pulses: 0, segments: [[41, 902]] },
        },
        counts: { presses: 1, tunes: 1, failures: 0, buttonPresses: 0, faults: 0 },
      },
    }),
    at: T0,
  });
  return m;
}

test("a player's line leads with stream, sync error, buffer and drift, and fits 100 columns", () => {
  const out = renderFleet(house(), { now: T0, width: 100, colour: false });
  const line = out.split('\n').find((l) => l.startsWith('  ● player'))!;
  assert.is(line, '  ● player  ▶ Living room music  sync −3 µs  buffer 132/150 ms  drift +38.2 ppm  loss 0.10 %  vol 4…');
  assert.ok(line.indexOf('sync') < 40, 'the sync error within the first 40 columns');
  for (const l of out.split('\n')) assert.ok(visibleLength(l) <= 100);
});

test("the tuner's line: status, the last outcome with its KEY time, counts", () => {
  const out = renderFleet(house(), { now: T0, width: 140, colour: false });
  assert.ok(out.includes('  ● tuner   idle  last tuned memory, KEY 902 ms  1 tunes, 0 failed  running 1m00s'), out);
});

test("expanded: the full state and the role's figures under its line; the selected device marked", () => {
  const plain = renderFleet(house(), { now: T0, width: 100, colour: false });
  assert.not.ok(plain.includes('packets.received=9990'));
  const out = renderFleet(house(), { now: T0, width: 100, colour: false, selected: 'kitchen', expanded: new Set(['kitchen']), help: true });
  const lines = out.split('\n');
  assert.ok(
    lines.some((l) => l.startsWith('› ● ') && l.includes(' kitchen ') && l.includes('(expanded)')),
    out,
  );
  assert.ok(
    lines.some((l) => l.startsWith('  ● ') && l.includes('shack')),
    'the others get a gutter',
  );
  assert.ok(out.includes('packets.received=9990'), 'the whole detail');
  assert.ok(out.includes('received=9990 lost=10'), 'the telemetry figures');
  assert.ok(lines.at(-1)!.includes('q quit'));
  for (const l of lines) assert.ok(visibleLength(l) <= 100, l);
});

test('the house clock, when the state has it: state, offset from the OS clock, uncertainty', () => {
  const clock = {
    state: 'locked',
    reference: 'box:10123',
    offsetMs: 12.34,
    uncertaintyUs: 40.2,
    lastReachedS: 1,
    queries: 10,
    faults: 0,
    jumps: 0,
    steps: 0,
    sufficient: true,
  };
  assert.is(clockPart({ clock }), 'clock locked +12.3 ms ±40 µs');
  assert.is(clockPart({ clock: { ...clock, sufficient: false, uncertaintyUs: 900 } }), 'clock locked +12.3 ms ±900 µs (NOT SURE ENOUGH)');
  assert.is(clockPart({ clock: { ...clock, state: 'off' } }), undefined);
  assert.is(clockPart({}), undefined);
  // The telemetry line says why no house clock runs.
  assert.is(clockLine({ state: 'off', reason: 'clock.enabled is false' }), 'clock off (clock.enabled is false)');
  assert.is(clockLine(clock), 'clock locked +12.3 ms vs OS ±40.2 µs ref box:10123 1 s ago');
});

test('the level written to the DAC, when the state has it: RMS per channel and the peak; silence said so', () => {
  const level = { windowMs: 2000, frames: 96000, peakDbfs: [-9.2, -11], rmsDbfs: [-18.4, -20.6] };
  assert.is(levelPart({ ...PLAYER, level } as never), 'level −18/−21 dB (peak −9)');
  assert.is(levelPart({ ...PLAYER, level: { ...level, peakDbfs: [-120, -120], rmsDbfs: [-120, -120] } } as never), 'level silent');
  assert.is(levelPart(PLAYER as never), undefined);
  const wide = roleSummary('player', { ...PLAYER, level }, T0)!;
  assert.ok(wide.endsWith('vol 40 %  level −18/−21 dB (peak −9)'), wide);
});

test('keys: arrows select, Enter expands, ← collapses, a all, q quits', () => {
  assert.equal(parseKeys('\x1b[B\x1b[Bq\r \x1bOA'), ['down', 'down', 'q', 'enter', 'space', 'up']);
  const ids = ['box', 'kitchen', 'shack'];
  let v = initialView();
  v = onKey(v, 'down', ids);
  assert.is(v.selected, 'box');
  v = onKey(onKey(v, 'down', ids), 'down', ids);
  assert.is(v.selected, 'shack');
  v = onKey(v, 'down', ids);
  assert.is(v.selected, 'shack', 'stays on the last');
  v = onKey(v, 'up', ids);
  v = onKey(v, 'enter', ids);
  assert.equal([...v.expanded], ['kitchen']);
  v = onKey(v, 'left', ids);
  assert.equal([...v.expanded], []);
  v = onKey(v, 'a', ids);
  assert.is(v.expanded.size, 3);
  v = onKey(v, 'a', ids);
  assert.is(v.expanded.size, 0);
  assert.is(onKey(v, 'x', ids), v, 'other keys change nothing');
  assert.ok(onKey(v, 'q', ids).quit);
  assert.ok(onKey(v, 'ctrl-c', ids).quit);
});

test.run();
