// `hearth grow-root` (hearth-growroot.service, every boot, quick no-op once done): grows the root
// partition to the end of the card and the ext4 filesystem with it, online. The image is 2 GiB so
// it flashes fast; the card is usually far larger.
//
// Rules: only an MBR disk whose root partition is the last one is touched; only that partition's
// size field (4 bytes) changes; nothing happens unless at least 16 MiB would be gained. The kernel
// learns the new size through `partx --update` (BLKPG, allowed on a mounted partition) and
// `resize2fs` grows the mounted filesystem. Paths are injectable, so the logic is tested on files.
import { readFile, open, realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { run } from './exec.ts';
import { parseMountinfo } from './flash.ts';
import type { Logger } from '../core/log.ts';

const SECTOR = 512;
const MIN_GAIN_SECTORS = (16 * 1024 * 1024) / SECTOR;

export interface MbrEntry {
  index: number;
  type: number;
  start: number;
  sectors: number;
}

export function readMbr(mbr: Buffer): MbrEntry[] {
  if (mbr.length < 512 || mbr[510] !== 0x55 || mbr[511] !== 0xaa) throw new Error('no MBR boot signature');
  const out: MbrEntry[] = [];
  for (let i = 0; i < 4; i++) {
    const off = 446 + i * 16;
    const type = mbr[off + 4]!;
    if (type === 0) continue;
    out.push({ index: i + 1, type, start: mbr.readUInt32LE(off + 8), sectors: mbr.readUInt32LE(off + 12) });
  }
  return out;
}

/**
 * The MBR with partition `index` grown to the end of a disk of `diskSectors`, or undefined when it
 * must not or need not grow (not the last partition, extended/GPT-protective, gain under 16 MiB).
 */
export function grownMbr(mbr: Buffer, index: number, diskSectors: number): { mbr: Buffer; from: number; to: number } | undefined {
  const entries = readMbr(mbr);
  const p = entries.find((e) => e.index === index);
  if (!p || p.type === 0xee || p.type === 0x05 || p.type === 0x0f) return undefined;
  if (entries.some((e) => e !== p && e.start >= p.start)) return undefined;
  const limit = Math.min(diskSectors, 0xffffffff);
  const to = limit - p.start;
  if (to - p.sectors < MIN_GAIN_SECTORS) return undefined;
  const out = Buffer.from(mbr);
  out.writeUInt32LE(to, 446 + (index - 1) * 16 + 12);
  return { mbr: out, from: p.sectors, to };
}

export interface GrowEnv {
  mountinfo: string;
  /** /sys/dev/block (major:minor links) and /dev. */
  sysDevBlock: string;
  dev: string;
  /** Runs partx and resize2fs; tests record instead. */
  exec(cmd: string, args: string[]): Promise<void>;
}

export const REAL_GROW_ENV: GrowEnv = {
  mountinfo: '/proc/self/mountinfo',
  sysDevBlock: '/sys/dev/block',
  dev: '/dev',
  exec: async (cmd, args) => {
    await run(cmd, args);
  },
};

export type GrowResult = { grown: false; why: string } | { grown: true; disk: string; partition: string; fromMiB: number; toMiB: number };

export async function growRoot(log: Logger, env: GrowEnv = REAL_GROW_ENV): Promise<GrowResult> {
  const root = parseMountinfo(await readFile(env.mountinfo, 'utf8')).find((m) => m.mountPoint === '/');
  if (!root) return { grown: false, why: 'no root mount in mountinfo' };
  const partDir = await realpath(join(env.sysDevBlock, root.dev)).catch(() => '');
  const partNo = Number((await readFile(join(partDir, 'partition'), 'utf8').catch(() => '')).trim());
  if (!partDir || !partNo) return { grown: false, why: `root (${root.dev}) is not a partition` };
  const disk = basename(join(partDir, '..'));
  const part = basename(partDir);
  const diskSectors = Number((await readFile(join(partDir, '..', 'size'), 'utf8')).trim());
  const fh = await open(join(env.dev, disk), 'r+');
  let change: ReturnType<typeof grownMbr>;
  try {
    const mbr = Buffer.alloc(SECTOR);
    await fh.read(mbr, 0, SECTOR, 0);
    const start = Number((await readFile(join(partDir, 'start'), 'utf8')).trim());
    const entry = readMbr(mbr).find((e) => e.index === partNo);
    if (!entry || entry.start !== start) return { grown: false, why: `the MBR of ${disk} does not describe ${part}` };
    change = grownMbr(mbr, partNo, diskSectors);
    if (!change) return { grown: false, why: `${part} already fills ${disk} (or is not its last partition)` };
    await fh.write(change.mbr, 0, SECTOR, 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
  const mib = (s: number) => Math.round((s * SECTOR) / 2 ** 20);
  log.info(`root partition ${part} grown from ${mib(change.from)} MiB to ${mib(change.to)} MiB; resizing the filesystem`);
  await env.exec('partx', ['--update', '--nr', String(partNo), join(env.dev, disk)]);
  await env.exec('resize2fs', [join(env.dev, part)]);
  return { grown: true, disk, partition: part, fromMiB: mib(change.from), toMiB: mib(change.to) };
}
