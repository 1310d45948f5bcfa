// The house clock through the device runtime, as shipped: a hub device serves house time (its hub
// role's NTP server), a second device locks to it and says so on MQTT: telemetry `clock`, the
// clock events, and the hub's state naming where it serves.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestDevice, type TestDevice } from '../../helpers/device.ts';
import { connectController, type Controller } from '../../helpers/controller.ts';
import { freePort, startAedes, type TestBroker } from '../../helpers/broker.ts';
import { clockProbe } from '../../helpers/test-roles.ts';
import { RealClock } from '../../../device/core/clock.ts';
import { RealUdpStack } from '../../../device/hal/udp.real.ts';
import { ClockServer } from '../../../device/clock/server.ts';

let hub: TestDevice | undefined, kitchen: TestDevice | undefined, ctl: Controller | undefined;
let den: TestDevice | undefined, broker: TestBroker | undefined;
const servers: ClockServer[] = [];
test.after(async () => {
  await ctl?.close();
  await kitchen?.stop();
  await hub?.stop();
  await den?.stop();
  for (const s of servers) await s.stop();
  await broker?.stop();
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
  // House time minus CLOCK_MONOTONIC, in µs: this machine's realtime − monotonic, as the hub anchors there.
  const realMinusMonoUs = Date.now() * 1000 - Number(process.hrtime.bigint()) / 1000;
  assert.ok(
    Number.isInteger(c.monoOffsetUs) && Math.abs(c.monoOffsetUs - realMinusMonoUs) < 50_000,
    `${c.monoOffsetUs} vs ${realMinusMonoUs}`,
  );
  const lock = ctl.seen('hearth/kitchen/event/clock').find((e) => e.payload.type === 'lock');
  assert.ok(lock, 'a lock event');
  assert.match(lock!.payload.message, /locked to 127\.0\.0\.1/);
  // The hub device's own clock follows its own server.
  const own = await ctl.waitFor('hearth/box/telemetry', (p) => p?.clock?.state === 'locked', 40_000);
  assert.is(own.payload.clock.reference, `127.0.0.1:${ntpPort}`);
});

test('a clock config change applies live: same runtime and roles, the last estimate kept until the new reference locks; a refused one changes nothing', async () => {
  await ctl?.close();
  broker = await startAedes();
  const clock = new RealClock(),
    stack = new RealUdpStack(clock);
  // Two references on this machine: A serves the OS clock's time, B 2 s ahead (another house time).
  const a = new ClockServer({ stack, clock, port: await freePort(), address: '127.0.0.1' });
  const bPort = await freePort();
  const b = new ClockServer({ stack, clock, port: bPort, address: '127.0.0.1', anchorMs: Date.now() - performance.now() + 2000 });
  servers.push(a, b);
  await a.start();
  ctl = await connectController(broker.url);
  den = await startTestDevice({
    id: 'den',
    brokerUrl: broker.url,
    telemetryIntervalS: 1,
    extra: { clock: { server: '127.0.0.1', port: a.port } },
    roles: { clockprobe: {} },
    extraRoles: [clockProbe],
  });
  const runtime = den.runtime;
  const read = async () => {
    const r = await ctl!.cmd('den', 'clockprobe', 'read');
    assert.ok(r.ok, JSON.stringify(r));
    const v = r.result as { wallMs: number; osMs: number; sync: any; starts: number };
    return { ...v, aheadMs: v.wallMs - v.osMs };
  };
  await ctl.waitFor('hearth/den/telemetry', (p) => p?.clock?.state === 'locked' && p.clock.reference === `127.0.0.1:${a.port}`, 20_000);
  let v = await read();
  assert.ok(Math.abs(v.aheadMs) < 50, `on A: ${v.aheadMs} ms from the OS clock`);

  // To B, which does not answer yet: the last estimate is served, 'stale', under B's name.
  let mark = ctl.mark();
  let r = await ctl.configSet('den', { patch: { clock: { port: bPort } } });
  assert.ok(r.ok, JSON.stringify(r));
  const stale = await ctl.waitFor('hearth/den/telemetry', (p) => p?.clock?.reference === `127.0.0.1:${bPort}`, 5000, mark);
  assert.is(stale.payload.clock.state, 'stale', JSON.stringify(stale.payload.clock));
  await new Promise((res) => setTimeout(res, 1500));
  v = await read();
  assert.is(v.sync.state, 'stale');
  assert.ok(Math.abs(v.aheadMs) < 50, `still A's time while B is silent: ${v.aheadMs} ms`);
  // B answers: house time moves to it (a 2 s difference: one step).
  await b.start();
  const onB = await ctl.waitFor('hearth/den/telemetry', (p) => p?.clock?.state === 'locked', 10_000, mark);
  assert.ok(Math.abs(onB.payload.clock.offsetMs - 2000) < 50, JSON.stringify(onB.payload.clock));
  v = await read();
  assert.ok(Math.abs(v.aheadMs - 2000) < 50, `the role's wall() follows B: ${v.aheadMs} ms`);
  const types = ctl.seen('hearth/den/event/clock').map((e) => e.payload.type);
  assert.equal(types.slice(-3), ['switch', 'lock', 'step'], types.join(' '));
  assert.match(
    ctl.seen('hearth/den/event/clock').at(-2)!.payload.message,
    new RegExp(`locked to 127\\.0\\.0\\.1:${bPort} \\(was 127\\.0\\.0\\.1:${a.port}\\)`),
  );

  // Refused: a server that does not resolve, and a port out of range. B stays in use.
  const revision = runtime.config().revision;
  r = await ctl.configSet('den', { patch: { clock: { server: 'no-such-host.invalid' } } });
  assert.is(r.ok, false);
  assert.is(r.error?.code, 'apply-failed');
  assert.match(r.error!.message, /clock\.server no-such-host\.invalid does not resolve/);
  r = await ctl.configSet('den', { patch: { clock: { port: 0 } } });
  assert.is(r.ok, false);
  assert.is(runtime.config().revision, revision);
  mark = ctl.mark();
  const still = await ctl.waitFor('hearth/den/telemetry', () => true, 3000, mark);
  assert.is(still.payload.clock.reference, `127.0.0.1:${bPort}`);
  assert.is(still.payload.clock.state, 'locked');

  // Off: the OS wall clock again, no clock status; on again: locks to B afresh.
  r = await ctl.configSet('den', { patch: { clock: { enabled: false } } });
  assert.ok(r.ok, JSON.stringify(r));
  v = await read();
  assert.is(v.sync, null);
  assert.ok(Math.abs(v.aheadMs) < 50, `off: the OS clock, ${v.aheadMs} ms`);
  mark = ctl.mark();
  r = await ctl.configSet('den', { patch: { clock: { enabled: true } } });
  assert.ok(r.ok, JSON.stringify(r));
  await ctl.waitFor('hearth/den/telemetry', (p) => p?.clock?.state === 'locked', 10_000, mark);
  v = await read();
  assert.ok(Math.abs(v.aheadMs - 2000) < 50, `on again: ${v.aheadMs} ms`);
  // Neither the runtime nor the role restarted.
  assert.is(den.runtime, runtime);
  assert.is(v.starts, 1);
});

test.run();
