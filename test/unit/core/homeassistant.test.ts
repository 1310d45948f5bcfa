import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildHaDiscovery, literalValues } from '../../../device/core/homeassistant.ts';
import { Type, Obj, defineRole, check, roleSpec, ROLE_SPECS, type Info } from '../../../protocol/index.ts';

function info(roles: string[], extra: Partial<Info> = {}): Info {
  return {
    v: 2,
    device: 'shack',
    runtime: '0.1.0',
    protocol: 2,
    accepts: [1, 2],
    roles,
    model: 'Raspberry Pi 4 Model B Rev 1.4',
    hostname: 'shack',
    addresses: ['192.168.1.30'],
    node: 'v20.19.0',
    bootTime: '2026-01-01T00:00:00Z',
    startedAt: '2026-01-01T00:01:00Z',
    ...extra,
  };
}

test('device, origin, availability and the telemetry sensors', () => {
  const { topic, payload } = buildHaDiscovery({ specs: ROLE_SPECS, info: info([], { name: 'Radio shack' }) });
  assert.is(topic, 'homeassistant/device/shack/config');
  assert.equal(payload.dev, {
    ids: ['hearth_shack'],
    name: 'Radio shack',
    mf: 'hearth',
    mdl: 'Raspberry Pi 4 Model B Rev 1.4',
    sw: '0.1.0',
  });
  assert.equal(payload.o, { name: 'hearth', sw: '0.1.0' });
  assert.equal(payload.availability, [{ topic: 'hearth/shack/status', payload_available: 'online', payload_not_available: 'offline' }]);
  assert.equal(Object.keys(payload.cmps).sort(), ['cpu', 'restart', 'rss', 'temperature']);
  assert.equal(
    { ...payload.cmps.restart, unique_id: undefined },
    {
      p: 'button',
      name: 'Restart roles',
      device_class: 'restart',
      entity_category: 'config',
      command_topic: 'hearth/shack/cmd/ha/restart',
      unique_id: undefined,
    },
  );
  for (const c of Object.values(payload.cmps).filter((x) => x.p === 'sensor')) {
    assert.is(c.state_topic, 'hearth/shack/telemetry');
    assert.match(String(c.unique_id), /^hearth_shack_/);
  }
  assert.is(payload.cmps.cpu!.value_template, '{{ value_json.cpuPct }}');
  assert.is(payload.cmps.rss!.value_template, '{{ value_json.rssMb }}');
  assert.is(payload.cmps.temperature!.device_class, 'temperature');
  assert.match(String(payload.cmps.temperature!.value_template), /value_json\.temperatureC is defined else None/);
});

test('the telemetry sensors read fields the Telemetry schema really has', async () => {
  const { Telemetry } = await import('../../../protocol/index.ts');
  const props = Object.keys((Telemetry as unknown as { properties: Record<string, unknown> }).properties);
  const { payload } = buildHaDiscovery({ specs: ROLE_SPECS, info: info([]) });
  for (const c of Object.values(payload.cmps)) {
    for (const m of String(c.value_template).matchAll(/value_json\.(\w+)/g))
      assert.ok(props.includes(m[1]!), `${m[1]} is a telemetry field`);
  }
});

test('one enum sensor per role, from its state topic, with the supervisor statuses as options', () => {
  const { payload } = buildHaDiscovery({ specs: ROLE_SPECS, info: info(['hub', 'waker']) });
  const s = payload.cmps.state_waker!;
  assert.is(s.p, 'sensor');
  assert.is(s.state_topic, 'hearth/shack/state/waker');
  assert.is(s.value_template, '{{ value_json.status }}');
  assert.is(s.device_class, 'enum');
  assert.equal(s.options, ['starting', 'running', 'failed', 'restarting', 'stopped']);
  assert.is(s.json_attributes_topic, 'hearth/shack/state/waker');
  assert.ok(payload.cmps.state_hub);
});

