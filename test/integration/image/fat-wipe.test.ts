// The secret wipe on a real FAT (mkfs.vfat + mtools, no mount, no boot): a hearth.json with
// secrets is written, replaced (its clusters freed, the bytes still there), and the wipe must
// leave none of the secrets anywhere in the raw partition while the files in use read back
// unchanged and fsck finds nothing wrong.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { wipeFreeClusters, findSecrets, parseBootSector } from '../../../device/image/fat-wipe.ts';
import { provisioningSecrets } from '../../../protocol/provisioning.ts';
import { MTOOLS_ENV } from '../../../device/image/partitions.ts';

const env = { ...process.env, ...MTOOLS_ENV };
const PROV = {
  v: 2,
  config: { v: 2, id: 'den', mqtt: { url: 'mqtt://hub.local:1883', password: 'broker-pw-4711-"quoted"' }, roles: {} },
  ssh: { authorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKc5m9pH3vQ0vU8m0jvJc3e9D9a0XqvI9y8c0bPpY0dK control-comment@pc'] },
  wifi: { ssid: 'Home', psk: 'wifi passphrase 0815', country: 'DE' },
};

function fatImage(dir: string, fatArgs: string[], kib: number): string {
  const img = join(dir, 'boot.fat');
  execFileSync('mkfs.vfat', ['-C', ...fatArgs, '-n', 'HEARTHBOOT', img, String(kib)], { stdio: 'pipe' });
  // Some files in use before and after, as on a real boot partition.
  writeFileSync(join(dir, 'config.txt'), 'arm_64bit=1\n'.repeat(50));
  execFileSync('mcopy', ['-i', img, join(dir, 'config.txt'), '::/config.txt'], { env });
  return img;
}

for (const [name, args, kib] of [
  ['FAT32', ['-F', '32'], 64 * 1024],
  ['FAT16', ['-F', '16'], 16 * 1024],
  ['FAT12', ['-F', '12'], 2 * 1024],
] as const) {
  test(`${name}: a replaced hearth.json leaves no secret in the raw partition after the wipe`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-fatwipe-'));
    try {
      const img = fatImage(dir, [...args], kib);
      assert.is(parseBootSector(execFileSync('head', ['-c', '512', img])).type, Number(name.slice(3)));
      const secrets = provisioningSecrets(PROV);
      assert.ok(secrets.includes('wifi passphrase 0815') && secrets.includes('broker-pw-4711-\\"quoted\\"'), secrets.join(', '));
      // Provisioned twice (the person fixed a typo), then imported: rewritten without secrets.
      writeFileSync(join(dir, 'hearth.json'), JSON.stringify({ ...PROV, hostname: 'first-try' }, null, 2));
      execFileSync('mcopy', ['-i', img, join(dir, 'hearth.json'), '::/hearth.json'], { env });
      writeFileSync(join(dir, 'hearth.json'), JSON.stringify(PROV, null, 2));
      execFileSync('mcopy', ['-o', '-i', img, join(dir, 'hearth.json'), '::/hearth.json'], { env });
      const scrubbed = JSON.stringify(
        { v: 2, config: { id: 'den', mqtt: { password: '***' } }, ssh: PROV.ssh, imported: { at: 'now', revision: 1 } },
        null,
        2,
      );
      writeFileSync(join(dir, 'hearth.json'), scrubbed);
      execFileSync('mcopy', ['-o', '-i', img, join(dir, 'hearth.json'), '::/hearth.json'], { env });

      const control = 'control-comment@pc';
      const before = await findSecrets(img, [...secrets, control]);
      assert.ok(
        before.get('wifi passphrase 0815')!.length >= 1,
        `the freed copies still hold the passphrase before the wipe: ${JSON.stringify([...before])}`,
      );

      const r = await wipeFreeClusters(img, secrets);
      assert.ok(r.secretClusters + r.zeroedSlacks >= 1, `secret clusters ${r.secretClusters}, slacks ${r.zeroedSlacks}`);
      assert.equal(r.inUseHits, []);
      const after = await findSecrets(img, [...secrets, control]);
      for (const s of secrets) assert.equal(after.get(s), [], `${s} still on the partition`);
      assert.ok(after.get(control)!.length >= 1, 'the control (an SSH key comment kept in the file) is found: the search works');

      assert.is(execFileSync('mtype', ['-i', img, '::/hearth.json'], { env, encoding: 'utf8' }), scrubbed);
      assert.is(execFileSync('mtype', ['-i', img, '::/config.txt'], { env, encoding: 'utf8' }), 'arm_64bit=1\n'.repeat(50));
      execFileSync('fsck.vfat', ['-n', img], { stdio: 'pipe' });
      // A second run finds nothing more to do.
      const again = await wipeFreeClusters(img, secrets);
      assert.is(again.zeroedClusters + again.zeroedSlacks, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a secret in a file still in use is reported, not touched; an offset partition works', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-fatwipe-'));
  try {
    const fat = fatImage(dir, ['-F', '32'], 40 * 1024);
    writeFileSync(join(dir, 'notes.txt'), 'x'.repeat(5000) + 'wifi passphrase 0815' + 'y'.repeat(100));
    execFileSync('mcopy', ['-i', fat, join(dir, 'notes.txt'), '::/notes.txt'], { env });
    const disk = join(dir, 'disk.img');
    const offset = 1 << 20;
    execFileSync('truncate', ['-s', String(offset), disk]);
    execFileSync('sh', ['-c', `cat "${fat}" >> "${disk}"`]);
    const r = await wipeFreeClusters(disk, ['wifi passphrase 0815'], offset);
    assert.is(r.inUseHits.length, 1);
    const hits = await findSecrets(disk, ['wifi passphrase 0815'], offset);
    assert.equal(hits.get('wifi passphrase 0815'), r.inUseHits);
    assert.is(execFileSync('mtype', ['-i', `${disk}@@${offset}`, '::/notes.txt'], { env, encoding: 'utf8' }).length, 5120);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('not a FAT: refused before anything is written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-fatwipe-'));
  try {
    const f = join(dir, 'zeros');
    writeFileSync(f, Buffer.alloc(4096));
    const e = await wipeFreeClusters(f, ['x']).then(
      () => undefined,
      (x: Error) => x,
    );
    assert.match(String(e?.message), /not a FAT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
