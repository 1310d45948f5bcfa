// The waker device under test, inside the waker namespace (Node cannot enter a namespace
// in-process): a broker in the namespace (Aedes on its loopback), a real hearth runtime with the
// waker role connected to it over MQTT, and a controller that relays. Stdout: one JSON line per
// MQTT message under hearth/ ({topic, payload}), and per answered request ({tag, reply}).
// Stdin: JSON lines {tag, cmd: {action, args}} or {tag, configSet: {...}}.
// argv: <waker role config as JSON>
import { createInterface } from 'node:readline';
import { startAedes } from '../../helpers/broker.ts';
import { startTestDevice } from '../../helpers/device.ts';
import { connectController } from '../../helpers/controller.ts';

const roleConfig = JSON.parse(process.argv[2]!);
const broker = await startAedes();
const ctl = await connectController(broker.url);
const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
const mqtt = await import('mqtt');
const tap = await mqtt.connectAsync(broker.url);
tap.on('message', (topic, raw) => {
  let payload: unknown = raw.toString();
  try {
    payload = JSON.parse(raw.toString());
  } catch {
    /* plain text (status) */
  }
  out({ topic, payload });
});
await tap.subscribeAsync('hearth/#');
const dev = await startTestDevice({ id: 'waker1', brokerUrl: broker.url, roles: { waker: roleConfig } });

const rl = createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const req = JSON.parse(line) as {
    tag: string;
    cmd?: { action: string; args?: Record<string, unknown> };
    configSet?: Record<string, unknown>;
  };
  try {
    const reply = req.cmd
      ? await ctl.cmd('waker1', 'waker', req.cmd.action, req.cmd.args ?? {})
      : await ctl.configSet('waker1', req.configSet!);
    out({ tag: req.tag, reply });
  } catch (e) {
    out({ tag: req.tag, error: (e as Error).message });
  }
});
rl.on('close', async () => {
  await dev.stop();
  await tap.endAsync(true);
  await ctl.close();
  await broker.stop();
  process.exit(0);
});
