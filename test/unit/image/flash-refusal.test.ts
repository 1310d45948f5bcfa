// The flash target rules against a fake /sys/block tree and fake mountinfo/swaps files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  inspectTarget,
  refusals,
  describeTarget,
  progressLine,
  formatBytes,
  parseMountinfo,
  statNode,
  type FlashEnv,
  type NodeKind,
} from '../../../device/image/flash.ts';

const GiB = 1024 ** 3;
const IMAGE = 2 * GiB;

interface Disk {
  name: string;
  dev: string;
  sizeGiB: number;
  removable: boolean;
  vendor?: string;
  model?: string;
  parts?: Array<[string, string]>;
  slaves?: Array<[string, string]>;
}

/**
 * A fake sysfs (block/<disk>[/<part>] directories, dev/block/MAJ:MIN links to them, as the kernel
 * has) and fake device nodes: /dev/<name> for every disk and partition, plus `extraNodes` (path →
 * "major:minor", or a NodeKind) to name a device under another name.
 */
function fakeEnv(
  disks: Disk[],
  mounts: Array<[string, string]>,
  swaps: string[] = [],
  extraNodes: Record<string, string | NodeKind> = {},
): FlashEnv & { dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-sysblock-'));
  const sys = join(dir, 'block');
  const sysDev = join(dir, 'dev/block');
  mkdirSync(sysDev, { recursive: true });
  const nodes = new Map<string, NodeKind>();
  for (const d of disks) {
    const p = join(sys, d.name);
    mkdirSync(p, { recursive: true });
    symlinkSync(p, join(sysDev, d.dev));
    nodes.set(`/dev/${d.name}`, { kind: 'block', rdev: d.dev });
    mkdirSync(join(p, 'device'), { recursive: true });
    writeFileSync(join(p, 'dev'), `${d.dev}\n`);
    writeFileSync(join(p, 'size'), `${(d.sizeGiB * GiB) / 512}\n`);
    writeFileSync(join(p, 'removable'), d.removable ? '1\n' : '0\n');
    if (d.vendor) writeFileSync(join(p, 'device/vendor'), `${d.vendor}  \n`);
    if (d.model) writeFileSync(join(p, 'device/model'), `${d.model}\n`);
    for (const [part, dev] of d.parts ?? []) {
      mkdirSync(join(p, part), { recursive: true });
      writeFileSync(join(p, part, 'dev'), `${dev}\n`);
      writeFileSync(join(p, part, 'partition'), '1\n');
      symlinkSync(join(p, part), join(sysDev, dev));
      nodes.set(`/dev/${part}`, { kind: 'block', rdev: dev });
    }
    for (const [slave, dev] of d.slaves ?? []) {
      mkdirSync(join(p, 'slaves', slave), { recursive: true });
      writeFileSync(join(p, 'slaves', slave, 'dev'), `${dev}\n`);
    }
  }
  const mountinfo = join(dir, 'mountinfo');
  writeFileSync(
    mountinfo,
    mounts.map(([dev, at], i) => `${30 + i} 1 ${dev} / ${at.replace(/ /g, '\\040')} rw,relatime shared:1 - ext4 /dev/x rw`).join('\n') +
      '\n',
  );
  const swapsFile = join(dir, 'swaps');
  writeFileSync(swapsFile, 'Filename\tType\tSize\tUsed\tPriority\n' + swaps.map((s) => `${s}\tpartition\t1000\t0\t-2`).join('\n') + '\n');
  for (const [path, v] of Object.entries(extraNodes)) nodes.set(path, typeof v === 'string' ? { kind: 'block', rdev: v } : v);
  const statFake = async (path: string): Promise<NodeKind> => nodes.get(path) ?? { kind: 'missing' };
  return { dir, sysBlock: sys, sysDevBlock: sysDev, statNode: statFake, mountinfo, swaps: swapsFile };
}

