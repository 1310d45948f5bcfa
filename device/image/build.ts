// `hearth image build` (also `npm run image`): Debian 13 arm64 image for Raspberry Pi 3/4.
//
// Steps, each timed and reported:
//   1. runtime   node scripts/build.mjs → dist/hearth.js (+ dist/console)
//   2. base      cached root filesystem tar, keyed by everything that goes into it (package lists,
//                hook scripts, native addon versions); built by images/base/mkbase.sh (mmdebstrap,
//                arm64 through qemu-user) only when the key changes: minutes cold, skipped warm
//   3. root      base tar unpacked, then the hearth layer: /opt/hearth (bundle + addons from the
//                base, their node_modules pruned to what runs), images/rootfs, overlays compiled with dtc, the DAC choice, enabled units
//   4. boot      /boot/firmware moved out to become the FAT: config.txt/cmdline.txt from the
//                templates (checked against what raspi-firmware generated), DTBs patched with the
//                DAC overlay, optional hearth.json
//   5. image     assembleImage(): MBR + FAT + ext4 in one sparse file, no loop device, no mount
// Needs root (mmdebstrap --mode=root, and file owners in the root tree).
import { readFile, writeFile, mkdir, rm, readdir, rename, cp, symlink, stat, chmod, access } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join, dirname } from 'node:path';
import { run, have } from './exec.ts';
import { assembleImage } from './assemble.ts';
import {
  DAC_PROFILES,
  hearthDacDefault,
  raspiFirmwareCustom,
  modprobeConf,
  asoundConf,
  renderConfigTxt,
  renderCmdline,
  sameBootText,
  kernelFiles,
  imagesDir,
  readTemplate,
  type Dac,
} from './boot-config.ts';
import { PROVISIONING_FILE } from '../../protocol/provisioning.ts';
import type { Logger } from '../core/log.ts';
import { autoUpgradesConf, unattendedConf, AUTO_UPGRADES_CONF, UNATTENDED_CONF } from './system-config.ts';
import { pruneToRuntime } from './runtime-modules.ts';

import { NATIVE_ADDONS } from './native-addons.ts';

export { NATIVE_ADDONS };

/** Units enabled in the image: [wanted-by target, unit file path in the root]. */
export const ENABLED_UNITS: ReadonlyArray<[string, string]> = [
  ['multi-user.target', '/etc/systemd/system/hearth.service'],
  ['multi-user.target', '/etc/systemd/system/hearth-firstboot.service'],
  ['multi-user.target', '/etc/systemd/system/hearth-growroot.service'],
  ['multi-user.target', '/usr/lib/systemd/system/systemd-networkd.service'],
  ['sockets.target', '/usr/lib/systemd/system/systemd-networkd.socket'],
  ['network-online.target', '/usr/lib/systemd/system/systemd-networkd-wait-online.service'],
  ['sysinit.target', '/usr/lib/systemd/system/systemd-resolved.service'],
  ['multi-user.target', '/usr/lib/systemd/system/chrony.service'],
  ['multi-user.target', '/usr/lib/systemd/system/ssh.service'],
];

export interface BuildOptions {
  /** Checkout root (package.json, dist/, scripts/build.mjs). */
  repo: string;
  out: string;
  dac: Dac;
  log: Logger;
  cacheDir?: string;
  /** A provisioning file to put on the boot partition (validated). */
  provisioning?: Record<string, unknown>;
  /** Skip `node scripts/build.mjs` (use the dist/ that is there). */
  noRuntimeBuild?: boolean;
  /** Take the runtime bundle from this folder instead of <repo>/dist (implies noRuntimeBuild). */
  distDir?: string;
  /** Rebuild the base even if it is cached. */
  rebuildBase?: boolean;
  powerOfTwo?: boolean;
}

export interface BuildResult {
  image: string;
  bytes: number;
  baseCached: boolean;
  baseKey: string;
  kernel: string;
  /** Milliseconds per step, in order. */
  steps: Array<[string, number]>;
}

