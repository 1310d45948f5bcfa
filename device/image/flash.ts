// `hearth flash IMAGE DEVICE`: the target check, the write and the read-back verify.
//
// Refusal rules (a wrong disk is the one mistake that cannot be undone):
// - never a disk that holds the running system's root filesystem (also through device-mapper
//   or md, via /sys/block/<dm>/slaves), and never a disk with a mounted or swapped-on partition:
//   --force does not change these;
// - never a partition (sdb1): the image carries its own partition table;
// - never a disk smaller than the image;
// - not a non-removable disk unless --force (SD readers and USB sticks report removable=1).
// The target is identified by its device number (stat().rdev → /sys/dev/block/MAJ:MIN), never by
// its name: a node called /dev/sdb may well be the root disk's, and must get the root disk's checks.
// Everything is read from a sysfs tree and a mountinfo file given by path, so the rules are tested
// against fake /sys/block and /sys/dev/block trees.
import { readFile, readdir, open, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import { run } from './exec.ts';
import { devString, sysBlockDevice } from './block-dev.ts';

/** What a path is: missing, a block device (with its "major:minor"), or something else. */
export type NodeKind = { kind: 'missing' } | { kind: 'block'; rdev: string } | { kind: 'other'; what: string };

export async function statNode(path: string): Promise<NodeKind> {
  const st = await stat(path, { bigint: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined;
    throw e;
  });
  if (!st) return { kind: 'missing' };
  if (st.isBlockDevice()) return { kind: 'block', rdev: devString(st.rdev) };
  return {
    kind: 'other',
    what: st.isFile()
      ? 'a regular file'
      : st.isDirectory()
        ? 'a directory'
        : st.isCharacterDevice()
          ? 'a character device'
          : 'not a device',
  };
}

export interface FlashEnv {
  /** Default /sys/block. */
  sysBlock: string;
  /** Default /sys/dev/block (MAJ:MIN links to each block device's sysfs directory). */
  sysDevBlock: string;
  /** Default statNode (fs.stat). */
  statNode: (path: string) => Promise<NodeKind>;
  /** Default /proc/self/mountinfo. */
  mountinfo: string;
  /** Default /proc/swaps. */
  swaps: string;
}

export const REAL_FLASH_ENV: FlashEnv = {
  sysBlock: '/sys/block',
  sysDevBlock: '/sys/dev/block',
  statNode,
  mountinfo: '/proc/self/mountinfo',
  swaps: '/proc/swaps',
};

export interface BlockTarget {
  device: string;
  /** Kernel name (sdb, mmcblk0), from the device number. */
  name: string;
  /** "major:minor" of the node (when it is a block device). */
  dev?: string;
  exists: boolean;
  /** Why it is not a disk that can be checked: the path is missing, is no block device, ... */
  notADisk?: string;
  isPartition: boolean;
  /** A partition's whole disk. */
  diskOf?: string;
  model: string;
  sizeBytes: number;
  removable: boolean;
  /** Mount points on this disk or its partitions (from mountinfo), and swap devices. */
  mountedAt: string[];
  holdsRoot: boolean;
}

const readTrim = (p: string) =>
  readFile(p, 'utf8').then(
    (s) => s.trim(),
    () => '',
  );

/** Major:minor of the disk and each of its partitions, plus the kernel names. */
async function devNumbers(sysBlock: string, name: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const own = await readTrim(join(sysBlock, name, 'dev'));
  if (own) out.set(own, name);
  for (const e of await readdir(join(sysBlock, name)).catch(() => [] as string[])) {
    if (!e.startsWith(name)) continue;
    const dev = await readTrim(join(sysBlock, name, e, 'dev'));
    if (dev && (await readTrim(join(sysBlock, name, e, 'partition')))) out.set(dev, e);
  }
  return out;
}

/** The disks (kernel names) a block device with major:minor `dev` lives on, through dm/md slaves. */
async function disksOf(sysBlock: string, dev: string, depth = 0): Promise<string[]> {
  if (depth > 4) return [];
  const disks = await readdir(sysBlock).catch(() => [] as string[]);
  const found: string[] = [];
  for (const d of disks) {
    const nums = await devNumbers(sysBlock, d);
    if (!nums.has(dev)) continue;
    const slaves = await readdir(join(sysBlock, d, 'slaves')).catch(() => [] as string[]);
    if (slaves.length === 0) {
      found.push(d);
      continue;
    }
    for (const s of slaves) {
      const sdev = (await readTrim(join(sysBlock, d, 'slaves', s, 'dev'))) || (await findDev(sysBlock, s));
      if (sdev) found.push(...(await disksOf(sysBlock, sdev, depth + 1)));
    }
  }
  return [...new Set(found)];
}

async function findDev(sysBlock: string, name: string): Promise<string> {
  for (const d of await readdir(sysBlock).catch(() => [] as string[])) {
    if (d === name) return readTrim(join(sysBlock, d, 'dev'));
    const p = await readTrim(join(sysBlock, d, name, 'dev'));
    if (p) return p;
  }
  return '';
}

interface MountEntry {
  dev: string;
  mountPoint: string;
}

export function parseMountinfo(text: string): MountEntry[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.split(' ');
      return { dev: f[2] ?? '', mountPoint: (f[4] ?? '').replace(/\\040/g, ' ') };
    });
}