const laptop: Disk[] = [
  {
    name: 'sda',
    dev: '8:0',
    sizeGiB: 500,
    removable: false,
    vendor: 'ATA',
    model: 'Samsung SSD 870',
    parts: [
      ['sda1', '8:1'],
      ['sda2', '8:2'],
    ],
  },
  {
    name: 'sdb',
    dev: '8:16',
    sizeGiB: 32,
    removable: true,
    vendor: 'Generic',
    model: 'SD/MMC',
    parts: [
      ['sdb1', '8:17'],
      ['sdb2', '8:18'],
    ],
  },
  { name: 'mmcblk0', dev: '179:0', sizeGiB: 16, removable: false, parts: [['mmcblk0p1', '179:1']] },
  { name: 'sdc', dev: '8:32', sizeGiB: 1, removable: true, model: 'Tiny Stick' },
];

test('a removable, unmounted SD card of enough size may be written; its model, size and removability are shown', async () => {
  const env = fakeEnv(laptop, [
    ['8:2', '/'],
    ['8:1', '/boot/efi'],
  ]);
  try {
    const t = await inspectTarget('/dev/sdb', env);
    assert.is(t.name, 'sdb');
    assert.is(t.model, 'Generic SD/MMC');
    assert.is(t.sizeBytes, 32 * GiB);
    assert.ok(t.removable);
    assert.equal(t.mountedAt, []);
    assert.not.ok(t.holdsRoot);
    assert.equal(refusals(t, IMAGE, false), []);
    assert.is(describeTarget(t), '/dev/sdb: sdb (8:16), Generic SD/MMC, 32.0 GiB, removable');
  } finally {
    rmSync(env.dir, { recursive: true, force: true });
  }
});

test('the disk holding / is refused, even with --force', async () => {
  const env = fakeEnv(laptop, [
    ['8:2', '/'],
    ['8:1', '/boot/efi'],
  ]);
  try {
    const t = await inspectTarget('/dev/sda', env);
    assert.ok(t.holdsRoot);
    const r = refusals(t, IMAGE, true);
    assert.ok(
      r.some((x) => /root filesystem/.test(x)),
      r.join('; '),
    );
    // Without --force too, nothing suggests that --force would help.
    const plain = refusals(t, IMAGE, false);
    assert.ok(
      plain.some((x) => /root filesystem.*--force does not override this/.test(x)),
      plain.join('; '),
    );
    assert.not.ok(
      plain.some((x) => /add --force/.test(x)),
      plain.join('; '),
    );
  } finally {
    rmSync(env.dir, { recursive: true, force: true });
  }
});

