// Block devices by number, not by name: a path's device number (stat().rdev of a device node,
// stat().dev of a file on a filesystem) names exactly one kernel block device, which
// /sys/dev/block/MAJ:MIN leads to. A name can lie (a node called /dev/sdb may be the root disk's).
import { stat, readFile, realpath } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Linux dev_t → "major:minor" (glibc's encoding). */
export function devString(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

export interface SysBlockDevice {
  /** "major:minor". */
  dev: string;
  /** Kernel name (sdb, sdb1, mmcblk0p1). */
  name: string;
  /** The device's sysfs directory (resolved). */
  sysDir: string;
  /** A partition's whole disk (its kernel name), else undefined. */
  partitionOf?: string;
}

/** The sysfs view of block device `dev` ("major:minor"), or undefined when there is none. */
export async function sysBlockDevice(dev: string, sysDevBlock = '/sys/dev/block'): Promise<SysBlockDevice | undefined> {
  const sysDir = await realpath(join(sysDevBlock, dev)).catch(() => undefined);
  if (!sysDir) return undefined;
  const uevent = await readFile(join(sysDir, 'uevent'), 'utf8').catch(() => '');
  const name = /^DEVNAME=(.*)$/m.exec(uevent)?.[1] ?? basename(sysDir);
  const isPartition = (await readFile(join(sysDir, 'partition'), 'utf8').catch(() => '')).trim() !== '';
  return { dev, name, sysDir, partitionOf: isPartition ? basename(dirname(sysDir)) : undefined };
}

/** The block device holding the filesystem `path` is on, with its filesystem type (from mountinfo). */
export async function filesystemDevice(
  path: string,
  mountinfo = '/proc/self/mountinfo',
): Promise<{ dev: string; fstype: string; device?: string }> {
  const dev = devString((await stat(path, { bigint: true })).dev);
  const text = await readFile(mountinfo, 'utf8').catch(() => '');
  let fstype = '';
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f[2] !== dev) continue;
    const sep = f.indexOf('-');
    if (sep > 0) fstype = f[sep + 1] ?? '';
  }
  const b = await sysBlockDevice(dev);
  return { dev, fstype, device: b ? `/dev/${b.name}` : undefined };
}