test('tuner: a button per mode, the last outcome, the physical button as an event; plain payloads run the command', () => {
  const d = buildHaDiscovery({ specs: ROLE_SPECS, info: info(['tuner']), roles: { tuner: {} } });
  const c = d.payload.cmps;
  for (const mode of ['bypass', 'memory', 'full']) {
    assert.equal(
      { p: c[`tune_${mode}`]!.p, topic: c[`tune_${mode}`]!.command_topic },
      { p: 'button', topic: `hearth/shack/cmd/ha/tune_${mode}` },
    );
    assert.equal(d.commands.get(`tune_${mode}`)!('PRESS'), [{ role: 'tuner', action: 'tune', args: { mode } }]);
    assert.ok(check(roleSpec('tuner')!.commands.tune!.args, { mode }).ok);
  }
  assert.is(c.last_outcome!.p, 'sensor');
  assert.is(c.button!.p, 'event');
  assert.is(c.button!.state_topic, 'hearth/shack/event/tuner');
});

test("player: volume, mute and stream take Home Assistant's bare values; bad ones are refused in words", () => {
  const d = buildHaDiscovery({
    specs: ROLE_SPECS,
    info: info(['player']),
    roles: { player: { stream: 'living/music' } },
    streams: ['living/tone', 'living/music'],
  });
  const c = d.payload.cmps;
  assert.equal(
    Object.keys(c)
      .filter((k) => !['cpu', 'rss', 'temperature', 'state_player', 'restart'].includes(k))
      .sort(),
    ['buffer', 'clock_offset', 'dac', 'drift', 'level', 'mute', 'packet_loss', 'stream', 'sync_error', 'volume'],
  );
  assert.equal([c.level!.p, c.level!.unit_of_measurement, c.level!.json_attributes_topic], ['sensor', 'dBFS', 'hearth/shack/state/player']);
  assert.match(String(c.level!.value_template), /value_json\.detail\.level\.rmsDbfs \| max/);
  assert.equal([c.volume!.p, c.mute!.p, c.stream!.p, c.dac!.p], ['number', 'switch', 'select', 'binary_sensor']);
  assert.equal(c.stream!.options, ['living/music', 'living/tone']);
  assert.equal(d.commands.get('volume')!('0.4'), [{ role: 'player', action: 'volume', args: { gain: 0.4 } }]);
  assert.equal(d.commands.get('mute')!('ON'), [{ role: 'player', action: 'mute', args: { muted: true } }]);
  assert.equal(d.commands.get('mute')!('OFF'), [{ role: 'player', action: 'mute', args: { muted: false } }]);
  assert.equal(d.commands.get('stream')!('living/tone'), [{ role: 'player', action: 'subscribe', args: { stream: 'living/tone' } }]);
  assert.type(d.commands.get('volume')!('loud'), 'string');
  assert.type(d.commands.get('mute')!('maybe'), 'string');
  assert.type(d.commands.get('stream')!('elsewhere/x'), 'string');
});

test('source: a switch per stream; waker: per host awake sensor and wake button', () => {
  const d = buildHaDiscovery({
    specs: ROLE_SPECS,
    info: info(['source', 'waker']),
    roles: { source: { streams: [{ id: 'music' }, { id: 'tone' }] }, waker: { hosts: [{ name: 'nas' }] } },
  });
  assert.equal(d.commands.get('stream_tone')!('OFF'), [{ role: 'source', action: 'disable', args: { stream: 'tone' } }]);
  assert.equal(d.commands.get('stream_music')!('ON'), [{ role: 'source', action: 'enable', args: { stream: 'music' } }]);
  assert.is(d.payload.cmps.awake_nas!.p, 'binary_sensor');
  assert.equal(d.commands.get('wake_nas')!('PRESS'), [{ role: 'waker', action: 'wake', args: { host: 'nas' } }]);
  assert.equal(d.commands.get('restart')!('PRESS'), [
    { role: 'device', action: 'restart-role', args: { role: 'source' } },
    { role: 'device', action: 'restart-role', args: { role: 'waker' } },
  ]);
});

