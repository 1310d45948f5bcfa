// Partition layout of hearth images, and reading it back from an image file or a disk with
// `sfdisk --json` (works on a plain file, without root and without a loop device).
//
// Layout (MBR, because the Pi 3's boot ROM reads no GPT):
//   1  FAT32 (type 0x0c, bootable), label HEARTHBOOT, 256 MiB from 4 MiB: firmware, kernel,
//      initramfs, DTBs, config.txt, cmdline.txt, hearth.json
//   2  ext4 (type 0x83), label hearth-root: the root filesystem, to the end of the image
import { run } from './exec.ts';

export const SECTOR = 512;
export const FIRST_PARTITION_OFFSET = 4 * 1024 * 1024;
export const BOOT_LABEL = 'HEARTHBOOT';
export const ROOT_LABEL = 'hearth-root';
export const DEFAULT_BOOT_MIB = 256;

export interface Partition {
  index: number;
  /** Offset and size in bytes. */
  start: number;
  size: number;
  /** MBR type as sfdisk prints it ("c", "83", ...). */
  type: string;
  bootable: boolean;
}

export interface PartitionTable {
  label: string;
  id: string;
  sectorSize: number;
  partitions: Partition[];
}

/** sfdisk input for the hearth layout on an image of `totalBytes`. */
export function sfdiskScript(totalBytes: number, bootBytes: number, diskId: string): string {
  const start = FIRST_PARTITION_OFFSET / SECTOR;
  const bootSectors = bootBytes / SECTOR;
  const rootStart = start + bootSectors;
  const rootSectors = totalBytes / SECTOR - rootStart;
  if (rootSectors <= 0) throw new Error(`an image of ${totalBytes} bytes has no room for the root partition`);
  return [
    'label: dos',
    `label-id: ${diskId}`,
    'unit: sectors',
    '',
    `start=${start}, size=${bootSectors}, type=c, bootable`,
    `start=${rootStart}, size=${rootSectors}, type=83`,
    '',
  ].join('\n');
}

interface SfdiskJson {
  partitiontable: {
    label: string;
    id: string;
    sectorsize?: number;
    partitions?: Array<{ node: string; start: number; size: number; type: string; bootable?: boolean }>;
  };
}

export function parseSfdiskJson(text: string): PartitionTable {
  const pt = (JSON.parse(text) as SfdiskJson).partitiontable;
  const sectorSize = pt.sectorsize ?? SECTOR;
  return {
    label: pt.label,
    id: pt.id,
    sectorSize,
    partitions: (pt.partitions ?? []).map((p) => ({
      index: Number(/(\d+)$/.exec(p.node)?.[1] ?? 0),
      start: p.start * sectorSize,
      size: p.size * sectorSize,
      type: p.type,
      bootable: !!p.bootable,
    })),
  };
}

export async function readPartitionTable(file: string): Promise<PartitionTable> {
  let out: string;
  try {
    out = (await run('sfdisk', ['--json', file])).stdout;
  } catch (e) {
    throw new Error(`${file} has no readable partition table (is it a hearth image?): ${(e as Error).message}`);
  }
  return parseSfdiskJson(out);
}

const FAT_TYPES = new Set(['b', 'c', 'e', '6', 'ef']);

/** The boot (FAT) partition: the first FAT-typed partition. */
export function bootPartition(t: PartitionTable): Partition {
  const p = t.partitions.find((x) => FAT_TYPES.has(x.type.toLowerCase()));
  if (!p) throw new Error('the image has no FAT boot partition');
  return p;
}

/** mtools addresses a FAT inside a file as FILE@@OFFSET. */
export function mtoolsTarget(file: string, p: Partition): string {
  return `${file}@@${p.start}`;
}

/** Environment for mtools: no geometry checks (images are not floppies) and no user config. */
export const MTOOLS_ENV = { MTOOLS_SKIP_CHECK: '1', MTOOLSRC: '/dev/null' };
