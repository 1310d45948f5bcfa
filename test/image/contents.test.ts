// The real image's contents, read from its ext4 root without booting it (debugfs, dumpe2fs): no
// build tool left, the used size and where it goes, the name and time services as first boot
// expects them. Prints the figures build_packages_left and image_used_mib.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg, cpus } from 'node:os';
import { ensureImage, repo } from './qemu.ts';
import { readPartitionTable } from '../../device/image/partitions.ts';

let fs = '';
const cat = (path: string) =>
  execFileSync('debugfs', ['-R', `cat ${path}`, fs], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
const ls = (path: string) => execFileSync('debugfs', ['-R', `ls ${path}`, fs], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const exists = (path: string) => {
  const r = spawnSync('debugfs', ['-R', `stat ${path}`, fs], { encoding: 'utf8' });
  return /^Inode:/m.test(r.stdout) && !/not found/i.test(r.stderr);
};

interface Pkg {
  name: string;
  kib: number;
  status: string;
}
function packages(): Pkg[] {
  return cat('/var/lib/dpkg/status')
    .split('\n\n')
    .filter(Boolean)
    .map((b) => ({
      name: /^Package: (.*)$/m.exec(b)?.[1] ?? '',
      kib: Number(/^Installed-Size: (\d+)$/m.exec(b)?.[1] ?? 0),
      status: /^Status: (.*)$/m.exec(b)?.[1] ?? '',
    }))
    .filter((p) => p.status.endsWith(' installed'));
}

test('no compiler, no -dev package, no perl-only build tool is left; the used size is printed with where it goes', async () => {
  const img = await ensureImage();
  fs = `${img}?offset=${(await readPartitionTable(img)).partitions[1]!.start}`;
  const re = new RegExp(
    readFileSync(join(repo, 'images/build-tools.re'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .join('|'),
  );
  const pkgs = packages();
  assert.ok(pkgs.length > 100, `${pkgs.length} packages`);
  const left = pkgs.filter((p) => re.test(p.name)).map((p) => p.name);
  console.log(`[figure] build_packages_left=${left.length}${left.length ? ` (${left.join(' ')})` : ''}`);
  assert.equal(left, [], 'build packages left in the image');
  for (const bin of [
    '/usr/bin/gcc',
    '/usr/bin/cc',
    '/usr/bin/c++',
    '/usr/bin/make',
    '/usr/bin/ld',
    '/usr/bin/as',
    '/usr/bin/dpkg-buildpackage',
  ]) {
    assert.not.ok(exists(bin), `${bin} is in the image`);
  }

  const sb = execFileSync('dumpe2fs', ['-h', fs], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const field = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(sb)?.[1] ?? 0);
  const bs = field('Block size');
  // As df counts it: blocks in use, less the filesystem's own metadata (journal, inode tables, bitmaps).
  const overhead = field('Overhead clusters');
  const journal = overhead ? 0 : (Number(/^Journal size:\s+(\d+)M/m.exec(sb)?.[1] ?? 0) * 2 ** 20) / bs;
  const usedMiB = ((field('Block count') - field('Free blocks') - overhead - journal) * bs) / 2 ** 20;
  console.log(`[figure] image_used_mib=${usedMiB.toFixed(0)} (root filesystem in use, df-style; target <= 550)`);
  const total = pkgs.reduce((a, p) => a + p.kib, 0) / 1024;
  console.log(`[image] packages: ${pkgs.length}, ${total.toFixed(0)} MiB by dpkg's Installed-Size (before path-excludes); largest:`);
  for (const p of [...pkgs].sort((a, b) => b.kib - a.kib).slice(0, 12))
    console.log(`[image]   ${(p.kib / 1024).toFixed(1).padStart(7)} MiB  ${p.name}`);
  const modules = ls('/usr/lib/modules');
  console.log(
    `[image] kernel modules: ${modules
      .split(/\s+/)
      .filter((x) => /^\d+\.\d+/.test(x))
      .join(', ')}`,
  );
  console.log(
    `[image] build machine: load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} on ${cpus().length} cores`,
  );
  assert.ok(usedMiB <= 550, `image_used_mib ${usedMiB.toFixed(0)} > 550`);
});

test('time, names, updates, ephemeral ports and the hearth command as first boot expects them', () => {
  const pkgs = new Set(packages().map((p) => p.name));
  for (const p of ['chrony', 'libnss-resolve', 'unattended-upgrades', 'systemd-resolved']) assert.ok(pkgs.has(p), `${p} installed`);
  assert.not.ok(pkgs.has('systemd-timesyncd'), 'chrony replaces systemd-timesyncd');
  assert.match(ls('/etc/systemd/system/multi-user.target.wants'), /chrony\.service/);
  assert.not.match(ls('/etc/systemd/system/multi-user.target.wants'), /chrony-wait|time-wait-sync/);
  assert.match(cat('/etc/nsswitch.conf'), /^hosts:\s+files myhostname resolve \[!UNAVAIL=return\] dns$/m);
  assert.match(cat('/etc/systemd/resolved.conf.d/hearth.conf'), /^LLMNR=no$/m);
  assert.match(cat('/etc/apt/apt.conf.d/20auto-upgrades'), /Unattended-Upgrade "1"/);
  assert.match(cat('/etc/apt/apt.conf.d/52hearth-unattended-upgrades'), /-security,label=Debian-Security/);
  assert.match(ls('/etc/systemd/system/timers.target.wants'), /apt-daily-upgrade\.timer/);
  assert.match(cat('/usr/local/bin/hearth'), /\/opt\/hearth\/dist\/hearth\.js/);
  // Ephemeral ports above the stream ports (systemd-sysctl applies it at boot).
  assert.match(cat('/usr/lib/sysctl.d/60-hearth-ports.conf'), /^net\.ipv4\.ip_local_port_range = 49152 65535$/m);
  // No ordering or dependency on time-sync.target (the unit's comment says why, naming it).
  assert.not.match(cat('/etc/systemd/system/hearth.service'), /^(After|Before|Wants|Requires|BindsTo|Requisite)=.*time-sync\.target/m);
  assert.match(cat('/etc/systemd/system/hearth.service'), /^After=network-online\.target /m);
});

test.run();
