// The web console end to end without a browser: the hub serves the page and everything it
// loads; the console's own logic (fleet.js) speaks MQTT over the hub's WebSocket to a real device
// runtime: it sees the device, sends a command and a config patch, and gets their replies.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { startBroker, type RunningBroker } from '../../../device/hub/broker.ts';
import { createLogger } from '../../../device/core/log.ts';
import { startTestDevice, type TestDevice } from '../../helpers/device.ts';
import { probe } from '../../helpers/test-roles.ts';
import * as fleetJs from '../../../device/console/static/fleet.js';
import type { ConsoleReply } from '../../../device/console/static/fleet.js';

const STATIC = new URL('../../../device/console/static/', import.meta.url);
let broker: RunningBroker;
let device: TestDevice;
let http: string;

const until = async (cond: () => boolean, ms = 5000, what = 'condition') => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

test.before(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0, wsPort: 0, allowAnonymous: true, log: createLogger({ level: 'error' }) });
  http = `http://127.0.0.1:${broker.wsPort}`;
  device = await startTestDevice({ id: 'den', brokerUrl: `mqtt://127.0.0.1:${broker.port}`, roles: { probe: { label: 'hello' } }, extraRoles: [probe], telemetryIntervalS: 1 });
});

test.after(async () => {
  await device?.stop();
  await broker?.close();
});

test('the hub serves the page and everything it loads, with the right types', async () => {
  const index = await fetch(`${http}/`);
  assert.is(index.status, 200);
  assert.match(index.headers.get('content-type') ?? '', /text\/html/);
  const html = await index.text();
  const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(refs.includes('mqtt.min.js') && refs.includes('app.js') && refs.includes('style.css'), refs.join(' '));
  for (const ref of [...refs, 'fleet.js']) {
    const r = await fetch(`${http}/${ref}`);
    assert.is(r.status, 200, ref);
    const type = r.headers.get('content-type') ?? '';
    assert.match(type, ref.endsWith('.css') ? /text\/css/ : /javascript/, ref);
    await r.arrayBuffer();
  }
});

test('app.js imports only what fleet.js exports, and reads only elements index.html has', () => {
  const app = readFileSync(new URL('app.js', STATIC), 'utf8');
  const html = readFileSync(new URL('index.html', STATIC), 'utf8');
  const imported = /import \{([^}]+)\} from '\.\/fleet\.js'/.exec(app)![1]!.split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of imported) assert.ok(name in fleetJs, `fleet.js exports ${name}`);
  const ids = new Set([...html.matchAll(/id="([^"]+)"/g)].map((m) => m[1]));
  for (const m of app.matchAll(/\$\('([^']+)'\)/g)) assert.ok(ids.has(m[1]), `index.html has #${m[1]}`);
});

test('over the WebSocket: the console sees the device, sends a command and a config patch, and gets the replies', async () => {
  const fleet = fleetJs.createFleet('hearth');
  const replies: ConsoleReply[] = [];
  const client: MqttClient = await mqtt.connectAsync(`ws://127.0.0.1:${broker.wsPort}/mqtt`, { clientId: 'console-test', protocolVersion: 4 });
  try {
    client.on('message', (topic, payload, packet) => {
      const r = fleetJs.applyMessage(fleet, topic, payload.toString(), Date.now(), packet.retain);
      if (r) replies.push(r);
    });
    await client.subscribeAsync(fleet.topics.all(), { qos: 1 });
    await until(() => fleet.devices.get('den')?.roles.get('probe')?.state.status === 'running', 5000, 'the probe role state');
    await until(() => !!fleet.devices.get('den')?.telemetry, 5000, 'telemetry');
    const d = fleet.devices.get('den')!;
    assert.is(d.status, 'online');
    assert.equal(d.info?.roles, ['probe']);
    assert.is(fleetJs.deviceHealth(d, Date.now()), 'healthy');
    assert.equal(fleetJs.commandRoles(d), ['device', 'probe']);

    const cmd = fleetJs.buildCommand(fleet.topics, 'den', 'probe', 'echo', '{ "text": "hi" }');
    await client.publishAsync(cmd.topic, cmd.payload, { qos: 1 });
    await until(() => replies.some((r) => r.id === cmd.id), 5000, 'the command reply');
    const r1 = replies.find((r) => r.id === cmd.id)!;
    assert.ok(r1.ok, JSON.stringify(r1));
    assert.equal(r1.result, { text: 'hi', label: 'hello' });
    assert.is(fleetJs.replyText(r1), 'ok: {"text":"hi","label":"hello"}');

    const bad = fleetJs.buildCommand(fleet.topics, 'den', 'probe', 'echo', '{ "txt": "hi" }');
    await client.publishAsync(bad.topic, bad.payload, { qos: 1 });
    await until(() => replies.some((r) => r.id === bad.id), 5000, 'the refusal');
    const r2 = replies.find((r) => r.id === bad.id)!;
    assert.is(r2.ok, false);
    assert.match(fleetJs.replyText(r2), /^invalid: .*\/txt unknown field/);

    const rev = d.config?.revision;
    assert.type(rev, 'number');
    const patch = fleetJs.buildConfigPatch(fleet.topics, 'den', '{ "roles": { "probe": { "label": "from the console" } } }', undefined, rev);
    await client.publishAsync(patch.topic, patch.payload, { qos: 1 });
    await until(() => replies.some((r) => r.id === patch.id), 5000, 'the patch reply');
    assert.ok(replies.find((r) => r.id === patch.id)!.ok);
    await until(() => fleetJs.summarize(d.roles.get('probe')?.state.detail).includes('label=from the console'), 5000, 'the new label in the state');
    await until(() => d.config?.revision === rev! + 1, 5000, 'the new revision');

    const stale = fleetJs.buildConfigPatch(fleet.topics, 'den', '{ "name": "x" }', undefined, rev);
    await client.publishAsync(stale.topic, stale.payload, { qos: 1 });
    await until(() => replies.some((r) => r.id === stale.id), 5000, 'the stale-revision reply');
    assert.is(replies.find((r) => r.id === stale.id)!.ok, false, 'ifRevision protects against a config changed meanwhile');
  } finally {
    await client.endAsync(true);
  }
});

test.run();
