// The house clock through the device runtime, as shipped: a hub device serves house time (its hub
// role's NTP server), a second device locks to it and says so on MQTT: telemetry `clock`, the
// clock events, and the hub's state naming where it serves.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestDevice, type TestDevice } from '../../helpers/device.ts';
import { connectController, type Controller } from '../../helpers/controller.ts';
import { freePort } from '../../helpers/broker.ts';

let hub: TestDevice | undefined, kitchen: TestDevice | undefined, ctl: Controller | undefined;
test.after(async () => {
  await ctl?.close();
  await kitchen?.stop();
  await hub?.stop();
});

test("a device locks to the hub's house time and publishes its clock; the hub says where it serves", async () => {
  const mqttPort = await freePort(),
    ntpPort = await freePort();
  const url = `mqtt://127.0.0.1:${mqttPort}`;
  const clock = { server: '127.0.0.1', port: ntpPort };
  hub = await startTestDevice({
    id: 'box',
    brokerUrl: url,
    extra: { clock },
    roles: { hub: { host: '127.0.0.1', port: mqttPort, wsPort: 0, allowAnonymous: true, ntp: { port: ntpPort } } },
  });
  ctl = await connectController(url);
  const mark = ctl.mark();
  kitchen = await startTestDevice({ id: 'kitchen', brokerUrl: url, telemetryIntervalS: 1, extra: { clock } });
  const hubState = await ctl.waitFor('hearth/box/state/hub', (p) => typeof p?.detail?.ntp === 'string', 15_000);
  assert.is(hubState.payload.detail.ntp, `127.0.0.1:${ntpPort}`);
  const tel = await ctl.waitFor('hearth/kitchen/telemetry', (p) => p?.clock?.state === 'locked', 20_000, mark);
  const c = tel.payload.clock;
  assert.is(c.reference, `127.0.0.1:${ntpPort}`);
  assert.ok(Math.abs(c.offsetMs) < 50, `house − OS clock ${c.offsetMs} ms (the hub anchors on this machine's clock)`);
  assert.ok(c.uncertaintyUs > 0 && c.uncertaintyUs < 10_000, `±${c.uncertaintyUs} µs`);
  assert.ok(c.lastReachedS < 3 && c.queries >= 4 && c.jumps === 0 && c.steps === 0, JSON.stringify(c));
  const lock = ctl.seen('hearth/kitchen/event/clock').find((e) => e.payload.type === 'lock');
  assert.ok(lock, 'a lock event');
  assert.match(lock!.payload.message, /locked to 127\.0\.0\.1/);
  // The hub device's own clock follows its own server.
  const own = await ctl.waitFor('hearth/box/telemetry', (p) => p?.clock?.state === 'locked', 40_000);
  assert.is(own.payload.clock.reference, `127.0.0.1:${ntpPort}`);
});

test.run();
