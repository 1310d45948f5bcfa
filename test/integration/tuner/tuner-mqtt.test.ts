// The tuner end to end over a real broker (Aedes, then Mosquitto): a device runtime with the tuner
// role on simulated GPIO and a scripted AT-7000, driven by a controller over MQTT. Covers tune
// commands and replies, retained state, busy refusal, bad commands, button pass-through, and a
// mapped button on device A that wakes a host through device B's command topic (B is a fake
// waker: a plain MQTT client that answers on B's reply topic). Short press windows keep it quick.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt from 'mqtt';
import { BROKERS, type TestBroker } from '../../helpers/broker.ts';
import { connectController, type Controller } from '../../helpers/controller.ts';
import { startTestDevice, type TestDevice } from '../../helpers/device.ts';
import { RealClock } from '../../../device/core/clock.ts';
import { SimGpio } from '../../../device/hal/gpio.sim.ts';
import { At7000 } from '../../../device/tuner/at7000.ts';
import { topics, PROTOCOL_VERSION } from '../../../protocol/index.ts';

const t = topics();
const L = { start: 17, key: 27, button: 24 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TIMING = {
  windows: { bypassBelowMs: 100, fullAboveMs: 400 },
  presses: { bypassMs: 50, memoryMs: 250, fullMs: 700 },
  minGapMs: 100,
  settleMs: 200,
  keyResponseMs: 500,
  keyMaxMs: 3000,
  margins: { guardMs: 20 },
};

function tunerRig() {
  const clock = new RealClock();
  const sim = new SimGpio({ clock });
  const model = new At7000({
    clock,
    gpio: sim,
    start: { line: L.start },
    key: { line: L.key },
    bypassBelowMs: 100,
    fullAboveMs: 400,
    keyDelayMs: 20,
    tuneMs: { memory: 150, full: 300 },
  });
  return { sim, model };
}

/** Presses the simulated button (active low) for `ms`. */
async function pressButton(sim: SimGpio, ms: number) {
  sim.device.drive(L.button, 0);
  await sleep(ms);
  sim.device.drive(L.button, undefined);
}

for (const b of BROKERS) {
  const s = suite(`tuner over MQTT (${b.kind})`);
  let broker: TestBroker;
  let ctl: Controller;
  const cleanup: Array<() => Promise<void>> = [];
  s.before(async () => {
    broker = await b.start();
    ctl = await connectController(broker.url);
  });
  s.after.each(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  s.after(async () => {
    await ctl.close();
    await broker.stop();
  });

  async function device(id: string, tuner: Record<string, unknown>): Promise<{ dev: TestDevice; sim: SimGpio; model: At7000 }> {
    const { sim, model } = tunerRig();
    const dev = await startTestDevice({
      id,
      brokerUrl: broker.url,
      hal: { gpio: () => sim },
      roles: { tuner: { gpio: { adapter: 'sim' }, start: { line: L.start }, key: { line: L.key }, ...TIMING, ...tuner } },
    });
    cleanup.push(async () => {
      model.stop();
      await dev.stop();
    });
    await ctl.waitFor(t.state(id, 'tuner'), (p) => p?.status === 'running' && p?.detail?.status === 'idle', 5000);
    return { dev, sim, model };
  }

  s('tune commands reply with the outcome; state and events follow', async () => {
    const { model } = await device('shack1', {});
    const mark = ctl.mark();
    const r = await ctl.cmd('shack1', 'tuner', 'tune', { mode: 'memory' }, 10_000);
    assert.ok(r.ok, JSON.stringify(r.error));
    const res = r.result as any;
    assert.is(res.mode, 'memory');
    assert.is(res.outcome, 'tuned');
    assert.ok(res.pressMs >= 249 && res.pressMs <= 400, `pressMs ${res.pressMs}`); // main-thread timers here: window only
    assert.ok(res.key.lowMs >= 145 && res.key.lowMs < 1000, `KEY low ${res.key.lowMs} (the model holds it 150 ms)`);
    assert.is(model.lastMode, 'memory');
    await ctl.waitFor(t.state('shack1', 'tuner'), (p) => p?.detail?.status === 'idle' && p?.detail?.last?.outcome === 'tuned', 3000, mark);
    await ctl.waitFor(t.event('shack1', 'tuner'), (p) => p?.type === 'press' && p?.data?.mode === 'memory', 3000, mark);
    await ctl.waitFor(t.event('shack1', 'tuner'), (p) => p?.type === 'tune' && p?.data?.result?.outcome === 'tuned', 3000, mark);
    await sleep(150);
    model.script.push('silent');
    const r2 = await ctl.cmd('shack1', 'tuner', 'tune', { mode: 'full' }, 10_000);
    assert.is(r2.ok, false);
    assert.is(r2.error!.code, 'timeout');
    await ctl.waitFor(t.state('shack1', 'tuner'), (p) => p?.detail?.status === 'error' && p?.detail?.last?.outcome === 'no-response', 3000);
  });

  s('busy while tuning; bad commands get clear errors and press nothing', async () => {
    const { model } = await device('shack2', {});
    const first = ctl.cmd('shack2', 'tuner', 'tune', { mode: 'full' }, 10_000);
    await sleep(100);
    const busy = await ctl.cmd('shack2', 'tuner', 'tune', { mode: 'bypass' });
    assert.is(busy.ok, false);
    assert.is(busy.error!.code, 'busy');
    assert.ok((await first).ok);
    const presses = model.presses.length;
    const bad = [
      await ctl.cmd('shack2', 'tuner', 'tune', { mode: 'turbo' }),
      await ctl.cmd('shack2', 'tuner', 'press', { ms: 5 }),
      await ctl.cmd('shack2', 'tuner', 'press', {}),
      await ctl.cmd('shack2', 'tuner', 'erase-memories', {}),
    ];
    for (const r of bad) {
      assert.is(r.ok, false);
      assert.is(r.error!.code, 'invalid', JSON.stringify(r.error));
    }
    assert.match(bad[3]!.error!.message, /power relay/);
    await sleep(200);
    assert.is(model.presses.length, presses, 'nothing was pressed');
  });

  s('button pass-through: START follows the button and the tuner reads the mode', async () => {
    const { sim, model } = await device('shack3', { button: { line: L.button, mode: 'pass-through', debounceMs: 10 } });
    const mark = ctl.mark();
    await pressButton(sim, 250); // the middle of the 100–400 ms memory window
    const ev = await ctl.waitFor(t.event('shack3', 'tuner'), (p) => p?.type === 'tune', 3000, mark);
    assert.is(ev.payload.data.result.source, 'pass-through');
    assert.is(ev.payload.data.result.mode, 'memory');
    assert.is(ev.payload.data.result.outcome, 'tuned');
    assert.is(model.presses.length, 1);
    // The mirrored length follows the button's (both edges pass the same debounce); how closely
    // depends on the event loop here, so only the window is checked.
    assert.ok(model.presses[0]!.ms >= 100 && model.presses[0]!.ms <= 400, `mirrored ${model.presses[0]!.ms} ms`);
  });

  s('a long button press on device A wakes a host through device B (fake waker)', async () => {
    // Device B's waker: answers wake commands on B's reply topic and records them.
    const wakes: Array<{ host: string }> = [];
    const fakeB = await mqtt.connectAsync(broker.url, { clientId: 'fake-waker-b' });
    cleanup.push(async () => {
      await fakeB.endAsync(true);
    });
    fakeB.on('message', (topic, raw) => {
      const req = JSON.parse(raw.toString());
      wakes.push({ host: req.host });
      void fakeB.publishAsync(
        t.reply('nas-b'),
        JSON.stringify({
          v: PROTOCOL_VERSION,
          id: req.id,
          ok: true,
          topic,
          result: { host: req.host, via: ['udp 10.0.0.255:9'], state: 'waking' },
        }),
      );
    });
    await fakeB.subscribeAsync(t.cmd('nas-b', 'waker', 'wake'), { qos: 1 });
    const { sim, model } = await device('shackA', {
      button: {
        line: L.button,
        mode: 'mapped',
        debounceMs: 10,
        mediumMs: 300,
        longMs: 600,
        short: { tune: 'memory' },
        long: { device: 'nas-b', role: 'waker', action: 'wake', args: { host: 'nas' } },
      },
    });
    const mark = ctl.mark();
    await pressButton(sim, 800);
    await ctl.waitFor(t.event('shackA', 'tuner'), (p) => p?.type === 'button' && p?.data?.class === 'long', 3000, mark);
    await ctl.waitFor(t.cmd('nas-b', 'waker', 'wake'), (p) => p?.host === 'nas', 3000, mark);
    for (let i = 0; i < 50 && wakes.length === 0; i++) await sleep(20);
    assert.equal(wakes, [{ host: 'nas' }]);
    assert.ok(!ctl.seen(t.event('shackA', 'tuner')).some((m) => m.payload?.type === 'fault'), 'no fault: B said ok');
    // A short press runs the tune mapped on A itself.
    await pressButton(sim, 100);
    await ctl.waitFor(t.event('shackA', 'tuner'), (p) => p?.type === 'tune' && p?.data?.result?.source === 'button', 5000, mark);
    assert.is(model.lastMode, 'memory');
    assert.is(wakes.length, 1);
  });

  s.run();
}
