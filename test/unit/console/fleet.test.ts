// The web console's logic (device/console/static/fleet.js), run in Node, and checked against
// protocol/ so the browser side cannot drift from the contract.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fleetJs from '../../../device/console/static/fleet.js';
import {
  topics, check, ConfigSet, ROLE_SPECS, DeviceCommands, PROTOCOL_VERSION, RequestFields, Obj, roleSpec,
} from '../../../protocol/index.ts';
import { FleetModel, deviceHealth as monitorHealth } from '../../../device/monitor/model.ts';
import { sceneMessages } from '../monitor/scene.ts';
import { T0 } from '../monitor/fixtures.ts';

const {
  topicsFor, createFleet, applyMessage, buildCommand, buildConfigPatch, bodyTemplate, commandRoles, deviceHealth,
  statusText, summarize, defaultBrokerUrl, replyText, KNOWN_ACTIONS,
} = fleetJs;

test('protocol version and topic layout are the protocol\'s', () => {
  assert.is(fleetJs.PROTOCOL_VERSION, PROTOCOL_VERSION);
  for (const base of ['hearth', 'house/upstairs']) {
    const a = topicsFor(base), b = topics(base);
    assert.is(a.all(), b.allDevicesFilter());
    const built = [
      [a.status('d1'), b.status('d1')], [a.info('d1'), b.info('d1')], [a.config('d1'), b.config('d1')],
      [a.configSet('d1'), b.configSet('d1')], [a.cmd('d1', 'waker', 'wake'), b.cmd('d1', 'waker', 'wake')],
      [a.reply('d1'), b.reply('d1')], [a.state('d1', 'hub'), b.state('d1', 'hub')], [a.event('d1', 'hub'), b.event('d1', 'hub')],
      [a.telemetry('d1'), b.telemetry('d1')], [a.stream('d1', 's'), b.stream('d1', 's')],
    ];
    for (const [x, y] of built) {
      assert.is(x, y);
      assert.equal(a.parse(x!), b.parse(y!), x);
    }
    for (const odd of [`${base}/x`, `${base}/x/y/z/w/v`, `${base}/streams/a`, 'other/x/status', `${base}/x/config/get`]) assert.equal(a.parse(odd), b.parse(odd), odd);
  }
  assert.throws(() => topicsFor('hearth').cmd('d1', 'waker', 'wa/ke'), /action "wa\/ke" is not valid/);
  assert.throws(() => topicsFor('hearth').status('+'), /device id/);
  assert.throws(() => topicsFor('bad base!'), /base topic/);
});

test('known actions and their argument names are the role specs\'', () => {
  const expected: Record<string, Record<string, string[]>> = {
    device: Object.fromEntries(Object.entries(DeviceCommands).map(([k, c]) => [k, Object.keys(c.args.properties)])),
  };
  for (const s of ROLE_SPECS) expected[s.name] = Object.fromEntries(Object.entries(s.commands).map(([k, c]) => [k, Object.keys(c.args.properties)]));
  assert.equal(KNOWN_ACTIONS, expected);
});

test('folds messages; bad ones become problems; a reply is handed back', () => {
  const f = createFleet();
  const t = f.topics;
  applyMessage(f, t.status('a'), 'online', 1000, false);
  applyMessage(f, t.info('a'), JSON.stringify({ device: 'a', roles: ['waker'], runtime: '0.1.0', startedAt: new Date(0).toISOString() }), 1000);
  applyMessage(f, t.state('a', 'waker'), JSON.stringify({ status: 'running', since: new Date(500).toISOString(), detail: { hosts: [{ name: 'h', state: 'awake' }] } }), 1000);
  applyMessage(f, t.telemetry('a'), JSON.stringify({ cpuPct: 2, rssMb: 40, uptimeS: 10 }), 1000);
  applyMessage(f, t.telemetry('a'), 'nope', 1100);
  applyMessage(f, t.event('a', 'waker'), '{"type":1}', 1200);
  applyMessage(f, t.status('a'), 'maybe', 1300);
  const r = applyMessage(f, t.reply('a'), JSON.stringify({ v: 2, id: 'q', ok: true, result: { x: 1 } }), 1400);
  assert.equal(r, { v: 2, id: 'q', ok: true, result: { x: 1 } });
  assert.is(applyMessage(f, t.cmd('a', 'waker', 'wake'), '{}', 1500), undefined);
  const d = f.devices.get('a')!;
  assert.is(d.status, 'online');
  assert.is(d.statusSince, 1000);
  assert.is(d.telemetry!.value.cpuPct, 2, 'the bad telemetry did not replace the good one');
  assert.equal(d.problems.map((p) => p.topic), ['telemetry', 'event/waker', 'status']);
  assert.is(statusText(d, 61_000), 'online 1m00s');
  assert.equal(commandRoles(d), ['device', 'waker']);
  applyMessage(f, t.state('a', 'waker'), '', 2000);
  assert.is(d.roles.size, 0);
  applyMessage(f, t.status('a'), '', 2000);
  assert.is(f.devices.size, 0);
});