export async function inspectTarget(device: string, env: FlashEnv = REAL_FLASH_ENV): Promise<BlockTarget> {
  const base: BlockTarget = {
    device,
    name: basename(device),
    exists: false,
    isPartition: false,
    model: '',
    sizeBytes: 0,
    removable: false,
    mountedAt: [],
    holdsRoot: false,
  };
  const node = await env.statNode(device);
  if (node.kind === 'missing') return { ...base, notADisk: `${device} does not exist` };
  if (node.kind === 'other') return { ...base, notADisk: `${device} is not a block device (${node.what})` };
  const sys = await sysBlockDevice(node.rdev, env.sysDevBlock);
  if (!sys)
    return {
      ...base,
      dev: node.rdev,
      notADisk: `${device} is block device ${node.rdev}, which the kernel does not list (${env.sysDevBlock}/${node.rdev})`,
    };
  if (sys.partitionOf) return { ...base, dev: node.rdev, name: sys.name, isPartition: true, diskOf: sys.partitionOf };
  const name = sys.name;
  const sysDir = sys.sysDir;
  const vendor = await readTrim(join(sysDir, 'device/vendor'));
  const model = (await readTrim(join(sysDir, 'device/model'))) || (await readTrim(join(sysDir, 'device/name')));
  const t: BlockTarget = {
    ...base,
    name,
    dev: node.rdev,
    exists: true,
    model: [vendor, model].filter(Boolean).join(' ') || 'unknown model',
    sizeBytes: Number(await readTrim(join(sysDir, 'size'))) * 512,
    removable: (await readTrim(join(sysDir, 'removable'))) === '1',
  };
  const nums = await devNumbers(env.sysBlock, name);
  const mounts = parseMountinfo(await readFile(env.mountinfo, 'utf8').catch(() => ''));
  for (const m of mounts) {
    const onThis = nums.has(m.dev) || (await disksOf(env.sysBlock, m.dev)).includes(name);
    if (!onThis) continue;
    t.mountedAt.push(m.mountPoint);
    if (m.mountPoint === '/') t.holdsRoot = true;
  }
  const swaps = (await readFile(env.swaps, 'utf8').catch(() => ''))
    .split('\n')
    .slice(1)
    .map((l) => l.split(/\s+/)[0])
    .filter((s): s is string => Boolean(s));
  const names = new Set(nums.values());
  for (const s of swaps) if (names.has(basename(s))) t.mountedAt.push(`swap (${s})`);
  return t;
}

export interface Refusal {
  reason: string;
  /** --force overrides it */ forceable: boolean;
}

/** Why `t` must not be written with an image of `imageBytes`, each with whether --force overrides it. */
export function refusalList(t: BlockTarget, imageBytes: number, force: boolean): Refusal[] {
  if (t.isPartition)
    return [{ reason: `${t.device} is partition ${t.name} of disk ${t.diskOf}; give the whole disk (/dev/${t.diskOf})`, forceable: false }];
  if (!t.exists) return [{ reason: t.notADisk ?? `${t.device} is not a disk`, forceable: false }];
  const out: Refusal[] = [];
  if (t.holdsRoot) out.push({ reason: `${t.device} (${t.name}) holds this computer's root filesystem`, forceable: false });
  else if (t.mountedAt.length)
    out.push({ reason: `${t.device} (${t.name}) is in use (mounted at ${t.mountedAt.join(', ')}); unmount it first`, forceable: false });
  if (t.sizeBytes < imageBytes)
    out.push({
      reason: `${t.device} (${formatBytes(t.sizeBytes)}) is smaller than the image (${formatBytes(imageBytes)})`,
      forceable: false,
    });
  if (!t.removable && !force) out.push({ reason: `${t.device} (${t.name}) is not a removable disk`, forceable: true });
  return out;
}

/**
 * The refusals as lines that tell the truth about --force: it is offered only when it would
 * actually let the write go ahead, and a refusal it cannot override says so.
 */
