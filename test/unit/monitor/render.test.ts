import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderFleet, renderChange, fit, visibleLength, formatDuration, summarizeDetail } from '../../../device/monitor/render.ts';
import { FleetModel } from '../../../device/monitor/model.ts';
import { scene } from './scene.ts';
import { T0, t, info } from './fixtures.ts';

const RED = '\x1b[31m',
  GREEN = '\x1b[32m',
  YELLOW = '\x1b[33m';
const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

test('snapshot without colour at a fixed time', () => {
  const out = renderFleet(scene(), { now: T0, width: 110, colour: false, connection: 'mqtt://127.0.0.1:1883 connected' });
  assert.equal(out.split('\n'), [
    'hearth monitor  mqtt://127.0.0.1:1883 connected  12:00:00Z',
    '4 devices  1 healthy  1 degraded  2 failed',
    '',
    '✖ attic  offline, last seen 3m12s ago  Raspberry Pi 4 Model B Rev 1.4 · hearth 0.1.0 · protocol 2 · 192.168.1…',
    '  no telemetry',
    '  ● waker   theobromine asleep  running 1h00m (last known)',
    '',
    '✖ den  online 3m12s  Raspberry Pi 4 Model B Rev 1.4 · hearth 0.1.0 · protocol 2 · 192.168.1.20',
    '  waker failed',
    '  cpu 1.0%  rss 41.0 MB  heap 12.1 MB  load 0.12  up 3m10s  telemetry 2s ago',
    '  ✖ waker   failed 12s, restarts 3, next try in 4s: cap: permission denied',
    '  events   12s ago  waker role-failed  waker failed: cap: permission denied',
    '           30s ago  waker demand  ARP for theobromine from 192.168.1.58',
    '  errors   0s ago   state/player: /restarts is required',
    '',
    '● hub Hall box  online 3m12s  Raspberry Pi 4 Model B Rev 1.4 · hearth 0.1.0 · protocol 2 · 192.168.1.20',
    '  cpu 3.3%  rss 41.0 MB  heap 12.1 MB  load 0.12  48.3°C  up 3m10s  telemetry 4s ago',
    '  ● hub     running 3m10s  mqtt=0.0.0.0:1883 ws=0.0.0.0:8080 clients=3 logins=2 anonymous=false',
    '',
    '▲ study  online 1m10s  no info yet',
    '  refused requests',
    '  no telemetry yet',
    '  errors   5s ago   request c1 (cmd/waker/wake) refused: not-found — no host "x"',
  ]);
  assert.not.match(out, /\x1b/, 'no escape codes when colour is off');
});

test('colour: healthy green, degraded yellow, failed red', () => {
  const lines = renderFleet(scene(), { now: T0, width: 200, colour: true }).split('\n');
  const line = (start: string) => lines.find((l) => strip(l).startsWith(start))!;
  assert.ok(line('✖ attic').startsWith(RED + '✖'), 'offline device: red');
  assert.ok(line('✖ den').startsWith(RED + '✖'), 'device with a failed role: red');
  assert.ok(line('✖ den').includes(GREEN + 'online 3m12s'), 'its status word is still green: it is online');
  assert.ok(line('● hub Hall box').startsWith(GREEN + '●'), 'healthy device: green');
  assert.ok(line('▲ study').startsWith(YELLOW + '▲'), 'device that refused a request: yellow');
  assert.ok(line('  ✖ waker').includes(RED + '✖ waker'), 'failed role: red');
  assert.ok(line('  ● hub').includes(GREEN + '● hub'), 'running role: green');
  assert.ok(line('  events').includes(RED + 'role-failed'), 'a failure event: red');
  assert.ok(line('  errors   0s ago').includes(RED + 'state/player'), 'bad message: red');
  for (const l of lines) assert.is(visibleLength(l), strip(l).length);
});

