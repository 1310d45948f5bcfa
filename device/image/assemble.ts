// Assembles an SD card image from a root directory and a boot directory without loop devices,
// mounts or root: the FAT is made with mkfs.vfat -C and filled with mcopy, the ext4 root with
// `mke2fs -d` written straight into the image at its offset, the MBR with sfdisk on the file.
// Only non-zero blocks are written, so the image stays sparse on disk.
import { open, mkdtemp, rm, readdir, stat, truncate } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { run } from './exec.ts';
import {
  sfdiskScript,
  readPartitionTable,
  FIRST_PARTITION_OFFSET,
  BOOT_LABEL,
  ROOT_LABEL,
  DEFAULT_BOOT_MIB,
  MTOOLS_ENV,
  type PartitionTable,
} from './partitions.ts';
import type { Logger } from '../core/log.ts';

const MiB = 1024 * 1024;

export interface AssembleOptions {
  /** The root filesystem; its /boot/firmware should be empty (the FAT is mounted there). */
  rootDir: string;
  /** Files of the boot partition (firmware, kernel, initramfs, DTBs, config.txt, ...). */
  bootDir: string;
  /** The image file to write (replaced). */
  out: string;
  log: Logger;
  bootMiB?: number;
  /** Free space left in the root filesystem beyond its content (default 512 MiB). */
  rootFreeMiB?: number;
  /** Round the image up to a power of two (QEMU's raspi machines need that; default true). */
  powerOfTwo?: boolean;
  /** MBR disk identifier, e.g. 0x1a2b3c4d (default random). */
  diskId?: string;
}

export interface AssembleResult {
  bytes: number;
  table: PartitionTable;
  rootContentBytes: number;
  ms: number;
}

/** Image size for a root of `rootBytes`: boot + root + free space, in whole MiB, maybe a power of two. */
export function imageSize(rootBytes: number, o: { bootMiB: number; rootFreeMiB: number; powerOfTwo: boolean }): number {
  // ext4 needs room for its own metadata (inode tables, journal): ~6% plus a fixed 64 MiB.
  const rootMiB = Math.ceil((rootBytes * 1.08) / MiB) + 64 + o.rootFreeMiB;
  const total = FIRST_PARTITION_OFFSET / MiB + o.bootMiB + rootMiB;
  return (o.powerOfTwo ? 2 ** Math.ceil(Math.log2(total)) : total) * MiB;
}

export async function assembleImage(o: AssembleOptions): Promise<AssembleResult> {
  const t0 = performance.now();
  const bootMiB = o.bootMiB ?? DEFAULT_BOOT_MIB;
  const leftovers = await readdir(join(o.rootDir, 'boot/firmware')).catch(() => []);
  if (leftovers.length)
    throw new Error(`${o.rootDir}/boot/firmware must be empty (it is the FAT's mount point); found ${leftovers.slice(0, 5).join(', ')}`);

  const rootContentBytes = Number((await run('du', ['-s', '-B1', '--apparent-size', o.rootDir])).stdout.split(/\s/)[0]);
  const bytes = imageSize(rootContentBytes, { bootMiB, rootFreeMiB: o.rootFreeMiB ?? 512, powerOfTwo: o.powerOfTwo ?? true });
  o.log.info(`image ${o.out}: ${bytes / MiB} MiB (root content ${(rootContentBytes / MiB).toFixed(0)} MiB, boot ${bootMiB} MiB)`);

  await rm(o.out, { force: true });
  await (await open(o.out, 'w')).close();
  await truncate(o.out, bytes);
  const diskId = o.diskId ?? `0x${randomBytes(4).toString('hex')}`;
  await run('sfdisk', ['--no-reread', '--no-tell-kernel', '--quiet', o.out], { input: sfdiskScript(bytes, bootMiB * MiB, diskId) });
  const table = await readPartitionTable(o.out);
  const [boot, root] = table.partitions;
  if (!boot || !root) throw new Error('sfdisk did not create both partitions');

  const work = await mkdtemp(join(tmpdir(), 'hearth-assemble-'));
  try {
    o.log.info('boot partition: mkfs.vfat + mcopy');
    const fat = join(work, 'boot.fat');
    await run('mkfs.vfat', ['-C', '-F', '32', '-n', BOOT_LABEL, '-i', diskId.slice(2), fat, String(boot.size / 1024)]);
    const entries = await readdir(o.bootDir);
    if (entries.length)
      await run('mcopy', ['-s', '-p', '-m', '-i', fat, ...entries.map((e) => join(o.bootDir, e)), '::/'], { env: MTOOLS_ENV });
    await copySparse(fat, o.out, boot.start);

    o.log.info('root partition: mke2fs -d (ext4, straight into the image)');
    await run('mke2fs', [
      '-q',
      '-F',
      '-t',
      'ext4',
      '-L',
      ROOT_LABEL,
      '-d',
      o.rootDir,
      '-E',
      `offset=${root.start}`,
      o.out,
      `${root.size / 1024}k`,
    ]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const st = await stat(o.out);
  if (st.size !== bytes) throw new Error(`image is ${st.size} bytes, expected ${bytes}`);
  return { bytes, table, rootContentBytes, ms: performance.now() - t0 };
}

/** Copies `src` into `dst` at `offset`, skipping all-zero blocks (dst is a fresh sparse file). */
export async function copySparse(src: string, dst: string, offset: number, blockBytes = 1024 * 1024): Promise<number> {
  const inp = await open(src, 'r');
  const out = await open(dst, 'r+');
  const buf = Buffer.alloc(blockBytes);
  let pos = 0;
  let written = 0;
  try {
    for (;;) {
      const { bytesRead } = await inp.read(buf, 0, blockBytes, pos);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      if (chunk.some((b) => b !== 0)) {
        await out.write(chunk, 0, bytesRead, offset + pos);
        written += bytesRead;
      }
      pos += bytesRead;
    }
  } finally {
    await inp.close();
    await out.close();
  }
  return written;
}
