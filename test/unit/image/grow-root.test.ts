// Growing the root partition: the MBR edit, and the whole decision against a fake disk file,
// fake /sys/dev/block and mountinfo.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, symlinkSync, rmSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { readMbr, grownMbr, growRoot, type GrowEnv } from '../../../device/image/grow-root.ts';
import { sfdiskScript } from '../../../device/image/partitions.ts';
import { memoryLogger } from '../../../device/core/log.ts';
import { execFileSync } from 'node:child_process';

const MiB = 1024 * 1024;

/** A real MBR as the image build writes it (sfdisk on a 2 GiB file). */
function imageMbr(dir: string): Buffer {
  const f = join(dir, 'mbr.img');
  writeFileSync(f, '');
  execFileSync('truncate', ['-s', `${2048 * MiB}`, f]);
  execFileSync('sfdisk', ['--no-reread', '--no-tell-kernel', '--quiet', f], { input: sfdiskScript(2048 * MiB, 256 * MiB, '0x12345678') });
  const fd = openSync(f, 'r');
  const b = Buffer.alloc(512);
  readSync(fd, b, 0, 512, 0);
  closeSync(fd);
  return b;
}

test('grownMbr: the last partition runs to the end of a larger disk; only its size field changes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-mbr-'));
  try {
    const mbr = imageMbr(dir);
    const [boot, root] = readMbr(mbr);
    assert.equal([boot!.type, root!.type], [0x0c, 0x83]);
    const disk = (32 * 1024 * MiB) / 512;
    const g = grownMbr(mbr, 2, disk)!;
    assert.is(g.from, root!.sectors);
    assert.is(g.to, disk - root!.start);
    const after = readMbr(g.mbr);
    assert.equal(after[0], boot);
    assert.equal(after[1], { ...root!, sectors: disk - root!.start });
    let diff = 0;
    for (let i = 0; i < 512; i++) if (g.mbr[i] !== mbr[i]) diff++;
    assert.ok(diff >= 1 && diff <= 4, `${diff} bytes changed`);
    assert.is(grownMbr(mbr, 2, (2048 * MiB) / 512), undefined, 'already fills the disk');
    assert.is(grownMbr(mbr, 2, (2048 * MiB + 8 * MiB) / 512), undefined, 'gain under 16 MiB');
    assert.is(grownMbr(mbr, 1, disk), undefined, 'not the last partition');
    assert.throws(() => readMbr(Buffer.alloc(512)), /signature/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('growRoot: finds the root partition through mountinfo and sysfs, writes the MBR, asks partx and resize2fs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-grow-'));
  try {
    const mbr = imageMbr(dir);
    const root = readMbr(mbr)[1]!;
    const dev = join(dir, 'dev');
    mkdirSync(dev);
    const disk = join(dev, 'mmcblk0');
    writeFileSync(disk, Buffer.concat([mbr, Buffer.alloc(4096)]));
    const sysDisk = join(dir, 'sys/block/mmcblk0');
    mkdirSync(join(sysDisk, 'mmcblk0p2'), { recursive: true });
    writeFileSync(join(sysDisk, 'size'), `${(16 * 1024 * MiB) / 512}\n`);
    writeFileSync(join(sysDisk, 'mmcblk0p2/partition'), '2\n');
    writeFileSync(join(sysDisk, 'mmcblk0p2/start'), `${root.start}\n`);
    mkdirSync(join(dir, 'sys/dev/block'), { recursive: true });
    symlinkSync(join(sysDisk, 'mmcblk0p2'), join(dir, 'sys/dev/block/179:2'));
    writeFileSync(join(dir, 'mountinfo'), '22 1 179:2 / / rw,noatime shared:1 - ext4 /dev/mmcblk0p2 rw\n');
    const calls: string[] = [];
    const env: GrowEnv = {
      mountinfo: join(dir, 'mountinfo'),
      sysDevBlock: join(dir, 'sys/dev/block'),
      dev,
      exec: async (c, a) => {
        calls.push(`${c} ${a.join(' ')}`);
      },
    };
    const r = await growRoot(memoryLogger(), env);
    assert.equal(r, {
      grown: true,
      disk: 'mmcblk0',
      partition: 'mmcblk0p2',
      fromMiB: Math.round((root.sectors * 512) / MiB),
      toMiB: 16 * 1024 - Math.round((root.start * 512) / MiB),
    });
    assert.equal(calls, [`partx --update --nr 2 ${disk}`, `resize2fs ${join(dev, 'mmcblk0p2')}`]);
    const now = readMbr(readFileSync(disk).subarray(0, 512));
    assert.is(now[1]!.sectors, (16 * 1024 * MiB) / 512 - root.start);
    // Second boot: nothing left to do.
    const again = await growRoot(memoryLogger(), env);
    assert.is(again.grown, false);
    assert.is(calls.length, 2);
    // A root that is not a partition (e.g. a whole-disk filesystem) is left alone.
    writeFileSync(join(dir, 'mountinfo'), '22 1 8:0 / / rw - ext4 /dev/sda rw\n');
    assert.is((await growRoot(memoryLogger(), env)).grown, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
