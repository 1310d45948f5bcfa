// One contract every GPIO adapter keeps (see device/hal/gpio.ts), run against the simulation,
// rpio in mock mode (the real line thread, with rpio's register map replaced by a map) in this
// process and inside the line holder (as the runtime uses it), and the chardev adapter in the
// holder driving the stand-in gpiod tools (test/helpers/fake-gpiod, the libgpiod v2 command line)
// on a file-backed wire. (v1 has no way to tell when a gpioset has set its line, so its writes
// are only eventually visible; its release guarantees are in test/faults/tuner-kill.test.ts.)
// The chardev adapter joins when a GPIO chip exists and HEARTH_GPIO_LOOPBACK="out,in" names two
// lines wired together; this machine has no GPIO chip, so it runs the other two.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { RealClock } from '../../../device/core/clock.ts';
import type { Gpio } from '../../../device/hal/gpio.ts';
import { SimGpio } from '../../../device/hal/gpio.sim.ts';
import { RpioGpio } from '../../../device/hal/gpio.rpio.ts';
import { waitUntil } from '../../helpers/wait.ts';
import { ChardevGpio } from '../../../device/hal/gpio.chardev.ts';
import { HeldGpio } from '../../../device/hal/gpio.held.ts';
import { fakeGpiod } from '../../helpers/fake-gpiod.ts';

