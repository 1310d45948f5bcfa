// Wipes what a FAT filesystem still holds outside its files' contents. Deleting or rewriting a file
// on FAT only marks its clusters free: the old bytes stay on the card until something else happens
// to be written there; and a file shorter than its last cluster leaves that cluster's tail (the
// slack) as it was, so a short file written over a longer one's clusters keeps the longer one's
// end. First boot imports hearth.json's secrets (broker password, Wi-Fi passphrase) and rewrites
// the file without them; this then zeroes every free cluster and every file's slack that is not
// already zero (earlier copies of the file, a replaced `hearth image provision`, editor
// temporaries), and reports secrets inside a file still in use (another file the person put
// there), which it must not touch.
//
// It works on the raw partition (a block device, or an image file at an offset), reading the boot
// sector and the first FAT itself, so it is tested on a FAT made with mkfs.vfat and mtools, with
// no mount. On a device the filesystem stays mounted: free clusters belong to no file, the FAT is
// only read, and nothing else writes to the boot partition while first boot runs.
import { open, type FileHandle } from 'node:fs/promises';

export interface FatGeometry {
  type: 12 | 16 | 32;
  bytesPerSector: number;
  clusterBytes: number;
  /** Byte offset (from the partition start) of the first FAT and of cluster 2. */
  fatOffset: number;
  fatBytes: number;
  dataOffset: number;
  /** Number of data clusters (numbered 2 .. clusters + 1). */
  clusters: number;
  /** FAT12/16: the fixed root directory's offset and size; FAT32: its first cluster. */
  rootOffset: number;
  rootBytes: number;
  rootCluster: number;
}

/** Reads the BIOS parameter block; throws on anything that is not a FAT boot sector. */
export function parseBootSector(b: Buffer): FatGeometry {
  if (b.length < 512 || b[510] !== 0x55 || b[511] !== 0xaa) throw new Error('not a FAT filesystem (no boot sector signature)');
  const bytesPerSector = b.readUInt16LE(11);
  const sectorsPerCluster = b[13]!;
  const reserved = b.readUInt16LE(14);
  const fats = b[16]!;
  const rootEntries = b.readUInt16LE(17);
  const total = b.readUInt16LE(19) || b.readUInt32LE(32);
  const fatSectors = b.readUInt16LE(22) || b.readUInt32LE(36);
  if (![512, 1024, 2048, 4096].includes(bytesPerSector) || sectorsPerCluster === 0 || fats === 0 || fatSectors === 0 || total === 0) {
    throw new Error('not a FAT filesystem (implausible boot sector)');
  }
  const rootSectors = Math.ceil((rootEntries * 32) / bytesPerSector);
  const dataSector = reserved + fats * fatSectors + rootSectors;
  const clusters = Math.floor((total - dataSector) / sectorsPerCluster);
  // The FAT type follows from the cluster count alone (Microsoft's FAT specification).
  const type = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
  return {
    type,
    bytesPerSector,
    clusterBytes: bytesPerSector * sectorsPerCluster,
    fatOffset: reserved * bytesPerSector,
    fatBytes: fatSectors * bytesPerSector,
    dataOffset: dataSector * bytesPerSector,
    clusters,
    rootOffset: (reserved + fats * fatSectors) * bytesPerSector,
    rootBytes: rootSectors * bytesPerSector,
    rootCluster: type === 32 ? b.readUInt32LE(44) : 0,
  };
}

/** The FAT entry of cluster `c` (0 = free). */
export function fatEntry(fat: Buffer, type: 12 | 16 | 32, c: number): number {
  if (type === 32) return fat.readUInt32LE(c * 4) & 0x0fffffff;
  if (type === 16) return fat.readUInt16LE(c * 2);
  const v = fat.readUInt16LE(Math.floor((c * 3) / 2));
  return c & 1 ? v >> 4 : v & 0xfff;
}

const isEnd = (type: 12 | 16 | 32, v: number) => v >= (type === 32 ? 0x0ffffff8 : type === 16 ? 0xfff8 : 0xff8);

