// `hearth cmd` waits as long as the command can take: a full tune whose KEY stays low for 12 s
// (inside the device's keyMaxMs of 20 s) gets its reply, where a fixed 10 s timeout gave up.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { startAedes, type TestBroker } from '../../helpers/broker.ts';
import { connectController, type Controller } from '../../helpers/controller.ts';
import { startTestDevice, type TestDevice } from '../../helpers/device.ts';
import { RealClock } from '../../../device/core/clock.ts';
import { SimGpio } from '../../../device/hal/gpio.sim.ts';
import { At7000 } from '../../../device/tuner/at7000.ts';
import { topics } from '../../../protocol/index.ts';
import { tunerOperationMaxMs } from '../../../protocol/roles/tuner.ts';

const root = new URL('../../../', import.meta.url).pathname;
const t = topics();
let broker: TestBroker;
let ctl: Controller;
let dev: TestDevice;
let model: At7000;

test.before(async () => {
  broker = await startAedes();
  ctl = await connectController(broker.url);
  const clock = new RealClock();
  const sim = new SimGpio({ clock });
  model = new At7000({ clock, gpio: sim, start: { line: 17 }, key: { line: 27 }, keyDelayMs: 20, tuneMs: { full: 12_000 } });
  dev = await startTestDevice({
    id: 'shack',
    brokerUrl: broker.url,
    hal: { gpio: () => sim },
    roles: { tuner: { gpio: { adapter: 'sim' }, start: { line: 17 }, key: { line: 27 }, keyMaxMs: 20_000 } },
  });
  await ctl.waitFor(t.state('shack', 'tuner'), (p) => p?.detail?.status === 'idle', 5000);
});
test.after(async () => {
  model?.stop();
  await dev?.stop();
  await ctl?.close();
  await broker?.stop();
});

test("the wait follows the device's config: keyMaxMs 20 s gives 20 s + press + response + settle", () => {
  assert.is(tunerOperationMaxMs({ keyMaxMs: 20_000 }), 3500 + 2000 + 20_000 + 700);
  assert.is(tunerOperationMaxMs({}), 3500 + 2000 + 30_000 + 700);
});

test('hearth cmd … tuner tune full waits for a 12 s tune and prints its result', async () => {
  const t0 = Date.now();
  const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const c = spawn(
      process.execPath,
      ['--import', 'tsx', 'device/cli/main.ts', 'cmd', 'shack', 'tuner', 'tune', '{"mode":"full"}', '--broker', broker.url],
      { cwd: root },
    );
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('close', (code) => resolve({ code, out }));
  });
  assert.is(r.code, 0, r.out);
  assert.ok(Date.now() - t0 > 12_000, 'the tune really took more than 12 s');
  const result = JSON.parse(r.out.slice(r.out.indexOf('{')));
  assert.is(result.outcome, 'tuned');
  assert.ok(result.key.lowMs > 11_500, JSON.stringify(result.key));
});

test.run();
