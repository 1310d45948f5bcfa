// Image figures: `npm run bench -- image [--quick] [--json]`.
//
//   assembleTinyS   assembling an image from a tiny root (sfdisk, mkfs.vfat + mcopy, mke2fs -d): always
//   buildCachedS    `hearth image build` with the base root filesystem cached (a new runtime):
//                   only when a cached base for the current recipe exists and we are root
//   imageMiB        size of that image
//   bootToOnlineS   QEMU -M virt boot of that image until the device is online over MQTT: not with
//                   --quick, and only when qemu-system-aarch64 is installed
// The cold build (minutes, downloads every package) is not run here; docs/images.md gives the
// command and the figure. Everything is written under .cache/image/bench and removed afterwards.
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, existsSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { assembleImage } from '../device/image/assemble.ts';
import { buildImage, baseCacheKey, lockedAddonVersions } from '../device/image/build.ts';
import { imagesDir } from '../device/image/boot-config.ts';
import { memoryLogger } from '../device/core/log.ts';

const repo = new URL('../', import.meta.url).pathname;

export async function run(opts: { json: boolean; quick: boolean }): Promise<Record<string, number>> {
  const figures: Record<string, number> = {};
  const notes: string[] = [];
  const work = mkdtempSync(join(tmpdir(), 'hearth-bench-image-'));
  try {
    const root = join(work, 'root');
    const boot = join(work, 'boot');
    mkdirSync(join(root, 'boot/firmware'), { recursive: true });
    mkdirSync(join(root, 'etc'), { recursive: true });
    for (let i = 0; i < 200; i++) writeFileSync(join(root, 'etc', `f${i}`), `file ${i}\n`.repeat(50));
    mkdirSync(boot, { recursive: true });
    writeFileSync(join(boot, 'kernel.img'), Buffer.alloc(8 * 1024 * 1024, 7));
    let t0 = performance.now();
    await assembleImage({ rootDir: root, bootDir: boot, out: join(work, 'tiny.img'), log: memoryLogger(), bootMiB: 64, rootFreeMiB: 16 });
    figures.assembleTinyS = (performance.now() - t0) / 1000;

    const key = await baseCacheKey(imagesDir(), await lockedAddonVersions(repo));
    const cache = join(repo, '.cache/image');
    const cached = existsSync(join(cache, `base-${key}.tar`));
    if (process.getuid?.() !== 0) notes.push('not root: no image build');
    else if (!cached) notes.push(`no cached base (${key}); run \`sudo npm run image\` once (minutes)`);
    else {
      const img = join(cache, 'bench/bench.img');
      mkdirSync(join(cache, 'bench'), { recursive: true });
      t0 = performance.now();
      await buildImage({ repo, out: img, dac: 'hifiberry-dac', log: memoryLogger(), cacheDir: cache });
      figures.buildCachedS = (performance.now() - t0) / 1000;
      figures.imageMiB = statSync(img).size / 2 ** 20;
      if (opts.quick) notes.push('--quick: no QEMU boot');
      else if (!hasQemu()) notes.push('qemu-system-aarch64 missing: no boot');
      else figures.bootToOnlineS = await bootToOnline(img);
      rmSync(join(cache, 'bench'), { recursive: true, force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (!opts.json) {
    const targets: Record<string, string> = {
      assembleTinyS: '< 5 s',
      buildCachedS: '< 120 s',
      imageMiB: '≤ 2048',
      bootToOnlineS: '< 180 s (TCG)',
    };
    console.log('figure | value | target');
    for (const [k, v] of Object.entries(figures)) console.log(`${k} | ${v.toFixed(1)} | ${targets[k] ?? ''}`);
    for (const n of notes) console.log(`note: ${n}`);
  }
  return figures;
}

function hasQemu(): boolean {
  try {
    execFileSync('qemu-system-aarch64', ['--version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

async function bootToOnline(img: string): Promise<number> {
  const { scratchCopy, extractBootFiles, bootQemu, cacheDir } = await import('../test/image/qemu.ts');
  const { startAedes } = await import('../test/helpers/broker.ts');
  const { connectController } = await import('../test/helpers/controller.ts');
  const { provisionTarget } = await import('../device/image/provision.ts');
  const broker = await startAedes();
  const ctl = await connectController(broker.url);
  const copy = scratchCopy(img, 'bench-virt.img');
  const dir = join(cacheDir, 'qemu/bench');
  const files = await extractBootFiles(copy, ['vmlinuz-', 'initrd.img-'], dir);
  await provisionTarget(
    copy,
    { v: 2, config: { v: 2, id: 'bench-virt', mqtt: { url: 'mqtt://10.0.2.100:1883' }, roles: {} } },
    memoryLogger(),
  );
  const pipe = new URL('../test/image/tcp-pipe.mjs', import.meta.url).pathname;
  const t0 = performance.now();
  const guest = bootQemu(
    [
      '-M',
      'virt',
      '-cpu',
      'cortex-a72',
      '-smp',
      '2',
      '-m',
      '1024',
      '-nographic',
      '-monitor',
      'none',
      '-serial',
      `file:${join(dir, 'console.log')}`,
      '-kernel',
      files['vmlinuz-']!,
      '-initrd',
      files['initrd.img-']!,
      '-append',
      'root=LABEL=hearth-root rw rootwait console=ttyAMA0',
      '-drive',
      `if=none,file=${copy},format=raw,id=hd`,
      '-device',
      'virtio-blk-pci,drive=hd',
      '-netdev',
      `user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:1883-cmd:${process.execPath} ${pipe} ${broker.port}`,
      '-device',
      'virtio-net-pci,netdev=n0,romfile=',
    ],
    join(dir, 'console.log'),
  );
  try {
    await ctl.waitFor('hearth/bench-virt/status', (p) => p === 'online', 300_000);
    return (performance.now() - t0) / 1000;
  } finally {
    await guest.stop();
    await ctl.close();
    await broker.stop();
    rmSync(copy, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}