export function refusals(t: BlockTarget, imageBytes: number, force: boolean): string[] {
  const list = refusalList(t, imageBytes, force);
  const hard = list.some((r) => !r.forceable);
  return list.map((r) => {
    if (!r.forceable) return `${r.reason} (--force does not override this)`;
    return hard ? r.reason : `${r.reason}; add --force if it really is the card`;
  });
}

export function describeTarget(t: BlockTarget): string {
  if (t.isPartition) return `${t.device}: partition ${t.name} of disk ${t.diskOf}`;
  if (!t.exists) return t.notADisk ?? `${t.device}: not a disk`;
  return `${t.device}: ${t.name}${t.dev ? ` (${t.dev})` : ''}, ${t.model}, ${formatBytes(t.sizeBytes)}, ${t.removable ? 'removable' : 'NOT removable'}${t.mountedAt.length ? `, mounted at ${t.mountedAt.join(', ')}` : ''}`;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** One progress line: bar, percent, bytes, throughput and time left. */
export function progressLine(done: number, total: number, elapsedMs: number, width = 30): string {
  const frac = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(frac * width);
  const rate = elapsedMs > 0 ? done / (elapsedMs / 1000) : 0;
  const eta = rate > 0 ? (total - done) / rate : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${formatBytes(done)} / ${formatBytes(total)}  ${formatBytes(rate)}/s  ${done >= total ? 'done' : `${Math.ceil(eta)} s left`}`;
}

export interface WriteProgress {
  done: number;
  total: number;
  elapsedMs: number;
  phase: 'write' | 'verify';
}

export interface WriteOptions {
  chunkBytes?: number;
  onProgress?: (p: WriteProgress) => void;
  /** Monotonic milliseconds (injected for tests; default performance.now). */
  now?: () => number;
}

/** Writes the image to the target from byte 0 and flushes it to the medium. */
export async function writeImage(image: string, target: string, o: WriteOptions = {}): Promise<{ bytes: number; ms: number }> {
  const now = o.now ?? (() => performance.now());
  const chunk = o.chunkBytes ?? 4 * 1024 * 1024;
  const total = (await stat(image)).size;
  const isBlock = (await stat(target).catch(() => undefined))?.isBlockDevice() ?? false;
  const inp = await open(image, 'r');
  // A block device is opened without O_TRUNC/O_CREAT; a plain file (tests, image copies) is replaced.
  const out = await open(target, isBlock ? 'r+' : 'w');
  const buf = Buffer.alloc(chunk);
  const t0 = now();
  let done = 0;
  try {
    while (done < total) {
      const { bytesRead } = await inp.read(buf, 0, Math.min(chunk, total - done), done);
      if (bytesRead === 0) throw new Error(`${image} ended early at byte ${done}`);
      let off = 0;
      while (off < bytesRead) off += (await out.write(buf, off, bytesRead - off, done + off)).bytesWritten;
      done += bytesRead;
      o.onProgress?.({ done, total, elapsedMs: now() - t0, phase: 'write' });
    }
    await out.sync();
  } finally {
    await inp.close();
    await out.close();
  }
  return { bytes: total, ms: now() - t0 };
}

/** SHA-256 of the first `bytes` bytes of a file or disk. */
export async function hashPrefix(
  file: string,
  bytes: number,
  onChunk?: (done: number) => void,
  chunkBytes = 4 * 1024 * 1024,
): Promise<string> {
  const h = createHash('sha256');
  const fh = await open(file, 'r');
  const buf = Buffer.alloc(chunkBytes);
  let done = 0;
  try {
    while (done < bytes) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(chunkBytes, bytes - done), done);
      if (bytesRead === 0) throw new Error(`${file} is shorter than ${bytes} bytes (ended at ${done})`);
      h.update(buf.subarray(0, bytesRead));
      done += bytesRead;
      onChunk?.(done);
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

/**
 * Reads the target back and compares its hash with the image's. On a block device the kernel's
 * buffer cache is dropped first (blockdev --flushbufs), so the bytes come from the card.
 */
export async function verifyImage(
  image: string,
  target: string,
  o: WriteOptions = {},
): Promise<{ ok: boolean; imageSha256: string; targetSha256: string }> {
  const now = o.now ?? (() => performance.now());
  const total = (await stat(image)).size;
  if ((await stat(target)).isBlockDevice()) await run('blockdev', ['--flushbufs', target]);
  const imageSha256 = await hashPrefix(image, total);
  const t0 = now();
  const targetSha256 = await hashPrefix(target, total, (done) => o.onProgress?.({ done, total, elapsedMs: now() - t0, phase: 'verify' }));
  return { ok: imageSha256 === targetSha256, imageSha256, targetSha256 };
}
