// `hearth monitor` against real brokers (Aedes and Mosquitto): a real device runtime, a fake
// offline device whose retained messages include a bad one, and the monitor in its three modes.
import { test, suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import mqtt from 'mqtt';
import { BROKERS, freePort, type TestBroker } from '../../helpers/broker.ts';
import { startTestDevice, type TestDevice } from '../../helpers/device.ts';
import { connectController, type Controller } from '../../helpers/controller.ts';
import { probe } from '../../helpers/test-roles.ts';
import { runMonitor, type MonitorOutput } from '../../../device/monitor/monitor.ts';
import { createLogger } from '../../../device/core/log.ts';
import { topics } from '../../../protocol/index.ts';
import { waitUntil } from '../../helpers/wait.ts';

const t = topics('hearth');
const log = createLogger({ level: 'error' });
const strip = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
const until = (cond: () => boolean, timeoutMs = 5000, what = 'condition') => waitUntil(what, cond, { timeoutMs, everyMs: 20 });

function capture(tty = false): MonitorOutput & { text: string } {
  const o = {
    text: '',
    isTTY: tty,
    columns: 140,
    rows: 60,
    write(s: string) {
      o.text += s;
      return true;
    },
  };
  return o;
}

/** Retained messages of a device that went away: offline, its info, and a state that is not valid. */
async function publishAttic(url: string): Promise<void> {
  const c = await mqtt.connectAsync(url, { clientId: 'attic-fake' });
  const iso = new Date(Date.now() - 600_000).toISOString();
  await c.publishAsync(
    t.info('attic'),
    JSON.stringify({
      v: 2,
      device: 'attic',
      runtime: '0.1.0',
      protocol: 2,
      accepts: [1, 2],
      roles: ['waker'],
      model: 'Raspberry Pi 3 Model B',
      hostname: 'attic',
      addresses: [],
      node: 'v20.19.0',
      bootTime: iso,
      startedAt: iso,
    }),
    { retain: true, qos: 1 },
  );
  await c.publishAsync(t.state('attic', 'waker'), '{"v":2,"role":"waker","status":"sleeping"}', { retain: true, qos: 1 });
  await c.publishAsync(t.status('attic'), 'offline', { retain: true, qos: 1 });
  await c.endAsync();
}

async function clearAttic(url: string): Promise<void> {
  const c = await mqtt.connectAsync(url, { clientId: 'attic-clear' });
  for (const topic of [t.info('attic'), t.state('attic', 'waker'), t.status('attic')])
    await c.publishAsync(topic, '', { retain: true, qos: 1 });
  await c.endAsync();
}

for (const b of BROKERS) {
  const it = suite(b.kind);
  let broker: TestBroker;
  let device: TestDevice;
  let ctl: Controller;

  it.before(async () => {
    broker = await b.start();
    device = await startTestDevice({
      id: 'kitchen',
      brokerUrl: broker.url,
      roles: { probe: { label: 'hello' } },
      extraRoles: [probe],
      telemetryIntervalS: 1,
    });
    ctl = await connectController(broker.url, { unchecked: ['attic'] }); // attic is a fake device with a bad state, on purpose
    await ctl.waitFor(t.state('kitchen', 'probe'), (p) => p?.status === 'running');
    await ctl.waitFor(t.telemetry('kitchen'), () => true, 5000);
    await publishAttic(broker.url);
  });

  it.after(async () => {
    await clearAttic(broker.url).catch(() => {});
    await ctl?.close();
    await device?.stop();
    await broker?.stop();
  });

  it(`${b.kind}: --once prints every device from the retained messages, with the bad one as an error`, async () => {
    const out = capture();
    const r = await runMonitor({ broker: broker.url, once: true, out, colour: false, log });
    assert.equal(r, { code: 0 });
    const text = out.text;
    assert.match(text, /2 devices/, text);
    assert.match(text, /● kitchen {2}online \d+s/);
    assert.match(text, /● probe +running \d+s .*label=hello/);
    assert.match(text, /✖ attic {2}offline, last seen 10m0\ds ago/);
    assert.match(text, /errors .*state\/waker: .*\/status/, text);
    assert.match(text, /Raspberry Pi 3 Model B/);
    assert.not.match(text, /\x1b/);
  });

  it(`${b.kind}: --once with --device and --role filters`, async () => {
    const one = capture();
    await runMonitor({ broker: broker.url, once: true, out: one, colour: false, log, device: 'attic' });
    assert.match(one.text, /1 device /);
    assert.not.match(one.text, /kitchen/);
    const role = capture();
    await runMonitor({ broker: broker.url, once: true, out: role, colour: false, log, role: 'probe' });
    assert.match(role.text, /kitchen/);
    assert.not.match(role.text, /attic/);
  });

  it(`${b.kind}: append mode prints a snapshot, then a line per change`, async () => {
    const out = capture();
    const stop = new AbortController();
    const done = runMonitor({ broker: broker.url, out, colour: false, log, signal: stop.signal, settleMs: 200 });
    await until(() => out.text.includes('kitchen'), 5000, 'the snapshot');
    const snapshotLength = out.text.length;
    const reply = await ctl.cmd('kitchen', 'probe', 'crash', {});
    assert.ok(reply.ok);
    const after = () => out.text.slice(snapshotLength);
    await until(() => /kitchen reply \S+ to probe\/crash: ok/.test(after()), 5000, 'the reply line');
    await until(() => /kitchen probe role-failed: probe failed: probe crashed on purpose/.test(after()), 5000, 'the failure event line');
    await until(() => /kitchen probe restarting: probe crashed on purpose/.test(after()), 5000, 'the state line');
    await until(() => /kitchen probe running\n/.test(after()), 5000, 'the restart line');
    const bad = await mqtt.connectAsync(broker.url, { clientId: 'bad-pub' });
    await bad.publishAsync(t.telemetry('kitchen'), 'not json', { qos: 1 });
    await bad.endAsync();
    await until(() => /kitchen bad message on hearth\/kitchen\/telemetry: not JSON/.test(out.text), 5000, 'the bad message line');
    stop.abort();
    assert.equal(await done, { code: 0 });
  });

  it(`${b.kind}: live mode draws on the alternate screen and restores the terminal when stopped`, async () => {
    const out = capture(true);
    const stop = new AbortController();
    const done = runMonitor({ broker: broker.url, out, colour: true, log, signal: stop.signal, settleMs: 100, redrawMs: 20 });
    await until(() => out.text.includes('\x1b[?1049h'), 5000, 'the alternate screen');
    await until(() => strip(out.text).includes('kitchen'), 5000, 'a frame');
    const frames = () => out.text.split('\x1b[H').length - 1;
    const before = frames();
    await until(() => frames() > before, 3000, 'a redraw (telemetry every second, ages every second)');
    assert.ok(out.text.includes('\x1b[32m'), 'colour in a terminal');
    await until(() => /cpu \d+\.\d%  rss \d+\.\d MB/.test(strip(out.text)), 3000, 'telemetry on screen');
    stop.abort();
    assert.equal(await done, { code: 0 });
    assert.ok(out.text.endsWith('\x1b[?25h\x1b[?1049l'), 'cursor shown and normal screen back, last');
  });
  it.run();
}

test('no broker: gives up with a clear error', async () => {
  const port = await freePort();
  const out = capture();
  const r = await runMonitor({ broker: `mqtt://127.0.0.1:${port}`, once: true, out, log, connectTimeoutMs: 600 });
  assert.is(r.code, 1);
  assert.match(r.error ?? '', /could not connect to mqtt:\/\/127\.0\.0\.1:\d+ within 600 ms/);
  assert.is(out.text, '');
});

test('the CLI command: hearth monitor --once in a child process', async () => {
  const b = await BROKERS[0]!.start();
  try {
    await publishAttic(b.url);
    const script = `
      import { Command } from 'commander';
      import { registerMonitorCommands } from './device/monitor/cli.ts';
      import { createLogger } from './device/core/log.ts';
      const program = new Command('hearth');
      registerMonitorCommands(program, { log: createLogger({ level: 'error' }) });
      await program.parseAsync(process.argv);
    `;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script, 'hearth', 'monitor', '--once', '--broker', b.url],
      { cwd: new URL('../../../', import.meta.url).pathname },
    );
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stdout += d));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.is(code, 0, stdout);
    assert.match(stdout, /✖ attic {2}offline/);
    assert.not.match(stdout, /\x1b/, 'not a terminal: no colour');
  } finally {
    await b.stop();
  }
});

test.run();
