// Whatever times a press runs at SCHED_FIFO PRESS_RT_PRIORITY where the process may ask for it
// (root or CAP_SYS_NICE, as the unit grants and CI has), read from /proc, not from the adapter's
// own report: the simulated pulse thread, the rpio line thread (in the holder) and gpioset.
// Without it an audio burst at real-time priority delays a release by many ms.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { PRESS_RT_PRIORITY } from '../../../device/hal/gpio.ts';
import { SimGpio } from '../../../device/hal/gpio.sim.ts';
import { HeldGpio } from '../../../device/hal/gpio.held.ts';
import { ChardevGpio } from '../../../device/hal/gpio.chardev.ts';
import { RealClock } from '../../../device/core/clock.ts';
import { fakeGpiod } from '../../helpers/fake-gpiod.ts';

/** May this process ask for SCHED_FIFO? (chrt on itself, set back at once.) */
function rtAllowed(): boolean {
  try {
    execFileSync('chrt', ['-f', '1', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** [policy, rt priority] of every thread of `pid` (policy 1 = SCHED_FIFO), from /proc/<pid>/task/<tid>/stat. */
function threadSched(pid: number): Array<[number, number]> {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return [Number(f[38]), Number(f[37])]; // fields 41 (policy) and 40 (rt_priority)
  });
}

function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  );
}

const fifo = (pid: number) => threadSched(pid).some(([policy, prio]) => policy === 1 && prio === PRESS_RT_PRIORITY);

test('the simulated pulse thread runs at SCHED_FIFO PRESS_RT_PRIORITY', async () => {
  if (!rtAllowed()) {
    console.log('  (real-time scheduling not permitted here: only that nothing breaks)');
  }
  const sim = new SimGpio({ clock: new RealClock(), pulseTimer: 'thread' });
  try {
    await sim.ready();
    const o = await sim.output(17, {});
    const t = await o.pulse(20);
    assert.ok(t.end - t.start >= 19.9);
    if (rtAllowed())
      assert.ok(fifo(process.pid), `a thread of this process at fifo:${PRESS_RT_PRIORITY}: ${JSON.stringify(threadSched(process.pid))}`);
  } finally {
    await sim.close();
  }
});

test('the rpio line thread in the holder runs at SCHED_FIFO PRESS_RT_PRIORITY', async () => {
  const g = await HeldGpio.open({ adapter: 'rpio', mock: 'raspi-4' });
  try {
    if (rtAllowed()) assert.ok(fifo(g.holderPid!), JSON.stringify(threadSched(g.holderPid!)));
  } finally {
    await g.close();
  }
});

test('gpioset (which times chardev presses) runs at SCHED_FIFO PRESS_RT_PRIORITY', async () => {
  const wire = fakeGpiod({ version: 2 });
  const path = process.env.PATH;
  Object.assign(process.env, wire.env);
  try {
    const g = await ChardevGpio.open();
    try {
      await g.output(17, {});
      const sets = childrenOf(process.pid).filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('gpioset'));
      assert.is(sets.length, 1);
      if (rtAllowed()) {
        const [policy, prio] = threadSched(sets[0]!)[0]!; // the main thread: the one that sleeps
        assert.equal([policy, prio], [1, PRESS_RT_PRIORITY]);
      }
    } finally {
      await g.close();
    }
  } finally {
    process.env.PATH = path;
    for (const k of ['FAKE_GPIO_DIR', 'FAKE_GPIOD_VERSION', 'FAKE_GPIO_PERSIST']) delete process.env[k];
    wire.remove();
  }
});

test.run();
