// The GPIO threads and the line holder as shipped: bundled by esbuild with scripts/build.mjs's
// options (ESM, code splitting, the require banner), where require() becomes __require(). Before
// the worker shim, the rpio line thread and the simulated pulse thread died at their first line
// when run from dist/ (open() then hung), though every test from source passed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../../../', import.meta.url).pathname;
const cache = join(root, 'node_modules/.cache');
mkdirSync(cache, { recursive: true });
const out = mkdtempSync(join(cache, 'hearth-bundle-gpio-'));

test.before(async () => {
  await build({
    entryPoints: {
      'gpio-held': `${root}device/hal/gpio.held.ts`,
      'gpio-sim': `${root}device/hal/gpio.sim.ts`,
      'gpio-holder-child': `${root}device/hal/gpio-holder-child.ts`,
    },
    outdir: out,
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['rpio'],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'warning',
  });
});
test.after(() => rmSync(out, { recursive: true, force: true }));

test('bundled: the line holder runs rpio (mock) on its line thread and times a press', async () => {
  const { HeldGpio } = await import(join(out, 'gpio-held.js'));
  const g = await HeldGpio.open({ adapter: 'rpio', mock: 'raspi-4' });
  const o = await g.output(17, {});
  const t = await o.pulse(60);
  assert.ok(t.end - t.start >= 59.9 && t.end - t.start < 200, `pressed ${t.end - t.start} ms`);
  assert.is(await g.mockLevel(17), 0);
  await g.close();
});

test('bundled: the simulated GPIO ends a press on its thread', async () => {
  const { SimGpio } = await import(join(out, 'gpio-sim.js'));
  const { RealClock } = await import('../../../device/core/clock.ts');
  const sim = new SimGpio({ clock: new RealClock(), pulseTimer: 'thread' });
  const o = await sim.output(17, {});
  const t = await o.pulse(60);
  assert.ok(t.end - t.start >= 59.9 && t.end - t.start < 200, `pressed ${t.end - t.start} ms`);
  await sim.close();
});

test.run();
