import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FleetModel, deviceHealth, roleHealth, eventLevel } from '../../../device/monitor/model.ts';
import { T0, t, iso, info, state, telemetry, event, config } from './fixtures.ts';

test('folds status, info, role state, telemetry and events into one device', () => {
  const m = new FleetModel();
  m.apply({ topic: t.status('kitchen'), payload: 'online', at: T0, retained: true });
  m.apply({ topic: t.info('kitchen'), payload: info('kitchen', ['hub', 'waker']), at: T0, retained: true });
  m.apply({
    topic: t.state('kitchen', 'hub'),
    payload: state('hub', 'running', T0 - 1000, { detail: { mqtt: 'a:1', clients: 1, logins: 0, anonymous: true } }),
    at: T0,
    retained: true,
  });
  m.apply({ topic: t.telemetry('kitchen'), payload: telemetry(), at: T0 + 10 });
  const ch = m.apply({ topic: t.event('kitchen', 'waker'), payload: event('wake-sent', 'Waking theobromine'), at: T0 + 20 });
  const d = m.devices.get('kitchen')!;
  assert.is(d.status, 'online');
  assert.is(d.info?.runtime, '0.1.0');
  assert.is(d.roles.get('hub')?.state?.status, 'running');
  assert.is(d.telemetry?.value.cpuPct, 3.25);
  assert.is(d.events.length, 1);
  assert.is(d.events[0]!.role, 'waker');
  assert.equal(ch, [{ at: T0 + 20, device: 'kitchen', level: 'healthy', text: 'waker wake-sent: Waking theobromine' }]);
  assert.is(d.problems.length, 0);
  assert.is(m.problems.length, 0);
});

test('a retained online status takes its start from info.startedAt; a live change is exact', () => {
  const m = new FleetModel();
  m.apply({ topic: t.status('a'), payload: 'online', at: T0, retained: true });
  assert.is(m.devices.get('a')!.statusSince, undefined, 'no info yet: unknown');
  m.apply({ topic: t.info('a'), payload: info('a', []), at: T0, retained: true });
  assert.is(m.devices.get('a')!.statusSince, T0 - 192_000);
  assert.is(m.devices.get('a')!.statusExact, false);
  const ch = m.apply({ topic: t.status('a'), payload: 'offline', at: T0 + 5000 });
  assert.is(m.devices.get('a')!.statusSince, T0 + 5000);
  assert.is(m.devices.get('a')!.statusExact, true);
  assert.equal(ch, [{ at: T0 + 5000, device: 'a', level: 'failed', text: 'offline' }]);
});

test('a retained offline status has no start, and last seen comes from the device timestamps', () => {
  const m = new FleetModel();
  m.apply({ topic: t.status('b'), payload: 'offline', at: T0, retained: true });
  m.apply({ topic: t.state('b', 'hub'), payload: state('hub', 'running', T0 - 50_000), at: T0, retained: true });
  m.apply({ topic: t.config('b'), payload: config(3), at: T0, retained: true });
  const d = m.devices.get('b')!;
  assert.is(d.statusSince, undefined);
  assert.is(d.lastSeenAt, T0 - 50_000, 'newest of state.since and config.appliedAt');
});