export async function buildImage(o: BuildOptions): Promise<BuildResult> {
  const images = imagesDir();
  const cache = o.cacheDir ?? join(o.repo, '.cache/image');
  const steps: Array<[string, number]> = [];
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    o.log.info(`▶ ${name}`);
    const r = await fn();
    const ms = performance.now() - t0;
    steps.push([name, ms]);
    o.log.info(`✔ ${name} (${(ms / 1000).toFixed(1)} s)`);
    return r;
  };
  const profile = DAC_PROFILES[o.dac];
  await preflight();
  await mkdir(cache, { recursive: true });

  await step('runtime bundle (scripts/build.mjs)', async () => {
    if (!o.noRuntimeBuild && !o.distDir) await run(process.execPath, [join(o.repo, 'scripts/build.mjs')], { cwd: o.repo });
    const dist = o.distDir ?? join(o.repo, 'dist');
    await access(join(dist, 'hearth.js')).catch(() => {
      throw new Error(`${dist}/hearth.js is missing; run node scripts/build.mjs`);
    });
  });

  const addonVersions = await lockedAddonVersions(o.repo);
  const baseKey = await baseCacheKey(images, addonVersions);
  const baseTar = join(cache, `base-${baseKey}.tar`);
  const baseCached = !o.rebuildBase && (await exists(baseTar));
  await step(
    baseCached ? `base root filesystem (cached ${baseTar})` : 'base root filesystem (mmdebstrap, arm64 under qemu-user: minutes)',
    async () => {
      if (baseCached) return;
      const addons = join(cache, `addons-${baseKey}`);
      await rm(addons, { recursive: true, force: true });
      await mkdir(addons, { recursive: true });
      await writeFile(
        join(addons, 'package.json'),
        JSON.stringify({ name: 'hearth-addons', private: true, dependencies: addonVersions }, null, 2),
      );
      o.log.info("fetching the native addons' sources (npm, no install scripts)");
      await run('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: addons });
      // speaker 0.5.5 leaks native memory on every write; fix its source before arm64 compiles it.
      await run(process.execPath, [join(images, '../scripts/patch-speaker.mjs'), join(addons, 'node_modules/speaker'), '--no-rebuild']);
      const npmDir = await hostNpmDir();
      await withHeartbeat(o.log, 'base', () =>
        run('bash', [join(images, 'base/mkbase.sh'), baseTar, addons, npmDir], {
          onLine: (l) => {
            if (/^(I:|E:|W:|\[hearth\])/.test(l)) o.log.info(l);
          },
        }),
      );
      await rm(addons, { recursive: true, force: true });
    },
  );

  const work = join(cache, 'work');
  const root = join(work, 'root');
  const boot = join(work, 'boot');
  await step('unpack base', async () => {
    await rm(work, { recursive: true, force: true });
    await mkdir(root, { recursive: true });
    await run('tar', ['-xf', baseTar, '-C', root, '--numeric-owner']);
  });

  let kernel = '';
  await step(`hearth layer (runtime, units, DAC ${o.dac})`, async () => {
    await layerRoot({ root, repo: o.repo, images, dac: o.dac, addonVersions, dist: o.distDir });
    if (profile.codecCompatible) await checkDacDrivers(root, o.dac);
  });

  await step('boot partition files', async () => {
    await mkdir(boot, { recursive: true });
    const fw = join(root, 'boot/firmware');
    for (const e of await readdir(fw)) await rename(join(fw, e), join(boot, e));
    const k = kernelFiles(await readdir(boot));
    kernel = k.kernel.replace(/^vmlinuz-/, '');
    // raspi-firmware generated these inside the image; ours must match, or a kernel upgrade on
    // the device would rewrite the boot setup into something the image was not tested with.
    const debConfig = await readFile(join(boot, 'config.txt'), 'utf8').catch(() => '');
    const debCmdline = await readFile(join(boot, 'cmdline.txt'), 'utf8').catch(() => '');
    const ourConfig = renderConfigTxt(readTemplate('config.txt', images), k, 'none');
    const ourCmdline = renderCmdline(readTemplate('cmdline.txt', images));
    if (!sameBootText(debConfig, ourConfig))
      throw new Error(
        `images/boot/config.txt no longer matches what raspi-firmware generates:\n--- raspi-firmware\n${debConfig}\n--- template\n${ourConfig}`,
      );
    if (!sameBootText(debCmdline, ourCmdline))
      throw new Error(
        `images/boot/cmdline.txt no longer matches what raspi-firmware generates:\n--- raspi-firmware\n${debCmdline}--- template\n${ourCmdline}`,
      );
    await writeBootFiles({ boot, root, images, dac: o.dac, kernel: k });
    if (o.provisioning) await writeFile(join(boot, PROVISIONING_FILE), JSON.stringify(o.provisioning, null, 2) + '\n');
  });

  const result = await step('assemble image (sfdisk, mkfs.vfat + mcopy, mke2fs -d)', () =>
    assembleImage({ rootDir: root, bootDir: boot, out: o.out, log: o.log, powerOfTwo: o.powerOfTwo ?? true }),
  );
  await rm(work, { recursive: true, force: true });
  return { image: o.out, bytes: result.bytes, baseCached, baseKey, kernel, steps };
}

