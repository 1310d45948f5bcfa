// `hearth flash IMAGE DEVICE`: the target check, the write and the read-back verify.
//
// Refusal rules (a wrong disk is the one mistake that cannot be undone):
// - never a disk that holds the running system's root filesystem (also through device-mapper
//   or md, via /sys/block/<dm>/slaves), and never a disk with a mounted or swapped-on partition:
//   --force does not change these;
// - never a partition (sdb1): the image carries its own partition table;
// - never a disk smaller than the image;
// - not a non-removable disk unless --force (SD readers and USB sticks report removable=1).
// Everything is read from a sysfs block tree and a mountinfo file given by path, so the rules are
// tested against a fake /sys/block.
import { readFile, readdir, open, stat, realpath } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import { run } from './exec.ts';

export interface FlashEnv {
  /** Default /sys/block. */
  sysBlock: string;
  /** Default /proc/self/mountinfo. */
  mountinfo: string;
  /** Default /proc/swaps. */
  swaps: string;
}

export const REAL_FLASH_ENV: FlashEnv = { sysBlock: '/sys/block', mountinfo: '/proc/self/mountinfo', swaps: '/proc/swaps' };

export interface BlockTarget {
  device: string;
  /** Kernel name (sdb, mmcblk0). */
  name: string;
  exists: boolean;
  isPartition: boolean;
  model: string;
  sizeBytes: number;
  removable: boolean;
  /** Mount points on this disk or its partitions (from mountinfo), and swap devices. */
  mountedAt: string[];
  holdsRoot: boolean;
}

const readTrim = (p: string) => readFile(p, 'utf8').then((s) => s.trim(), () => '');

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
    if (slaves.length === 0) { found.push(d); continue; }
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

interface MountEntry { dev: string; mountPoint: string }

export function parseMountinfo(text: string): MountEntry[] {
  return text.split('\n').filter(Boolean).map((l) => {
    const f = l.split(' ');
    return { dev: f[2] ?? '', mountPoint: (f[4] ?? '').replace(/\\040/g, ' ') };
  });
}

export async function inspectTarget(device: string, env: FlashEnv = REAL_FLASH_ENV): Promise<BlockTarget> {
  const resolved = await realpath(device).catch(() => device);
  const name = basename(resolved);
  const base: BlockTarget = { device, name, exists: false, isPartition: false, model: '', sizeBytes: 0, removable: false, mountedAt: [], holdsRoot: false };
  const sysDir = join(env.sysBlock, name);
  if (!(await stat(sysDir).catch(() => undefined))) {
    base.isPartition = (await findDev(env.sysBlock, name)) !== '';
    return base;
  }
  const vendor = await readTrim(join(sysDir, 'device/vendor'));
  const model = await readTrim(join(sysDir, 'device/model')) || await readTrim(join(sysDir, 'device/name'));
  const t: BlockTarget = {
    ...base,
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
  const swaps = (await readFile(env.swaps, 'utf8').catch(() => '')).split('\n').slice(1).map((l) => l.split(/\s+/)[0]).filter((s): s is string => Boolean(s));
  const names = new Set(nums.values());
  for (const s of swaps) if (names.has(basename(s))) t.mountedAt.push(`swap (${s})`);
  return t;
}

/** Why `t` must not be written with an image of `imageBytes`; empty when it may. */
export function refusals(t: BlockTarget, imageBytes: number, force: boolean): string[] {
  if (!t.exists) return [t.isPartition ? `${t.device} is a partition; give the whole disk (e.g. /dev/sdb, /dev/mmcblk0)` : `${t.device} is not a disk (${t.name} is not in /sys/block)`];
  const out: string[] = [];
  if (t.holdsRoot) out.push(`${t.device} holds this computer's root filesystem`);
  else if (t.mountedAt.length) out.push(`${t.device} is in use (mounted at ${t.mountedAt.join(', ')}); unmount it first`);
  if (t.sizeBytes < imageBytes) out.push(`${t.device} (${formatBytes(t.sizeBytes)}) is smaller than the image (${formatBytes(imageBytes)})`);
  if (!t.removable && !force) out.push(`${t.device} is not a removable disk; add --force if it really is the card`);
  return out;
}

export function describeTarget(t: BlockTarget): string {
  if (!t.exists) return `${t.device}: ${t.isPartition ? 'a partition' : 'not a disk'}`;
  return `${t.device}: ${t.model}, ${formatBytes(t.sizeBytes)}, ${t.removable ? 'removable' : 'NOT removable'}${t.mountedAt.length ? `, mounted at ${t.mountedAt.join(', ')}` : ''}`;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
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

export interface WriteProgress { done: number; total: number; elapsedMs: number; phase: 'write' | 'verify' }

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
export async function hashPrefix(file: string, bytes: number, onChunk?: (done: number) => void, chunkBytes = 4 * 1024 * 1024): Promise<string> {
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
export async function verifyImage(image: string, target: string, o: WriteOptions = {}): Promise<{ ok: boolean; imageSha256: string; targetSha256: string }> {
  const now = o.now ?? (() => performance.now());
  const total = (await stat(image)).size;
  if ((await stat(target)).isBlockDevice()) await run('blockdev', ['--flushbufs', target]);
  const imageSha256 = await hashPrefix(image, total);
  const t0 = now();
  const targetSha256 = await hashPrefix(target, total, (done) => o.onProgress?.({ done, total, elapsedMs: now() - t0, phase: 'verify' }));
  return { ok: imageSha256 === targetSha256, imageSha256, targetSha256 };
}