interface Bench {
  gpio: Gpio;
  /** The far end drives an input line to a physical level. */
  drive(line: number, level: 0 | 1): Promise<void>;
  /** The physical level the far end sees on an output line. */
  level(line: number): Promise<0 | 1>;
  out: number;
  in: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ADAPTERS: Array<{ name: string; open(): Promise<Bench> }> = [
  {
    name: 'sim',
    async open() {
      const sim = new SimGpio({ clock: new RealClock() });
      return { gpio: sim, out: 17, in: 27, drive: async (l, v) => sim.device.drive(l, v), level: async (l) => sim.device.level(l) };
    },
  },
  {
    name: 'rpio-mock',
    async open() {
      const g = await RpioGpio.open({ mock: 'raspi-4' });
      return { gpio: g, out: 17, in: 27, drive: (l, v) => g.mockDrive(l, v), level: (l) => g.mockLevel(l) };
    },
  },
  {
    name: 'rpio-mock in the line holder',
    async open() {
      const g = await HeldGpio.open({ adapter: 'rpio', mock: 'raspi-4' });
      return { gpio: g, out: 17, in: 27, drive: (l, v) => g.mockDrive(l, v), level: (l) => g.mockLevel(l) };
    },
  },
  ...([2] as const).map((version) => ({
    name: `chardev in the line holder, stand-in gpiod v${version}`,
    async open(): Promise<Bench> {
      const wire = fakeGpiod({ version });
      const g = await HeldGpio.open({ adapter: 'chardev', env: wire.env });
      const close = g.close.bind(g);
      g.close = async () => {
        await close();
        wire.remove();
      };
      // The far end: an input edge reaches this process through gpiomon and the holder (ms; more
      // under load), and the wire is read once the holder says every write has reached it.
      return {
        gpio: g,
        out: 17,
        in: 27,
        drive: async (l, v) => {
          await wire.drive(l, v);
          await sleep(150);
        },
        level: async (l) => {
          await g.sync();
          return wire.level(l);
        },
      };
    },
  })),
];

const loop = process.env.HEARTH_GPIO_LOOPBACK?.split(',').map(Number);
if (existsSync('/dev/gpiochip0') && loop?.length === 2) {
  // Two wired lines: an extra output drives the input under test, the input reads the output.
  ADAPTERS.push({
    name: 'chardev',
    async open() {
      const g = await ChardevGpio.open();
      const [a, b] = loop as [number, number];
      return {
        gpio: g,
        out: a,
        in: b,
        drive: async () => {
          throw new Error('chardev loopback drives through the output under test');
        },
        level: async () => {
          throw new Error('read back through the loopback input');
        },
      };
    },
  });
}

for (const adapter of ADAPTERS.filter((a) => a.name !== 'chardev')) {
  const t = suite(`gpio contract: ${adapter.name}`);
  let b: Bench;
  t.before.each(async () => {
    b = await adapter.open();
  });
  t.after.each(async () => {
    await b.gpio.close();
  });

  t('an output opens at its initial value (inactive by default), polarity applied', async () => {
    const o = await b.gpio.output(b.out, {});
    assert.is(o.read(), false);
    assert.is(await b.level(b.out), 0);
    o.close();
    const inv = await b.gpio.output(b.out, { activeLow: true });
    assert.is(await b.level(b.out), 1, 'active-low inactive is high');
    inv.write(true);
    assert.is(inv.read(), true);
    assert.is(await b.level(b.out), 0);
  });

  t('write and read back', async () => {
    const o = await b.gpio.output(b.out, { initial: true });
    assert.is(await b.level(b.out), 1);
    o.write(false);
    assert.is(o.read(), false);
    assert.is(await b.level(b.out), 0);
    o.write(true);
    assert.is(await b.level(b.out), 1);
  });

  t('pulse holds the line active for its length and reports both edges', async () => {
    const o = await b.gpio.output(b.out, {});
    const before = b.gpio.now();
    const p = o.pulse(200);
    // Watch the wire until the line is seen active or the pulse is over: a pulse starts when the
    // adapter's timing thread or holding process has it (a spawned gpioset under load can take
    // longer than any fixed sleep), so a fixed 15 ms look failed the chardev adapter under load.
    let over = false;
    let sawActive = false;
    void p.then(
      () => (over = true),
      () => (over = true),
    );
    await waitUntil(
      'the line seen active, or the pulse over',
      async () => {
        if ((await b.level(b.out)) === 1) sawActive = true;
        return sawActive || over;
      },
      { everyMs: 5 },
    );
    assert.ok(sawActive, 'active during the pulse');
    const times = await p;
    const after = b.gpio.now();
    assert.ok(times.start >= before && times.end <= after, 'times in the adapter timebase');
    // Never short; how close to 200 ms it lands is the benchmark's business (bench/tuner.ts).
    const len = times.end - times.start;
    // libuv timers run on a millisecond-rounded loop clock, so by performance.now() a timer may
    // fire up to 1 ms early; the real adapters time presses on their own thread (bench/tuner.ts).
    assert.ok(len >= 199 && len < 200 + 200, `pulse measured ${len} ms`);
    assert.is(await b.level(b.out), 0);
    assert.is(o.read(), false);
  });

  t('a hold lasts until write(false), or until its limit without any help', async () => {
    const o = await b.gpio.output(b.out, {});
    const h = o.hold(5000);
    await sleep(100);
    assert.is(await b.level(b.out), 1);
    o.write(false);
    const t1 = await h;
    assert.ok(t1.end - t1.start < 2000, `ended after ${t1.end - t1.start} ms`);
    assert.is(await b.level(b.out), 0);
    const t2 = await o.hold(150);
    assert.ok(t2.end - t2.start >= 149, `held ${t2.end - t2.start} ms`);
    assert.is(await b.level(b.out), 0);
  });

  t('a write during a pulse ends it', async () => {
    const o = await b.gpio.output(b.out, {});
    const p = o.pulse(2000);
    await sleep(30);
    o.write(false);
    const times = await p;
    assert.ok(times.end - times.start < 1000, `ended after ${times.end - times.start} ms`);
    assert.is(await b.level(b.out), 0);
  });

  t('an input reads its level with polarity and bias, and reports edges in order with times', async () => {
    const i = await b.gpio.input(b.in, { activeLow: true, bias: 'pull-up' });
    assert.is(i.read(), false, 'pull-up, active-low: inactive when undriven');
    const edges: Array<{ active: boolean; t: number }> = [];
    i.watch((e) => edges.push({ active: e.active, t: e.t }));
    const t0 = b.gpio.now();
    await b.drive(b.in, 0);
    await sleep(20);
    assert.is(i.read(), true);
    await b.drive(b.in, 1);
    await sleep(20);
    await b.drive(b.in, 0);
    await sleep(20);
    const t1 = b.gpio.now();
    assert.equal(
      edges.map((e) => e.active),
      [true, false, true],
    );
    assert.ok(
      edges.every((e, k) => e.t >= t0 && e.t <= t1 && (k === 0 || e.t > edges[k - 1]!.t)),
      JSON.stringify(edges),
    );
    assert.ok(edges[1]!.t - edges[0]!.t >= 15, 'edge times follow the real spacing');
  });

  t('closing a line releases it; closing the GPIO releases every output and is safe twice', async () => {
    const o = await b.gpio.output(b.out, {});
    o.write(true);
    assert.is(await b.level(b.out), 1);
    o.close();
    assert.is(await b.level(b.out), 0);
    const again = await b.gpio.output(b.out, {});
    again.write(true);
    assert.is(await b.level(b.out), 1);
    await b.gpio.close();
    await b.gpio.close();
    assert.is(again.read(), false, 'driven inactive by close()');
  });

  t.run();
}