test('health agrees with the terminal monitor on the same messages', () => {
  const f = createFleet();
  const m = new FleetModel();
  for (const msg of sceneMessages()) { applyMessage(f, msg.topic, msg.payload, msg.at, msg.retained); m.apply(msg); }
  assert.equal([...f.devices.keys()].sort(), [...m.devices.keys()].sort());
  for (const [id, d] of f.devices) assert.is(deviceHealth(d, T0), monitorHealth(m.devices.get(id)!, T0).health, id);
  assert.is(deviceHealth(f.devices.get('attic')!, T0), 'failed');
});

test('commands: a complete request the device accepts, or a readable error', () => {
  const t = topicsFor('hearth');
  const req = buildCommand(t, 'den', 'waker', 'wake', '{ "host": "theobromine" }', 'r1');
  assert.is(req.topic, 'hearth/den/cmd/waker/wake');
  const body = JSON.parse(req.payload);
  assert.equal(body, { v: 2, id: 'r1', host: 'theobromine' });
  const wake = roleSpec('waker')!.commands.wake!;
  assert.ok(check(Obj({ ...RequestFields, ...wake.args.properties }), body).ok, 'valid against the waker spec with the envelope');
  assert.equal(JSON.parse(buildCommand(t, 'den', 'device', 'ping', '', 'z').payload), { v: 2, id: 'z' }, 'an empty body is no arguments');
  assert.throws(() => buildCommand(t, 'den', 'waker', 'wake', '{ host: x }'), /not valid JSON/);
  assert.throws(() => buildCommand(t, 'den', 'waker', 'wake', '[1]'), /must be a JSON object/);
  assert.throws(() => buildCommand(t, 'den', 'waker', 'wake', '{"id":"mine"}'), /leave out "v" and "id"/);
  assert.throws(() => buildCommand(t, 'den', 'waker', 'wake up', '{}'), /action "wake up" is not valid/);
  const a = buildCommand(t, 'den', 'device', 'ping', '{}'), b = buildCommand(t, 'den', 'device', 'ping', '{}');
  assert.is.not(a.id, b.id, 'request ids differ');
});

test('config patches: valid config/set payloads', () => {
  const t = topicsFor('hearth');
  const req = buildConfigPatch(t, 'den', '{ "telemetry": { "intervalS": 10 }, "name": null }', 'p1', 4);
  assert.is(req.topic, 'hearth/den/config/set');
  const body = JSON.parse(req.payload);
  assert.equal(body, { v: 2, id: 'p1', patch: { telemetry: { intervalS: 10 }, name: null }, ifRevision: 4 });
  assert.ok(check(ConfigSet, body).ok);
  assert.not.ok('ifRevision' in JSON.parse(buildConfigPatch(t, 'den', '{"name":"x"}', 'p2').payload));
  assert.throws(() => buildConfigPatch(t, 'den', '{}'), /empty/);
  assert.throws(() => buildConfigPatch(t, 'den', '"x"'), /must be a JSON object/);
});

test('small texts', () => {
  assert.is(bodyTemplate('waker', 'wake'), '{ "host": "" }');
  assert.is(bodyTemplate('waker', 'status'), '{}');
  assert.is(bodyTemplate('nope', 'x'), '{}');
  assert.is(summarize({ state: 'idle', level: 0.125, hosts: [{ name: 'a', state: 'awake' }], xs: [1, 2] }), 'state=idle level=0.13 hosts: a awake xs: 2');
  assert.is(summarize(undefined), '');
  assert.is(defaultBrokerUrl({ protocol: 'http:', host: 'hub.local:8080' }), 'ws://hub.local:8080/mqtt');
  assert.is(defaultBrokerUrl({ protocol: 'https:', host: 'hub.example' }), 'wss://hub.example/mqtt');
  assert.is(replyText({ id: 'x', ok: true }), 'ok');
  assert.is(replyText({ id: 'x', ok: true, result: { a: 1 } }), 'ok: {"a":1}');
  assert.is(replyText({ id: 'x', ok: false, error: { code: 'invalid', message: 'args are invalid', details: [{ path: '/host', message: 'is required' }] } }), 'invalid: args are invalid (/host is required)');
  assert.is(replyText({ id: 'x', ok: false, error: { code: 'invalid', message: 'wake is invalid: /host is required', details: [{ path: '/host', message: 'is required' }] } }), 'invalid: wake is invalid: /host is required', 'details not repeated');
});

test.run();
