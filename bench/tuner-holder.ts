// What the GPIO line holder costs in memory, as it ships: dist/gpio-holder-child.js (built here
// with scripts/build.mjs's options) forked with the flags gpio.held.ts gives it, holding START and
// KEY and having made a few presses, read from /proc: VmRSS (what `ps` shows; includes the node
// binary's pages, shared with the runtime's own node process) and the private pages
// (Private_Clean + Private_Dirty in smaps_rollup: what one more holder really adds).
// rpio in mock mode; chardev through the stand-in gpiod tools (their own processes are not
// counted: the real tools are small C programs).
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { LEAN_CHILD_FLAGS } from '../device/hal/child-entry.ts';
import type { HolderReply, HolderRequest } from '../device/hal/gpio-holder-child.ts';
import { fakeGpiod } from '../test/helpers/fake-gpiod.ts';

const root = new URL('..', import.meta.url).pathname;

export interface HolderMemory {
  rssMb: number;
  privateMb: number;
}

function smapsMb(pid: number): { rssMb: number; privateMb: number } {
  const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t)?.[1] ?? NaN);
  return { rssMb: (kb('Rss') * 1024) / 1e6, privateMb: ((kb('Private_Clean') + kb('Private_Dirty')) * 1024) / 1e6 };
}

export async function holderMemory(adapter: 'rpio' | 'chardev'): Promise<HolderMemory> {
  const cache = join(root, 'node_modules/.cache');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, 'hearth-holder-'));
  const wire = adapter === 'chardev' ? fakeGpiod({ version: 2 }) : undefined;
  try {
    await build({
      entryPoints: { 'gpio-holder-child': join(root, 'device/hal/gpio-holder-child.ts') },
      outdir: dir,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      splitting: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: ['speaker', 'alsa-capture', 'rpio', 'cap'],
      logLevel: 'error',
      banner: {
        js: "import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);",
      },
    });
    // The flags gpio.held.ts forks the holder with.
    const flags = LEAN_CHILD_FLAGS.filter((f) => f !== '--single-threaded' && f !== '--jitless');
    const child = fork(
      join(dir, 'gpio-holder-child.mjs'),
      [JSON.stringify(adapter === 'rpio' ? { adapter, mock: 'raspi-4' } : { adapter })],
      {
        execArgv: flags,
        env: { ...process.env, ...(wire?.env ?? {}) },
        serialization: 'json',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    const waiters = new Map<number, (m: HolderReply) => void>();
    let ready!: () => void;
    const up = new Promise<void>((r) => {
      ready = r;
    });
    child.on('message', (m: HolderReply) => {
      if (m.op === 'ready') ready();
      else if (m.op === 'done') waiters.get(m.id)?.(m);
    });
    let id = 1;
    const ask = (m: Record<string, unknown>) =>
      new Promise<HolderReply>((resolve) => {
        const i = id++;
        waiters.set(i, resolve);
        child.send({ ...m, id: i } as HolderRequest);
      });
    await up;
    await ask({ op: 'output', line: 17, activeLow: false, initial: false, label: 'start' });
    await ask({ op: 'input', line: 27, activeLow: false, bias: 'as-is', label: 'key' });
    for (let i = 0; i < 20; i++) await ask({ op: 'pulse', line: 17, ms: 50 });
    await new Promise((r) => setTimeout(r, 500));
    const m = smapsMb(child.pid!);
    await ask({ op: 'closeAll' });
    await new Promise((r) => {
      if (child.exitCode !== null) r(null);
      else child.once('exit', r);
    });
    return m;
  } finally {
    wire?.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}