test('a removed host or role: its components are sent once as {p} alone, then left out', () => {
  const before = buildHaDiscovery({
    specs: ROLE_SPECS,
    info: info(['waker', 'tuner']),
    roles: { waker: { hosts: [{ name: 'nas' }, { name: 'pc' }] }, tuner: {} },
  });
  const after = buildHaDiscovery({
    specs: ROLE_SPECS,
    info: info(['waker']),
    roles: { waker: { hosts: [{ name: 'nas' }] } },
    previous: before.current,
  });
  assert.equal(after.payload.cmps.wake_pc, { p: 'button' });
  assert.equal(after.payload.cmps.awake_pc, { p: 'binary_sensor' });
  assert.equal(after.payload.cmps.tune_full, { p: 'button' });
  assert.equal(after.payload.cmps.last_outcome, { p: 'sensor' });
  assert.ok(after.payload.cmps.wake_nas!.unique_id, 'what stays is complete');
  assert.not.ok('wake_pc' in after.current);
  assert.not.ok(after.commands.has('wake_pc'));
  const next = buildHaDiscovery({
    specs: ROLE_SPECS,
    info: info(['waker']),
    roles: { waker: { hosts: [{ name: 'nas' }] } },
    previous: after.current,
  });
  assert.not.ok('wake_pc' in next.payload.cmps, 'the {p} step is sent once');
});

test('entities come from whatever spec is given; literal values from enum, union or const', () => {
  const Mode = Type.Union([Type.Literal('quick'), Type.Literal('slow')]);
  const spec = defineRole({
    name: 'rotator',
    description: 'test',
    config: Obj({}),
    state: Obj({}),
    events: {},
    commands: { tune: { description: 't', args: Obj({ mode: Mode }) } },
    homeassistant: (ha) =>
      literalValues(Mode).map((mode) => ({
        key: `tune_${mode}`,
        component: { p: 'button', command_topic: ha.commandTopic('tune'), payload_press: ha.request('tune', { mode }) },
      })),
  });
  const { payload } = buildHaDiscovery({ info: info(['rotator']), specs: [spec] });
  assert.equal(
    Object.keys(payload.cmps)
      .filter((k) => k.startsWith('tune_'))
      .sort(),
    ['tune_quick', 'tune_slow'],
  );
  assert.equal(literalValues(Type.Literal('x')), ['x']);
  assert.equal(literalValues({ type: 'string', enum: ['a', 'b'] } as never), ['a', 'b']);
  assert.equal(literalValues(Type.String()), []);
});

test('a hub links its web console; a custom base topic and prefix are used everywhere', () => {
  const hub = buildHaDiscovery({ specs: ROLE_SPECS, info: info(['hub']), roles: { hub: { wsPort: 8081 } } }).payload;
  assert.is(hub.dev.cu, 'http://192.168.1.30:8081/');
  assert.is(buildHaDiscovery({ specs: ROLE_SPECS, info: info(['hub']), roles: { hub: {} } }).payload.dev.cu, 'http://192.168.1.30:8080/');
  assert.is(buildHaDiscovery({ specs: ROLE_SPECS, info: info(['hub']), roles: { hub: { wsPort: 0 } } }).payload.dev.cu, undefined);
  const custom = buildHaDiscovery({
    specs: ROLE_SPECS,
    info: info(['waker']),
    roles: { waker: { hosts: [{ name: 'h1' }] } },
    baseTopic: 'house',
    prefix: 'ha',
  });
  assert.is(custom.topic, 'ha/device/shack/config');
  const json = JSON.stringify(custom.payload);
  assert.not.match(json, /hearth\//);
  assert.match(json, /"house\/shack\/status"/);
  assert.match(json, /"house\/shack\/cmd\/ha\/wake_h1"/);
});

test('every component has a platform and a unique id, and unique ids are unique', () => {
  const roles = { waker: { hosts: [{ name: 'a' }, { name: 'b' }] } };
  const { payload } = buildHaDiscovery({ specs: ROLE_SPECS, info: info(['hub', 'waker', 'tuner', 'player', 'source']), roles });
  const ids = Object.values(payload.cmps).map((c) => c.unique_id);
  assert.is(new Set(ids).size, ids.length);
  for (const [k, c] of Object.entries(payload.cmps)) {
    assert.match(k, /^[A-Za-z0-9_-]+$/);
    assert.ok(c.p && c.unique_id, k);
  }
  assert.ok(JSON.stringify(payload).length < 16_000, 'fits comfortably in one MQTT message');
});

test.run();