test('bad payloads become problems on their device and never replace good data', () => {
  const m = new FleetModel();
  m.apply({ topic: t.telemetry('c'), payload: telemetry(), at: T0 });
  const bad = [
    { topic: t.telemetry('c'), payload: telemetry({ cpuPct: 'lots' }) },
    { topic: t.telemetry('c'), payload: 'not json' },
    { topic: t.status('c'), payload: 'sleeping' },
    { topic: t.info('c'), payload: '[]' },
    { topic: t.state('c', 'hub'), payload: '{"v":2,"role":"hub","status":"dancing","since":"x","restarts":0}' },
    { topic: t.event('c', 'hub'), payload: '{"v":2}' },
    { topic: t.reply('c'), payload: '{"ok":true}' },
    { topic: t.stream('c', 's1'), payload: '{"v":2,"stream":"s1"}' },
    { topic: t.telemetry('c'), payload: Buffer.alloc(70_000, 0x20) },
    { topic: t.telemetry('c'), payload: telemetry({ v: 99 }) },
  ];
  for (const b of bad) {
    const ch = m.apply({ ...b, at: T0 + 1 });
    assert.is(ch.length, 1, b.topic);
    assert.is(ch[0]!.level, 'failed');
    assert.match(ch[0]!.text, /^bad message on /);
  }
  const d = m.devices.get('c')!;
  assert.is(d.problems.length, bad.length);
  assert.is(d.telemetry?.value.cpuPct, 3.25, 'the good telemetry stays');
  assert.is(d.status, undefined);
  assert.is(d.roles.size, 0);
  assert.match(d.problems[0]!.message, /cpuPct/);
  assert.match(d.problems[1]!.message, /not JSON/);
  assert.match(d.problems[2]!.message, /"online" or "offline"/);
  assert.match(d.problems[8]!.message, /70000 bytes/);
  assert.match(d.problems[9]!.message, /protocol version 99/);
});

test('a role state whose detail does not match the role spec is kept and flagged', () => {
  const m = new FleetModel();
  const ch = m.apply({ topic: t.state('h', 'hub'), payload: state('hub', 'running', T0, { detail: { mqtt: 5 } }), at: T0 });
  const r = m.devices.get('h')!.roles.get('hub')!;
  assert.is(r.state?.status, 'running');
  assert.ok(r.detailProblem);
  assert.is(roleHealth(r), 'degraded');
  assert.ok(ch.some((c) => c.level === 'failed' && /detail/.test(c.text)));
});

test('topics that are not hearth topics are fleet problems', () => {
  const m = new FleetModel();
  const ch = m.apply({ topic: 'hearth/x/y/z/w/v', payload: '1', at: T0 });
  assert.is(m.problems.length, 1);
  assert.is(m.devices.size, 0);
  assert.is(ch[0]!.level, 'degraded');
});

test('empty retained payloads clear roles, streams and devices', () => {
  const m = new FleetModel();
  m.apply({ topic: t.state('d', 'hub'), payload: state('hub', 'running', T0), at: T0 });
  m.apply({
    topic: t.stream('d', 'main'),
    payload: JSON.stringify({
      v: 2,
      stream: 'main',
      device: 'd',
      name: 'Main',
      group: '239.255.0.1',
      port: 46000,
      encoding: 'L16',
      rate: 48000,
      channels: 2,
      payloadType: 127,
      enabled: true,
    }),
    at: T0,
  });
  assert.is(m.devices.get('d')!.streams.size, 1);
  m.apply({ topic: t.state('d', 'hub'), payload: '', at: T0 + 1 });
  m.apply({ topic: t.stream('d', 'main'), payload: Buffer.alloc(0), at: T0 + 1 });
  assert.is(m.devices.get('d')!.roles.size, 0);
  assert.is(m.devices.get('d')!.streams.size, 0);
  m.apply({ topic: t.status('d'), payload: '', at: T0 + 2 });
  assert.is(m.devices.has('d'), false);
});

test('events and problems are bounded', () => {
  const m = new FleetModel({ keepEvents: 3, keepProblems: 2 });
  for (let i = 0; i < 10; i++) {
    m.apply({ topic: t.event('e', 'r'), payload: event('tick', `n${i}`), at: T0 + i });
    m.apply({ topic: t.telemetry('e'), payload: 'x', at: T0 + i });
  }
  const d = m.devices.get('e')!;
  assert.equal(
    d.events.map((e) => e.event.message),
    ['n7', 'n8', 'n9'],
  );
  assert.is(d.problems.length, 2);
});

test('commands and config/set from other clients are counted, not treated as device output', () => {
  const m = new FleetModel();
  m.apply({ topic: t.cmd('f', 'waker', 'wake'), payload: '{"v":2,"id":"1","host":"x"}', at: T0 });
  m.apply({ topic: t.configSet('f'), payload: 'garbage', at: T0 });
  const d = m.devices.get('f')!;
  assert.is(d.requests, 2);
  assert.is(d.problems.length, 0);
  assert.is(d.lastSeenAt, undefined, 'a request is not a sign of the device being alive');
});