test("a node of the root disk under another disk's name gets the root disk's checks (identified by number)", async () => {
  // /dev/sdb here is the root disk's node (8:0); the real card sdb (8:16) is only reachable as /dev/card.
  const env = fakeEnv(laptop, [['8:2', '/']], [], { '/dev/sdb': '8:0', '/dev/card': '8:16', '/dev/sdb-part': '8:2' });
  try {
    const t = await inspectTarget('/dev/sdb', env);
    assert.is(t.name, 'sda');
    assert.ok(t.holdsRoot);
    assert.not.ok(t.removable);
    assert.ok(refusals(t, IMAGE, true).some((x) => /\(sda\) holds this computer's root filesystem/.test(x)));
    const card = await inspectTarget('/dev/card', env);
    assert.is(card.name, 'sdb');
    assert.equal(refusals(card, IMAGE, false), []);
    const part = await inspectTarget('/dev/sdb-part', env);
    assert.ok(part.isPartition);
    assert.match(refusals(part, IMAGE, true)[0]!, /partition sda2 of disk sda; give the whole disk \(\/dev\/sda\)/);
  } finally {
    rmSync(env.dir, { recursive: true, force: true });
  }
});

test('a missing path is called missing; a file or a character device is not a block device', async () => {
  const env = fakeEnv(laptop, [['8:2', '/']], [], { '/tmp/x.img': { kind: 'other', what: 'a regular file' }, '/dev/odd': '7:99' });
  try {
    assert.match(refusals(await inspectTarget('/dev/sdq', env), IMAGE, true)[0]!, /^\/dev\/sdq does not exist/);
    assert.match(refusals(await inspectTarget('/tmp/x.img', env), IMAGE, true)[0]!, /is not a block device \(a regular file\)/);
    assert.match(refusals(await inspectTarget('/dev/odd', env), IMAGE, true)[0]!, /block device 7:99, which the kernel does not list/);
    // The real stat: /dev/null is a character device, a missing path is missing.
    assert.equal(await statNode('/dev/null'), { kind: 'other', what: 'a character device' });
    assert.equal(await statNode('/nonexistent/hearth-card'), { kind: 'missing' });
  } finally {
    rmSync(env.dir, { recursive: true, force: true });
  }
});

test('a disk with a mounted partition is refused, even with --force; so is one with swap on it', async () => {
  const env = fakeEnv(laptop, [
    ['8:2', '/'],
    ['8:17', '/media/me/boot fs'],
  ]);
  try {
    const t = await inspectTarget('/dev/sdb', env);
    assert.equal(t.mountedAt, ['/media/me/boot fs']);
    const r = refusals(t, IMAGE, true);
    assert.is(r.length, 1);
    assert.match(r[0]!, /mounted at \/media\/me\/boot fs.*--force does not override this/);
  } finally {
    rmSync(env.dir, { recursive: true, force: true });
  }
  const env2 = fakeEnv(laptop, [['8:2', '/']], ['/dev/sdb2']);
  try {
    const t = await inspectTarget('/dev/sdb', env2);
    assert.ok(refusals(t, IMAGE, true).some((x) => /swap/.test(x)));
  } finally {
    rmSync(env2.dir, { recursive: true, force: true });
  }
});

test('root on LVM/dm over a disk: that disk is found through slaves and refused', async () => {
  const disks: Disk[] = [
    {
      name: 'nvme0n1',
      dev: '259:0',
      sizeGiB: 1000,
      removable: false,
      parts: [
        ['nvme0n1p1', '259:1'],
        ['nvme0n1p2', '259:2'],
      ],
    },
    { name: 'dm-0', dev: '254:0', sizeGiB: 900, removable: false, slaves: [['nvme0n1p2', '259:2']] },
    ...laptop.slice(1),
  ];
  const env = fakeEnv(disks, [['254:0', '/']]);
  try {
    const t = await inspectTarget('/dev/nvme0n1', env);
    assert.ok(t.holdsRoot);
    assert.ok(refusals(t, IMAGE, true).some((x) => /root filesystem/.test(x)));
    assert.equal(refusals(await inspectTarget('/dev/sdb', env), IMAGE, false), []);
  } finally {
    rmSync(env.dir, { recursive: true, force: true });
  }
});

test('a non-removable disk needs --force; a partition, an unknown name or a too-small disk are refused', async () => {
  const env = fakeEnv(laptop, [['8:2', '/']]);
  try {
    const mmc = await inspectTarget('/dev/mmcblk0', env);
    assert.equal(refusals(mmc, IMAGE, false), ['/dev/mmcblk0 (mmcblk0) is not a removable disk; add --force if it really is the card']);
    assert.equal(refusals(mmc, IMAGE, true), []);
    const part = await inspectTarget('/dev/sdb1', env);
    assert.ok(part.isPartition);
    assert.match(refusals(part, IMAGE, true)[0]!, /is partition sdb1 of disk sdb; give the whole disk \(\/dev\/sdb\)/);
    assert.is(describeTarget(part), '/dev/sdb1: partition sdb1 of disk sdb');
    const none = await inspectTarget('/dev/sdz', env);
    assert.is(describeTarget(none), '/dev/sdz does not exist');
    const tiny = await inspectTarget('/dev/sdc', env);
    assert.ok(refusals(tiny, IMAGE, true).some((x) => /smaller than the image/.test(x)));
  } finally {
    rmSync(env.dir, { recursive: true, force: true });
  }
});

test('mountinfo parsing decodes escaped spaces', () => {
  assert.equal(parseMountinfo('36 35 8:2 / /media/a\\040b rw - ext4 /dev/sda2 rw\n'), [{ dev: '8:2', mountPoint: '/media/a b' }]);
});

test('progress line: bar, percent, throughput, time left', () => {
  const l = progressLine(512 * 1024 * 1024, 1024 * 1024 * 1024, 10_000, 10);
  assert.is(l, '[#####.....]  50% 512 MiB / 1.0 GiB  51.2 MiB/s  10 s left');
  assert.ok(progressLine(10, 10, 1000).includes('done'));
  assert.is(formatBytes(1536), '1.5 KiB');
});

test.run();
