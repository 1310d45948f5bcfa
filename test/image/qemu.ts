// Helpers for the slow image suite (npm run test:image): build (or reuse) the real image, take
// the kernel, initramfs and DTB out of its FAT, and boot it in qemu-system-aarch64 with user-mode
// networking restricted to explicit forwards (the guest reaches nothing but the host's broker).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from '../../device/image/build.ts';
import { readPartitionTable, bootPartition, MTOOLS_ENV } from '../../device/image/partitions.ts';
import { createLogger } from '../../device/core/log.ts';

export const repo = new URL('../../', import.meta.url).pathname;
export const cacheDir = join(repo, '.cache/image');
export const testImage = join(cacheDir, 'test-hearth.img');

/**
 * What the test image is built from: every tracked file under the folders the image takes
 * (images/, device/, protocol/, the build scripts and the lock file), as they are in the working
 * tree. A test image built from another recipe is rebuilt, so a change to the base's hooks or to
 * the runtime can never be "tested" on an image that predates it.
 */
export function recipeKey(): string {
  const files = execFileSync('git', ['ls-files', '-z', '--', 'images', 'device', 'protocol', 'scripts', 'package-lock.json'], {
    cwd: repo,
    encoding: 'utf8',
  })
    .split('\0')
    .filter(Boolean)
    .sort();
  const h = createHash('sha256');
  for (const f of files) {
    h.update(`${f}\n`);
    if (existsSync(join(repo, f))) h.update(readFileSync(join(repo, f)));
  }
  h.update(process.env.HEARTH_SUITE ?? '').update(process.env.HEARTH_MIRROR ?? '');
  return h.digest('hex').slice(0, 16);
}

/** Builds the test image unless HEARTH_TEST_IMAGE names one, or one built from this very recipe is there already. */
export async function ensureImage(): Promise<string> {
  if (process.env.HEARTH_TEST_IMAGE) return process.env.HEARTH_TEST_IMAGE;
  const key = recipeKey();
  const keyFile = `${testImage}.key`;
  const fresh =
    existsSync(testImage) &&
    existsSync(keyFile) &&
    readFileSync(keyFile, 'utf8').trim() === key &&
    process.env.HEARTH_TEST_REBUILD !== '1' &&
    !process.env.HEARTH_TEST_DIST;
  if (fresh) {
    console.log(`[image] reusing ${testImage} (recipe ${key})`);
    return testImage;
  }
  rmSync(keyFile, { force: true });
  const t0 = performance.now();
  // HEARTH_TEST_DIST: a runtime bundle to use instead of building dist/ (e.g. one with extra commands).
  const distDir = process.env.HEARTH_TEST_DIST;
  const r = await buildImage({ repo, out: testImage, dac: 'hifiberry-dac', log: createLogger({ format: 'pretty' }), cacheDir, distDir });
  if (!distDir) writeFileSync(keyFile, `${key}\n`);
  console.log(
    `[image] built ${testImage} (recipe ${key}) in ${((performance.now() - t0) / 1000).toFixed(0)} s (base ${r.baseKey} ${r.baseCached ? 'cached' : 'built'}); steps: ${r.steps.map(([n, ms]) => `${n} ${(ms / 1000).toFixed(1)} s`).join(', ')}`,
  );
  return testImage;
}

/** A sparse copy of the image for one boot (the guest writes to it). */
export function scratchCopy(img: string, name: string): string {
  const dir = join(cacheDir, 'qemu');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, name);
  execFileSync('cp', ['--sparse=always', img, out]);
  return out;
}

/** Copies files out of the image's FAT into `dir`. */
export async function extractBootFiles(img: string, names: string[], dir: string): Promise<Record<string, string>> {
  const at = `${img}@@${bootPartition(await readPartitionTable(img)).start}`;
  const listing = execFileSync('mdir', ['-b', '-i', at, '::/'], { encoding: 'utf8', env: { ...process.env, ...MTOOLS_ENV } });
  const out: Record<string, string> = {};
  mkdirSync(dir, { recursive: true });
  for (const n of names) {
    const hit = listing
      .split('\n')
      .map((l) => l.replace(/^::\//, '').trim())
      .find((f) => f === n || (n.endsWith('-') && f.startsWith(n)));
    if (!hit) throw new Error(`no ${n} in the image's boot partition`);
    out[n] = join(dir, hit);
    execFileSync('mcopy', ['-o', '-i', at, `::/${hit}`, out[n]!], { env: { ...process.env, ...MTOOLS_ENV } });
  }
  return out;
}

export interface Guest {
  proc: ChildProcess;
  log: string;
  /** Serial console output so far. */
  console(): string;
  waitConsole(re: RegExp, timeoutMs: number): Promise<string>;
  stop(): Promise<void>;
}

export function bootQemu(args: string[], serialLog: string): Guest {
  const proc = spawn('qemu-system-aarch64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  proc.stdout!.on('data', () => {});
  const read = () => (existsSync(serialLog) ? readFileSync(serialLog, 'latin1') : '');
  return {
    proc,
    log: serialLog,
    console: read,
    async waitConsole(re, timeoutMs) {
      const t0 = Date.now();
      for (;;) {
        const text = read();
        const m = re.exec(text);
        if (m) return m[0];
        if (proc.exitCode !== null) throw new Error(`qemu exited (${proc.exitCode}): ${err}\n${text.slice(-3000)}`);
        if (Date.now() - t0 > timeoutMs)
          throw new Error(`timed out after ${timeoutMs} ms waiting for ${re} on the console:\n${text.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    },
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          proc.kill('SIGKILL');
          resolve();
        }, 5000);
        proc.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
    },
  };
}
