// A new role costs no file of the core: `kettle` is defined wholly in this file (its spec and its
// code) and handed to the runtime as the CLI hands the built-in ones. Against a real broker it gets
// everything a built-in role gets: its config checked by its own rule (config/set refuses with the
// path), its command dispatched by name with arguments validated by its spec, its state and event
// published and checked against the spec by the controller, its Home Assistant entities in the
// device's discovery message, and Home Assistant's plain payload on the entity's command topic
// running its command. No file of protocol/ or device/ names it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { startAedes, type TestBroker } from '../../helpers/broker.ts';
import { connectController, type Controller } from '../../helpers/controller.ts';
import { startTestDevice, type TestDevice } from '../../helpers/device.ts';
import { topics, Type, Obj, defineRole, detailTemplate, ROLE_SPECS, type HaContext } from '../../../protocol/index.ts';
import type { RoleFactory } from '../../../device/core/role.ts';

const t = topics();
const root = new URL('../../../', import.meta.url).pathname;

const KettleConfig = Obj({ capacityL: Type.Number({ minimum: 0.5, maximum: 10 }), fillL: Type.Optional(Type.Number({ minimum: 0 })) });
const kettleSpec = defineRole({
  name: 'kettle',
  description: 'test role: a kettle',
  config: KettleConfig,
  // A rule the schema cannot say: the water must fit.
  check: (c: { capacityL: number; fillL?: number }) =>
    (c.fillL ?? 0) > c.capacityL ? [{ path: '/fillL', message: `more than the ${c.capacityL} l the kettle holds` }] : [],
  commands: {
    boil: {
      description: 'heats the water to a temperature',
      args: Obj({ targetC: Type.Number({ minimum: 40, maximum: 100 }) }),
      result: Obj({ tempC: Type.Number() }),
    },
  },
  state: Obj({ tempC: Type.Number(), boils: Type.Integer() }),
  events: { boiled: Obj({ tempC: Type.Number() }, { description: 'the water reached its target' }) },
  homeassistant: (ha: HaContext<unknown>) => [
    {
      key: 'kettle_temp',
      component: {
        p: 'sensor',
        name: 'Water',
        state_topic: ha.stateTopic,
        value_template: detailTemplate('tempC'),
        unit_of_measurement: '°C',
      },
    },
    {
      key: 'kettle_boil',
      component: { p: 'button', name: 'Boil', command_topic: ha.haCommandTopic('kettle_boil') },
      command: () => [{ role: 'kettle', action: 'boil', args: { targetC: 100 } }],
    },
  ],
});

const kettleRole: RoleFactory<typeof kettleSpec> = (deps) => {
  let tempC = 20;
  let boils = 0;
  const publish = () => deps.link.publishState({ tempC, boils });
  return {
    async start() {
      publish();
    },
    async apply() {
      return 'restart';
    },
    async stop() {},
    commands: {
      async boil({ targetC }) {
        tempC = targetC;
        boils++;
        publish();
        deps.link.publishEvent('boiled', `the water is at ${targetC} °C`, { tempC });
        return { tempC };
      },
    },
  };
};

let broker: TestBroker, ctl: Controller, dev: TestDevice;

test.before(async () => {
  broker = await startAedes();
  ctl = await connectController(broker.url, { specs: [...ROLE_SPECS, kettleSpec] });
  dev = await startTestDevice({
    id: 'kitchen',
    brokerUrl: broker.url,
    extraRoles: [{ spec: kettleSpec, factory: kettleRole }],
    roles: { kettle: { capacityL: 1.7 } },
    extra: { homeassistant: { enabled: true } },
  });
});
test.after(async () => {
  await dev?.stop();
  await ctl?.close();
  await broker?.stop();
});

test('its state is published, its command runs by name, its event follows; arguments are checked by its spec alone', async () => {
  const first = await ctl.waitFor(t.state('kitchen', 'kettle'), (p) => p.status === 'running' && p.detail?.tempC === 20, 10_000);
  assert.equal(first.payload.detail, { tempC: 20, boils: 0 });
  const m = ctl.mark();
  const r = await ctl.cmd('kitchen', 'kettle', 'boil', { targetC: 95 });
  assert.equal({ ok: r.ok, result: r.result }, { ok: true, result: { tempC: 95 } });
  const ev = await ctl.waitFor(t.event('kitchen', 'kettle'), (p) => p.type === 'boiled', 5000, m);
  assert.equal(ev.payload.data, { tempC: 95 });
  await ctl.waitFor(t.state('kitchen', 'kettle'), (p) => p.detail?.tempC === 95 && p.detail.boils === 1, 5000, m);
  const hot = await ctl.cmd('kitchen', 'kettle', 'boil', { targetC: 300 });
  assert.is(hot.ok, false);
  assert.is(hot.error!.code, 'invalid');
  assert.match(JSON.stringify(hot.error!.details), /targetC/);
  const unknown = await ctl.cmd('kitchen', 'kettle', 'descale', {});
  assert.is(unknown.error!.code, 'unknown-command');
});

test('its config rule refuses a config/set with the path, and nothing changes', async () => {
  const r = await ctl.configSet('kitchen', { patch: { roles: { kettle: { capacityL: 1.7, fillL: 3 } } } });
  assert.is(r.ok, false);
  assert.is(r.error!.code, 'invalid');
  assert.equal(
    r.error!.details!.map((d) => d.path),
    ['/roles/kettle/fillL'],
  );
  assert.equal(dev.runtime.config().config.roles.kettle, { capacityL: 1.7 });
});

test("its Home Assistant entities are in the discovery message, and the button's plain payload boils the water", async () => {
  const d = await ctl.waitFor('homeassistant/device/kitchen/config', (p) => p?.cmps?.kettle_boil, 10_000);
  assert.equal(d.payload.cmps.kettle_temp.state_topic, 'hearth/kitchen/state/kettle');
  assert.is(d.payload.cmps.kettle_boil.command_topic, 'hearth/kitchen/cmd/ha/kettle_boil');
  assert.is(d.payload.cmps.state_kettle.p, 'sensor', 'the generic state sensor every role gets');
  const m = ctl.mark();
  await ctl.client.publishAsync('hearth/kitchen/cmd/ha/kettle_boil', 'PRESS', { qos: 1 });
  const ev = await ctl.waitFor(t.event('kitchen', 'kettle'), (p) => p.type === 'boiled', 5000, m);
  assert.equal(ev.payload.data, { tempC: 100 });
  const reply = await ctl.waitFor(t.reply('kitchen'), (p) => p.id === 'ha-kettle_boil', 5000, m);
  assert.is(reply.payload.ok, true);
});

test('nothing outside this test knows the role', () => {
  let hits = '';
  try {
    hits = execFileSync('git', ['grep', '-il', 'kettle', '--', 'protocol', 'device'], { cwd: root, encoding: 'utf8' }).trim();
  } catch (e) {
    if ((e as { status?: number }).status !== 1) throw e;
  } // 1: no match
  assert.is(hits, '', `files naming it: ${hits}`);
  assert.equal(ctl.violations(), [], 'every state and event it published fits its spec');
});

test.run();