/** The clusters of a chain starting at `first` (bounded: a damaged FAT cannot loop forever). */
export function chain(fat: Buffer, g: FatGeometry, first: number): number[] {
  const out: number[] = [];
  for (let c = first; c >= 2 && c < g.clusters + 2 && out.length <= g.clusters; c = fatEntry(fat, g.type, c)) {
    out.push(c);
    const next = fatEntry(fat, g.type, c);
    if (isEnd(g.type, next) || next < 2) break;
  }
  return out;
}

export interface FatFile {
  path: string;
  size: number;
  clusters: number[];
}

/** Every file in the filesystem (all directories), with its size and clusters. */
async function listFiles(fh: FileHandle, offset: number, g: FatGeometry, fat: Buffer): Promise<FatFile[]> {
  const out: FatFile[] = [];
  const seen = new Set<number>();
  const walk = async (dir: Buffer, prefix: string, depth: number): Promise<void> => {
    for (let i = 0; i + 32 <= dir.length; i += 32) {
      const e = dir.subarray(i, i + 32);
      if (e[0] === 0) break;
      const attr = e[11]!;
      if (e[0] === 0xe5 || attr === 0x0f || attr & 0x08) continue;
      const name =
        e.toString('latin1', 0, 8).trimEnd() + (e.toString('latin1', 8, 11).trim() ? `.${e.toString('latin1', 8, 11).trim()}` : '');
      if (name === '.' || name === '..') continue;
      const first = (g.type === 32 ? e.readUInt16LE(20) << 16 : 0) | e.readUInt16LE(26);
      const clusters = first >= 2 ? chain(fat, g, first) : [];
      if (attr & 0x10) {
        if (depth > 16 || seen.has(first)) continue;
        seen.add(first);
        await walk(await readClusters(fh, offset, g, clusters), `${prefix}${name}/`, depth + 1);
      } else out.push({ path: `${prefix}${name}`, size: e.readUInt32LE(28), clusters });
    }
  };
  const root =
    g.type === 32 ? await readClusters(fh, offset, g, chain(fat, g, g.rootCluster)) : await readAt(fh, offset + g.rootOffset, g.rootBytes);
  await walk(root, '/', 0);
  return out;
}

async function readClusters(fh: FileHandle, offset: number, g: FatGeometry, clusters: number[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const c of clusters) parts.push(await readAt(fh, offset + g.dataOffset + (c - 2) * g.clusterBytes, g.clusterBytes));
  return Buffer.concat(parts);
}

export interface WipeResult {
  geometry: FatGeometry;
  freeClusters: number;
  /** Free clusters that held anything (not all zero) and were zeroed. */
  zeroedClusters: number;
  /** Free clusters among those that held one of the secrets. */
  secretClusters: number;
  /** Files whose last cluster's tail (past the file's end) held anything and was zeroed. */
  zeroedSlacks: number;
  /** Byte offsets (from the partition start) of secrets in clusters in use: left alone. */
  inUseHits: number[];
}

/**
 * Zeroes every non-zero free cluster of the FAT at `offset` in `path`, flushes, and searches the
 * clusters in use for `secrets`. `secrets` are searched as UTF-8 bytes.
 */
