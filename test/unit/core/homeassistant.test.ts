import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildHaDiscovery, literalValues } from '../../../device/core/homeassistant.ts';
import { Type, Obj, defineRole, check, roleSpec, ROLE_SPECS, type Info } from '../../../protocol/index.ts';

function info(roles: string[], extra: Partial<Info> = {}): Info {
  return {
    v: 2, device: 'shack', runtime: '0.1.0', protocol: 2, accepts: [1, 2], roles, model: 'Raspberry Pi 4 Model B Rev 1.4',
    hostname: 'shack', addresses: ['192.168.1.30'], node: 'v20.19.0', bootTime: '2026-01-01T00:00:00Z', startedAt: '2026-01-01T00:01:00Z', ...extra,
  };
}

test('device, origin, availability and the telemetry sensors', () => {
  const { topic, payload } = buildHaDiscovery({ specs: ROLE_SPECS, info: info([], { name: 'Radio shack' }) });
  assert.is(topic, 'homeassistant/device/shack/config');
  assert.equal(payload.dev, { ids: ['hearth_shack'], name: 'Radio shack', mf: 'hearth', mdl: 'Raspberry Pi 4 Model B Rev 1.4', sw: '0.1.0' });
  assert.equal(payload.o, { name: 'hearth', sw: '0.1.0' });
  assert.equal(payload.availability, [{ topic: 'hearth/shack/status', payload_available: 'online', payload_not_available: 'offline' }]);
  assert.equal(Object.keys(payload.cmps).sort(), ['cpu', 'rss', 'temperature']);
  for (const c of Object.values(payload.cmps)) {
    assert.is(c.p, 'sensor');
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
    for (const m of String(c.value_template).matchAll(/value_json\.(\w+)/g)) assert.ok(props.includes(m[1]!), `${m[1]} is a telemetry field`);
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

test('tuner: one button per tune mode from the tuner spec, each a valid command request', () => {
  const { payload } = buildHaDiscovery({ specs: ROLE_SPECS, info: info(['tuner']) });
  const buttons = Object.entries(payload.cmps).filter(([, c]) => c.p === 'button');
  const tune = roleSpec('tuner')!.commands.tune!;
  const modes = literalValues((tune.args.properties as Record<string, never>).mode);
  assert.ok(modes.length >= 3, 'the real tuner spec lists its modes');
  assert.equal(buttons.map(([k]) => k).sort(), modes.map((m) => `tune_${m}`).sort());
  for (const [, b] of buttons) {
    assert.is(b.command_topic, 'hearth/shack/cmd/tuner/tune');
    const body = JSON.parse(String(b.payload_press));
    assert.is(body.v, 2);
    assert.type(body.id, 'string');
    const { v: _v, id: _id, ...args } = body;
    assert.ok(check(tune.args, args).ok, JSON.stringify(args));
  }
  assert.ok(!Object.keys(payload.cmps).some((k) => k.includes('erase')), 'no button that erases the tuner memories');
});

test('waker: one wake button per host in the config, none without config', () => {
  const roles = { waker: { hosts: [{ name: 'theobromine', ip: '10.0.0.5', mac: 'aa:bb:cc:dd:ee:ff', interface: 'eth0' }, { name: 'mint', ip: '10.0.0.6', mac: 'aa:bb:cc:dd:ee:01', interface: 'eth0' }] } };
  const { payload } = buildHaDiscovery({ specs: ROLE_SPECS, info: info(['waker']), roles });
  assert.equal(payload.cmps.wake_theobromine, {
    p: 'button', name: 'Wake theobromine', unique_id: 'hearth_shack_wake_theobromine', icon: 'mdi:power',
    command_topic: 'hearth/shack/cmd/waker/wake', payload_press: '{"v":2,"id":"ha-waker-wake-theobromine","host":"theobromine"}',
  });
  assert.ok(payload.cmps.wake_mint);
  const bare = buildHaDiscovery({ specs: ROLE_SPECS, info: info(['waker']) }).payload;
  assert.not.ok(Object.values(bare.cmps).some((c) => c.p === 'button'));
});

test('no buttons for roles the device does not run, or with arguments the spec refuses', () => {
  const roles = { waker: { hosts: [{ name: 'bad name!' }] } };
  const { payload } = buildHaDiscovery({ specs: ROLE_SPECS, info: info(['hub']), roles });
  assert.not.ok(Object.values(payload.cmps).some((c) => c.p === 'button'));
  const refused = buildHaDiscovery({ specs: ROLE_SPECS, info: info(['waker']), roles }).payload;
  assert.not.ok(Object.values(refused.cmps).some((c) => c.p === 'button'), 'a host name the wake command would refuse');
});

test('entities come from whatever spec is given; literal values from enum, union or const', () => {
  const Mode = Type.Union([Type.Literal('quick'), Type.Literal('slow')]);
  const spec = defineRole({
    name: 'tuner', description: 'test', config: Obj({}), state: Obj({}), events: {},
    commands: { tune: { description: 't', args: Obj({ mode: Mode }) } },
    homeassistant: (ha) => literalValues(Mode).map((mode) => ({
      key: `tune_${mode}`, component: { p: 'button', command_topic: ha.commandTopic('tune'), payload_press: ha.request('tune', { mode }) },
    })),
  });
  const { payload } = buildHaDiscovery({ info: info(['tuner']), specs: [spec] });
  assert.equal(Object.keys(payload.cmps).filter((k) => k.startsWith('tune_')).sort(), ['tune_quick', 'tune_slow']);
  assert.equal(literalValues(Type.Literal('x')), ['x']);
  assert.equal(literalValues({ type: 'string', enum: ['a', 'b'] } as never), ['a', 'b']);
  assert.equal(literalValues(Type.String()), []);
});

test('a hub links its web console; a custom base topic and prefix are used everywhere', () => {
  const hub = buildHaDiscovery({ specs: ROLE_SPECS, info: info(['hub']), roles: { hub: { wsPort: 8081 } } }).payload;
  assert.is(hub.dev.cu, 'http://192.168.1.30:8081/');
  assert.is(buildHaDiscovery({ specs: ROLE_SPECS, info: info(['hub']), roles: { hub: {} } }).payload.dev.cu, 'http://192.168.1.30:8080/');
  assert.is(buildHaDiscovery({ specs: ROLE_SPECS, info: info(['hub']), roles: { hub: { wsPort: 0 } } }).payload.dev.cu, undefined);
  const custom = buildHaDiscovery({ specs: ROLE_SPECS, info: info(['waker']), roles: { waker: { hosts: [{ name: 'h1' }] } }, baseTopic: 'house', prefix: 'ha' });
  assert.is(custom.topic, 'ha/device/shack/config');
  const json = JSON.stringify(custom.payload);
  assert.not.match(json, /hearth\//);
  assert.match(json, /"house\/shack\/status"/);
  assert.match(json, /"house\/shack\/cmd\/waker\/wake"/);
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