/** Adds the hearth layer to an unpacked base root (also used by the tests on a tiny root). */
export async function layerRoot(o: {
  root: string;
  repo: string;
  images: string;
  dac: Dac;
  addonVersions?: Record<string, string>;
  dist?: string;
}): Promise<void> {
  const { root } = o;
  await cp(join(o.images, 'rootfs'), root, { recursive: true, preserveTimestamps: true });
  const opt = join(root, 'opt/hearth');
  await rm(join(opt, 'dist'), { recursive: true, force: true });
  await mkdir(opt, { recursive: true });
  await cp(o.dist ?? join(o.repo, 'dist'), join(opt, 'dist'), { recursive: true });
  const pkg = JSON.parse(await readFile(join(o.repo, 'package.json'), 'utf8')) as { version: string };
  await writeFile(
    join(opt, 'package.json'),
    JSON.stringify({ name: 'hearth', version: pkg.version, private: true, type: 'module', dependencies: o.addonVersions ?? {} }, null, 2) +
      '\n',
  );
  // The addons' node_modules (from the base) less what only built them (node-gyp and its tree).
  if (await exists(join(opt, 'node_modules'))) {
    await pruneToRuntime(join(opt, 'node_modules'), NATIVE_ADDONS);
    await rm(join(opt, 'package-lock.json'), { force: true });
  }
  if (await exists(join(o.repo, 'docs/images.md'))) await cp(join(o.repo, 'docs/images.md'), join(opt, 'README.md'));

  const overlays = join(root, 'usr/lib/hearth/overlays');
  await mkdir(overlays, { recursive: true });
  for (const f of (await readdir(join(o.images, 'overlays'))).filter((n) => n.endsWith('.dts'))) {
    await run('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-o', join(overlays, f.replace(/\.dts$/, '.dtbo')), join(o.images, 'overlays', f)]);
  }

  await writeFile(join(root, 'etc/default/hearth-dac'), hearthDacDefault(o.dac));
  const custom = raspiFirmwareCustom(o.dac);
  const customFile = join(root, 'etc/default/raspi-firmware-custom');
  if (custom !== undefined) await writeFile(customFile, custom);
  else await rm(customFile, { force: true });
  const asound = asoundConf(o.dac);
  if (asound !== undefined) await writeFile(join(root, 'etc/asound.conf'), asound);
  else await rm(join(root, 'etc/asound.conf'), { force: true });
  const modprobe = modprobeConf(o.dac);
  const modprobeFile = join(root, 'etc/modprobe.d/hearth-dac.conf');
  await mkdir(dirname(modprobeFile), { recursive: true });
  if (modprobe !== undefined) await writeFile(modprobeFile, modprobe);
  else await rm(modprobeFile, { force: true });

  for (const x of ['usr/lib/hearth/dac-overlay.sh', 'etc/kernel/postinst.d/z60-hearth-dac', 'usr/local/bin/hearth'])
    await chmod(join(root, x), 0o755);
  // Security updates on by default (first boot rewrites these from hearth.json's "updates").
  await mkdir(join(root, 'etc/apt/apt.conf.d'), { recursive: true });
  await writeFile(join(root, AUTO_UPGRADES_CONF), autoUpgradesConf(undefined));
  await writeFile(join(root, UNATTENDED_CONF), unattendedConf(undefined));
  // Host names through systemd-resolved (mDNS for .local) first; a name it does not know is final.
  const nss = join(root, 'etc/nsswitch.conf');
  const nssText = await readFile(nss, 'utf8').catch(() => '');
  if (nssText) await writeFile(nss, nsswitchHosts(nssText));
  await enableUnits(root);
}

/** nsswitch.conf with the hosts line resolved's way: files, resolve (final when resolved runs), dns. */
export function nsswitchHosts(text: string): string {
  const line = 'hosts:          files myhostname resolve [!UNAVAIL=return] dns';
  return /^hosts:.*$/m.test(text) ? text.replace(/^hosts:.*$/m, line) : `${text.trimEnd()}\n${line}\n`;
}

/** `systemctl enable` without systemctl: the [Install] symlinks, for units present in the root. */
export async function enableUnits(root: string, units = ENABLED_UNITS): Promise<string[]> {
  const done: string[] = [];
  for (const [target, unit] of units) {
    if (!(await exists(join(root, unit)))) continue;
    const dir = join(root, 'etc/systemd/system', `${target}.wants`);
    await mkdir(dir, { recursive: true });
    const link = join(dir, unit.split('/').pop()!);
    await rm(link, { force: true });
    await symlink(unit, link);
    done.push(unit);
  }
  return done;
}

/** config.txt and cmdline.txt from the templates, and the DTBs patched for the DAC. */
export async function writeBootFiles(o: {
  boot: string;
  root: string;
  images: string;
  dac: Dac;
  kernel: { kernel: string; initrd: string };
}): Promise<void> {
  await writeFile(join(o.boot, 'config.txt'), renderConfigTxt(readTemplate('config.txt', o.images), o.kernel, o.dac));
  await writeFile(join(o.boot, 'cmdline.txt'), renderCmdline(readTemplate('cmdline.txt', o.images)));
  await run('sh', [join(o.images, 'rootfs/usr/lib/hearth/dac-overlay.sh'), o.boot, o.dac, join(o.root, 'usr/lib/hearth/overlays')]);
}