export async function wipeFreeClusters(path: string, secrets: string[], offset = 0): Promise<WipeResult> {
  const fh = await open(path, 'r+');
  try {
    const geometry = parseBootSector(await readAt(fh, offset, 512));
    const g = geometry;
    const fat = await readAt(fh, offset + g.fatOffset, g.fatBytes);
    const needles = secrets.filter((s) => s.length > 0).map((s) => Buffer.from(s, 'utf8'));
    const longest = needles.reduce((m, n) => Math.max(m, n.length), 0);
    const result: WipeResult = { geometry, freeClusters: 0, zeroedClusters: 0, secretClusters: 0, zeroedSlacks: 0, inUseHits: [] };
    const zero = Buffer.alloc(g.clusterBytes);
    // Slack first: the tail of each file's last cluster, past its end.
    for (const f of await listFiles(fh, offset, g, fat)) {
      const used = f.size - (f.clusters.length - 1) * g.clusterBytes;
      const last = f.clusters[f.clusters.length - 1];
      if (last === undefined || used <= 0 || used >= g.clusterBytes) continue;
      const at = offset + g.dataOffset + (last - 2) * g.clusterBytes + used;
      const tail = await readAt(fh, at, g.clusterBytes - used);
      if (tail.equals(zero.subarray(0, tail.length))) continue;
      await fh.write(zero, 0, tail.length, at);
      result.zeroedSlacks++;
    }
    // Runs of clusters of one kind (free or in use), read in chunks of up to 4 MiB. A secret that
    // crosses a chunk's end is found by carrying the last bytes over (in-use runs; free clusters
    // are zeroed whole, secret or not).
    const perChunk = Math.max(1, Math.floor((4 << 20) / g.clusterBytes));
    let carry: Buffer = Buffer.alloc(0);
    let carryStart = 0;
    for (let c = 2; c < g.clusters + 2;) {
      const free = fatEntry(fat, g.type, c) === 0;
      let n = 1;
      while (n < perChunk && c + n < g.clusters + 2 && (fatEntry(fat, g.type, c + n) === 0) === free) n++;
      const at = g.dataOffset + (c - 2) * g.clusterBytes;
      const buf = await readAt(fh, offset + at, n * g.clusterBytes);
      if (free) {
        carry = Buffer.alloc(0);
        result.freeClusters += n;
        for (let i = 0; i < n; i++) {
          const cl = buf.subarray(i * g.clusterBytes, (i + 1) * g.clusterBytes);
          if (cl.equals(zero)) continue;
          // A secret may run from the end of one free cluster into the next: search the run.
          const window = buf.subarray(Math.max(0, i * g.clusterBytes - longest), (i + 1) * g.clusterBytes);
          if (needles.some((x) => window.includes(x))) result.secretClusters++;
          await fh.write(zero, 0, g.clusterBytes, offset + at + i * g.clusterBytes);
          result.zeroedClusters++;
        }
      } else {
        const hay = carry.length && carryStart + carry.length === at ? Buffer.concat([carry, buf]) : buf;
        const hayStart = hay === buf ? at : carryStart;
        for (const x of needles) {
          for (let i = hay.indexOf(x); i >= 0; i = hay.indexOf(x, i + 1)) {
            const hit = hayStart + i;
            if (!result.inUseHits.includes(hit)) result.inUseHits.push(hit);
          }
        }
        carry = buf.subarray(Math.max(0, buf.length - longest + 1));
        carryStart = at + buf.length - carry.length;
      }
      c += n;
    }
    await fh.sync();
    return result;
  } finally {
    await fh.close();
  }
}

/** Byte offsets of every occurrence of each secret in `size` bytes of `path` from `offset`. */
export async function findSecrets(path: string, secrets: string[], offset = 0, size?: number): Promise<Map<string, number[]>> {
  const fh = await open(path, 'r');
  const out = new Map<string, number[]>(secrets.map((s) => [s, []]));
  try {
    const end = offset + (size ?? (await fh.stat()).size - offset);
    const chunk = 4 << 20;
    const longest = secrets.reduce((m, s) => Math.max(m, Buffer.byteLength(s)), 0);
    let carry: Buffer = Buffer.alloc(0);
    for (let pos = offset; pos < end; pos += chunk) {
      const buf = await readAt(fh, pos, Math.min(chunk, end - pos));
      const hay = Buffer.concat([carry, buf]);
      const hayStart = pos - carry.length;
      for (const s of secrets) {
        const x = Buffer.from(s, 'utf8');
        for (let i = hay.indexOf(x); i >= 0; i = hay.indexOf(x, i + 1)) {
          const hit = hayStart + i - offset;
          const list = out.get(s)!;
          if (!list.includes(hit)) list.push(hit);
        }
      }
      carry = buf.subarray(Math.max(0, buf.length - longest + 1));
    }
    return out;
  } finally {
    await fh.close();
  }
}

async function readAt(fh: FileHandle, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  let done = 0;
  while (done < len) {
    const { bytesRead } = await fh.read(buf, done, len - done, pos + done);
    if (bytesRead === 0) break; // past the end of a sparse or short file: zeros
    done += bytesRead;
  }
  return buf;
}