test('a different base topic', () => {
  const m = new FleetModel({ base: 'house' });
  m.apply({ topic: 'house/g/status', payload: 'online', at: T0 });
  m.apply({ topic: 'hearth/g/status', payload: 'online', at: T0 });
  assert.is(m.devices.size, 1);
  assert.is(m.problems.length, 1);
});

test('device health: offline and failed roles are failed; starting roles, stale telemetry and recent trouble degrade', () => {
  const m = new FleetModel();
  const at = T0;
  m.apply({ topic: t.status('k'), payload: 'online', at });
  m.apply({ topic: t.info('k'), payload: info('k', ['hub']), at });
  assert.equal(deviceHealth(m.devices.get('k')!, at), { health: 'degraded', reasons: ['hub has no state'] });
  m.apply({
    topic: t.state('k', 'hub'),
    payload: state('hub', 'running', at, { detail: { mqtt: 'a', clients: 0, logins: 0, anonymous: true } }),
    at,
  });
  assert.equal(deviceHealth(m.devices.get('k')!, at).health, 'healthy');
  m.apply({ topic: t.telemetry('k'), payload: telemetry(), at });
  assert.equal(deviceHealth(m.devices.get('k')!, at + 89_000).health, 'healthy', 'within 3 periods of 30 s');
  assert.equal(deviceHealth(m.devices.get('k')!, at + 91_000), { health: 'degraded', reasons: ['telemetry stale'] });
  m.apply({ topic: t.config('k'), payload: config(1, { telemetry: { intervalS: 60 } }), at });
  assert.equal(deviceHealth(m.devices.get('k')!, at + 91_000).health, 'healthy', 'the configured period counts');
  m.apply({ topic: t.event('k', 'hub'), payload: event('auth-failed', 'refused x'), at });
  assert.equal(deviceHealth(m.devices.get('k')!, at + 1000), { health: 'degraded', reasons: ['recent failures'] });
  m.apply({ topic: t.telemetry('k'), payload: telemetry(), at: at + 6 * 60_000 });
  assert.equal(deviceHealth(m.devices.get('k')!, at + 6 * 60_000).health, 'healthy', 'old trouble fades');
  m.apply({ topic: t.state('k', 'hub'), payload: state('hub', 'failed', at, { error: 'boom' }), at });
  assert.equal(deviceHealth(m.devices.get('k')!, at).health, 'failed');
  m.apply({ topic: t.status('k'), payload: 'offline', at });
  assert.equal(deviceHealth(m.devices.get('k')!, at), { health: 'failed', reasons: ['offline'] });
});

test('event levels', () => {
  assert.is(eventLevel('wake-failed'), 'failed');
  assert.is(eventLevel('sink-lost'), 'failed');
  assert.is(eventLevel('role-restarting'), 'degraded');
  assert.is(eventLevel('woke'), 'healthy');
  assert.is(eventLevel('press-done'), 'healthy');
});

test('replies are kept and a refused one is a failed change', () => {
  const m = new FleetModel();
  const ch = m.apply({
    topic: t.reply('r'),
    payload: JSON.stringify({
      v: 2,
      id: 'q1',
      ok: false,
      topic: t.cmd('r', 'waker', 'wake'),
      error: { code: 'not-found', message: 'no host "x"' },
    }),
    at: T0,
  });
  assert.equal(ch, [{ at: T0, device: 'r', level: 'failed', text: 'reply q1 to waker/wake: not-found — no host "x"' }]);
  const ok = m.apply({ topic: t.reply('r'), payload: JSON.stringify({ v: 2, id: 'q2', ok: true }), at: T0 });
  assert.equal(ok[0]!.level, 'healthy');
  assert.is(m.devices.get('r')!.replies.length, 2);
  assert.is(iso(T0), '2026-01-01T12:00:00.000Z');
});

test.run();