test('a starting role is yellow and stale telemetry is flagged', () => {
  const m = new FleetModel();
  m.apply({ topic: t.status('x'), payload: 'online', at: T0 });
  m.apply({ topic: t.info('x'), payload: info('x', ['hub']), at: T0 });
  m.apply({
    topic: t.state('x', 'hub'),
    payload: JSON.stringify({ v: 2, role: 'hub', status: 'starting', since: new Date(T0).toISOString(), restarts: 0 }),
    at: T0,
  });
  m.apply({
    topic: t.telemetry('x'),
    payload: JSON.stringify({ v: 2, ts: 'x', uptimeS: 1, cpuPct: 1, rssMb: 1, heapMb: 1, load1: 0, roles: { hub: { clients: 2 } } }),
    at: T0,
  });
  const out = renderFleet(m, { now: T0 + 120_000, width: 120, colour: true });
  assert.ok(out.includes(YELLOW + '▲ hub'), out);
  assert.ok(out.includes(YELLOW + 'starting 2m00s'));
  assert.ok(out.includes(YELLOW + 'telemetry 2m00s ago (stale)'));
  assert.ok(strip(out).includes('clients=2'), 'per-role telemetry figures on the role line');
});

test('filters: one device, one role', () => {
  const byDevice = strip(renderFleet(scene(), { now: T0, width: 120, colour: false, device: 'den' }));
  assert.ok(byDevice.includes('✖ den'));
  assert.not.ok(byDevice.includes('hub Hall box'));
  assert.ok(byDevice.includes('1 device '), byDevice);
  const byRole = strip(renderFleet(scene(), { now: T0, width: 120, colour: false, role: 'waker' }));
  assert.ok(byRole.includes('✖ den') && byRole.includes('✖ attic'));
  assert.not.ok(byRole.includes('Hall box'), 'devices without the role are hidden');
  assert.not.ok(byRole.includes('cpu '), 'telemetry is left out when one role is asked for');
  const none = strip(renderFleet(scene(), { now: T0, width: 120, colour: false, device: 'nope' }));
  assert.ok(none.includes('no device "nope" seen yet'));
  const empty = strip(renderFleet(new FleetModel(), { now: T0, width: 120, colour: false }));
  assert.ok(empty.includes('waiting for devices on hearth/# …'));
});

test('every line fits the width, colour or not', () => {
  for (const width of [20, 40, 60, 80]) {
    for (const colour of [false, true]) {
      for (const l of renderFleet(scene(), { now: T0, width, colour }).split('\n'))
        assert.ok(visibleLength(l) <= width, `${width}: ${strip(l)}`);
    }
  }
});

test('fit cuts visible characters, keeps escape codes and resets colour', () => {
  assert.is(fit('abcdef', 4), 'abc…');
  assert.is(fit('abc', 4), 'abc');
  const cut = fit(`${RED}abcdef\x1b[0m`, 4);
  assert.is(cut, `${RED}abc…\x1b[0m`);
  assert.is(visibleLength(cut), 4);
});

test('durations', () => {
  assert.is(formatDuration(0), '0s');
  assert.is(formatDuration(59_999), '59s');
  assert.is(formatDuration(192_000), '3m12s');
  assert.is(formatDuration(2 * 3_600_000 + 5 * 60_000), '2h05m');
  assert.is(formatDuration(3 * 86_400_000 + 4 * 3_600_000), '3d04h');
  assert.is(formatDuration(-5), '0s');
});

test('role detail summaries', () => {
  assert.is(summarizeDetail(undefined), '');
  assert.is(summarizeDetail('idle'), 'idle');
  assert.is(
    summarizeDetail({ state: 'tuning', last: { mode: 'full', pressMs: 3001.4 }, ok: true }),
    'state=tuning last.mode=full last.pressMs=3001 ok=true',
  );
  assert.is(
    summarizeDetail({
      hosts: [
        { name: 'a', state: 'awake' },
        { name: 'b', state: 'asleep' },
      ],
      empty: [],
    }),
    'hosts: a awake, b asleep',
  );
  assert.is(summarizeDetail({ xs: [1, 2, 3] }), 'xs: 3');
});

test('changes as appended lines', () => {
  const line = renderChange({ at: T0, device: 'den', level: 'failed', text: 'waker failed: boom' }, { colour: true, width: 80 });
  assert.is(strip(line), '12:00:00Z den waker failed: boom');
  assert.ok(line.includes(RED + 'waker failed: boom'));
  const plain = renderChange({ at: T0, level: 'healthy', text: 'x' }, { colour: false, width: 80, formatTime: () => 'T' });
  assert.is(plain, 'T x');
});

test.run();