/** The kernel in the root must build the DAC's codec and card drivers, or the card never appears. */
export async function checkDacDrivers(root: string, dac: Dac): Promise<void> {
  const p = DAC_PROFILES[dac];
  const kdirs = await readdir(join(root, 'usr/lib/modules')).catch(() => [] as string[]);
  if (kdirs.length === 0) throw new Error(`no kernel modules in ${root}/usr/lib/modules`);
  for (const k of kdirs) {
    const aliases = await readFile(join(root, 'usr/lib/modules', k, 'modules.alias'), 'utf8');
    const deps = await readFile(join(root, 'usr/lib/modules', k, 'modules.dep'), 'utf8');
    if (!aliases.split('\n').some((l) => l.includes(`C${p.codecCompatible}C`) || l.includes(`C${p.codecCompatible}*`))) {
      throw new Error(`kernel ${k} has no driver for "${p.codecCompatible}" (${p.codecModule}); the ${p.title} cannot work with it`);
    }
    for (const m of [p.codecModule!, ...(p.modules ?? [])]) {
      if (!deps.includes(`/${m}.ko`)) throw new Error(`kernel ${k} lacks module ${m}, needed by the ${p.title}`);
    }
  }
}

/** Exact versions of the native addons from package-lock.json. */
export async function lockedAddonVersions(repo: string): Promise<Record<string, string>> {
  const lock = JSON.parse(await readFile(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
  const out: Record<string, string> = {};
  for (const p of NATIVE_ADDONS) {
    const v = lock.packages[`node_modules/${p}`]?.version;
    if (!v) throw new Error(`package-lock.json has no ${p}`);
    out[p] = v;
  }
  return out;
}

/** Cache key of the base: everything mkbase.sh reads. */
export async function baseCacheKey(images: string, addons: Record<string, string>): Promise<string> {
  const h = createHash('sha256');
  for (const f of [
    'packages.txt',
    'build-packages.txt',
    'build-tools.re',
    'dpkg-excludes',
    'initramfs-modules',
    'base/mkbase.sh',
    'base/essential-hook.sh',
    'base/customize-hook.sh',
    'base/cross-addons.sh',
    '../scripts/patch-speaker.mjs',
  ]) {
    h.update(`${f}\n`).update(await readFile(join(images, f)));
  }
  h.update(JSON.stringify(addons))
    .update(process.env.HEARTH_SUITE ?? 'trixie')
    .update(process.env.HEARTH_MIRROR ?? '');
  return h.digest('hex').slice(0, 16);
}

async function hostNpmDir(): Promise<string> {
  const { stdout } = await run('npm', ['root', '-g']);
  const dir = join(stdout.trim(), 'npm');
  if (!(await exists(join(dir, 'node_modules/node-gyp/bin/node-gyp.js')))) throw new Error(`no node-gyp in the host's npm (${dir})`);
  return dir;
}

async function preflight(): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new Error("hearth image build needs root (mmdebstrap --mode=root and the owners of the root filesystem's files)");
  // aarch64-linux-gnu-g++: the native addons are cross-compiled here (images/base/cross-addons.sh).
  const tools = [
    'mmdebstrap',
    'tar',
    'sfdisk',
    'mkfs.vfat',
    'mcopy',
    'mke2fs',
    'dtc',
    'fdtoverlay',
    'fdtget',
    'npm',
    'aarch64-linux-gnu-g++',
    'make',
  ];
  const missing: string[] = [];
  for (const t of tools) if (!(await have(t))) missing.push(t);
  if (missing.length) {
    throw new Error(`missing tools: ${missing.join(', ')}\n  scripts/setup.sh image installs them`);
  }
  const binfmt = await readFile('/proc/sys/fs/binfmt_misc/qemu-aarch64', 'utf8').catch(() => '');
  if (!binfmt.startsWith('enabled')) {
    await run('update-binfmts', ['--enable', 'qemu-aarch64']).catch((e) => {
      throw new Error(
        `arm64 programs cannot run here (binfmt qemu-aarch64): ${(e as Error).message}\n  apt-get install qemu-user-static binfmt-support`,
      );
    });
  }
}

async function withHeartbeat<T>(log: Logger, what: string, fn: () => Promise<T>, everyMs = 30_000): Promise<T> {
  const t0 = performance.now();
  const timer = setInterval(() => log.info(`… ${what} still running (${Math.round((performance.now() - t0) / 1000)} s)`), everyMs);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
