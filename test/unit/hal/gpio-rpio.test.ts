// rpio-specific rules beyond the contract: the line thread releases outputs synchronously when
// the process exits (the 'exit' hook), and it tells how it is scheduled.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RpioGpio } from '../../../device/hal/gpio.rpio.ts';

test('the exit hook releases a held output before returning (what a crash runs)', async () => {
  const g = await RpioGpio.open({ mock: 'raspi-4' });
  const o = await g.output(17, {});
  const pulse = o.pulse(5000);
  pulse.catch(() => {});
  await new Promise((r) => setTimeout(r, 30));
  assert.is(await g.mockLevel(17), 1);
  g.onExit(); // synchronous: blocks until the line thread has released every output
  assert.is(o.read(), false, 'released before the hook returned');
  await g.close();
});

test('a process that crashes mid-press runs the hook and exits promptly', () => {
  const root = new URL('../../../', import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), 'hearth-rpio-crash-'));
  const file = join(dir, 'crash.mts');
  writeFileSync(
    file,
    `
    import { RpioGpio } from '${root}device/hal/gpio.rpio.ts';
    const g = await RpioGpio.open({ mock: 'raspi-4' });
    const o = await g.output(17, {});
    o.pulse(60000);
    setTimeout(() => { process.on('exit', () => console.log('released=' + !o.read())); throw new Error('crash'); }, 50);
  `,
  );
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 20_000 });
  rmSync(dir, { recursive: true, force: true });
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stdout, /released=true/);
});

test('the line thread reports its scheduling', async () => {
  const g = await RpioGpio.open({ mock: 'raspi-4' });
  assert.match(g.sched, /^(fifo:\d+|nice:-?\d+|normal)$/);
  await g.close();
});

test.run();
