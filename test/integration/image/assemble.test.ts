// An image assembled from a tiny root directory, per DAC flag: partition table (sfdisk), the FAT's
// files (mdir/mtype), the DTBs patched by the DAC overlay (fdtget), the root filesystem (debugfs,
// e2fsck), then `image provision` on it. Same code path as the real build, minus mmdebstrap.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { layerRoot, writeBootFiles } from '../../../device/image/build.ts';
import { assembleImage } from '../../../device/image/assemble.ts';
import { kernelFiles, imagesDir, DAC_CHOICES, type Dac } from '../../../device/image/boot-config.ts';
import { readPartitionTable, bootPartition, MTOOLS_ENV } from '../../../device/image/partitions.ts';
import { provisionTarget, loadProvisioningFile, readProvisioningFrom, ProvisionError } from '../../../device/image/provision.ts';
import { memoryLogger } from '../../../device/core/log.ts';

const work = mkdtempSync(join(tmpdir(), 'hearth-image-it-'));
const sh = (cmd: string, args: string[], env: Record<string, string> = {}) =>
  execFileSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env } });
const mt = (cmd: string, args: string[]) => sh(cmd, args, MTOOLS_ENV);

// A DTB with the nodes the overlay targets, as in Debian's (the I2S node already has a phandle).
const BASE_DTS = `/dts-v1/;
/ { compatible = "raspberrypi,3-model-b", "brcm,bcm2837"; #address-cells = <1>; #size-cells = <1>;
  soc { compatible = "simple-bus"; #address-cells = <1>; #size-cells = <1>;
    gpio: gpio@7e200000 { compatible = "brcm,bcm2835-gpio"; reg = <0x7e200000 0xb4>; };
    i2s: i2s@7e203000 { compatible = "brcm,bcm2835-i2s"; reg = <0x7e203000 0x24>; status = "disabled"; };
    i2c1: i2c@7e804000 { compatible = "brcm,bcm2835-i2c"; reg = <0x7e804000 0x1000>; status = "disabled"; };
    user { ref = <&i2s>; };
  };
};`;
const PI5_DTS = `/dts-v1/;\n/ { compatible = "raspberrypi,5-model-b", "brcm,bcm2712"; soc { }; };`;

function fixture(): { repo: string; kernelDir: string } {
  const repo = join(work, 'repo');
  mkdirSync(join(repo, 'dist/console'), { recursive: true });
  writeFileSync(join(repo, 'package.json'), JSON.stringify({ name: 'hearth', version: '9.8.7' }));
  writeFileSync(join(repo, 'dist/hearth.js'), 'console.log("hearth")\n');
  const kernelDir = join(work, 'kernel');
  mkdirSync(kernelDir, { recursive: true });
  writeFileSync(join(kernelDir, 'pi3.dts'), BASE_DTS);
  writeFileSync(join(kernelDir, 'pi5.dts'), PI5_DTS);
  sh('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-o', join(kernelDir, 'bcm2837-rpi-3-b.dtb'), join(kernelDir, 'pi3.dts')]);
  sh('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-o', join(kernelDir, 'bcm2711-rpi-4-b.dtb'), join(kernelDir, 'pi3.dts')]);
  sh('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-o', join(kernelDir, 'bcm2712-rpi-5-b.dtb'), join(kernelDir, 'pi5.dts')]);
  return { repo, kernelDir };
}
const { repo, kernelDir } = fixture();

async function buildTiny(dac: Dac): Promise<{ img: string; bootDir: string }> {
  const dir = join(work, dac);
  const root = join(dir, 'root');
  const boot = join(dir, 'boot');
  for (const d of ['etc/default', 'boot/firmware', 'usr/lib/systemd/system', 'var/lib']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'usr/lib/systemd/system/ssh.service'), '[Unit]\nDescription=OpenBSD Secure Shell server\n');
  mkdirSync(join(boot, 'overlays'), { recursive: true });
  writeFileSync(join(boot, 'bootcode.bin'), Buffer.alloc(4096, 1));
  writeFileSync(join(boot, 'start4.elf'), Buffer.alloc(8192, 2));
  writeFileSync(join(boot, 'vmlinuz-6.12.0+deb13-arm64'), Buffer.alloc(65536, 3));
  writeFileSync(join(boot, 'initrd.img-6.12.0+deb13-arm64'), Buffer.alloc(32768, 4));
  for (const f of ['bcm2837-rpi-3-b.dtb', 'bcm2711-rpi-4-b.dtb', 'bcm2712-rpi-5-b.dtb'])
    writeFileSync(join(boot, f), readFileSync(join(kernelDir, f)));
  await layerRoot({ root, repo, images: imagesDir(), dac, addonVersions: { cap: '0.2.1' } });
  await writeBootFiles({
    boot,
    root,
    images: imagesDir(),
    dac,
    kernel: kernelFiles(['vmlinuz-6.12.0+deb13-arm64', 'initrd.img-6.12.0+deb13-arm64']),
  });
  const img = join(dir, 'tiny.img');
  await assembleImage({ rootDir: root, bootDir: boot, out: img, log: memoryLogger(), bootMiB: 64, rootFreeMiB: 16, diskId: '0x4845a001' });
  return { img, bootDir: boot };
}

const built = new Map<Dac, string>();
for (const dac of DAC_CHOICES) {
  test(`${dac}: MBR with a bootable FAT32 at 4 MiB and an ext4 root after it; size a power of two`, async () => {
    const { img } = await buildTiny(dac);
    built.set(dac, img);
    const size = statSync(img).size;
    assert.is(size & (size - 1), 0, `size ${size} is a power of two`);
    const t = JSON.parse(sh('sfdisk', ['--json', img])).partitiontable;
    assert.is(t.label, 'dos');
    assert.is(t.id, '0x4845a001');
    assert.is(t.partitions.length, 2);
    const [p1, p2] = t.partitions;
    assert.is(p1.start, 8192);
    assert.is(p1.type, 'c');
    assert.ok(p1.bootable);
    assert.is(p1.size, (64 * 1024 * 1024) / 512);
    assert.is(p2.type, '83');
    assert.is(p2.start, p1.start + p1.size);
    assert.is((p2.start + p2.size) * 512, size, 'root runs to the end');
  });

  test(`${dac}: boot partition holds firmware, kernel, DTBs, config.txt for this DAC, cmdline.txt`, async () => {
    const img = built.get(dac)!;
    const off = bootPartition(await readPartitionTable(img)).start;
    const at = `${img}@@${off}`;
    const listing = mt('mdir', ['-b', '-i', at, '::/']);
    for (const f of [
      'bootcode.bin',
      'start4.elf',
      'vmlinuz-6.12.0+deb13-arm64',
      'initrd.img-6.12.0+deb13-arm64',
      'config.txt',
      'cmdline.txt',
      'bcm2837-rpi-3-b.dtb',
      'overlays',
    ]) {
      assert.ok(listing.includes(`::/${f}`), `${f} in\n${listing}`);
    }
    assert.ok(mt('minfo', ['-i', at, '::']).includes('HEARTHBOOT'), 'FAT label');
    const config = mt('mtype', ['-i', at, '::/config.txt']);
    assert.ok(config.includes('kernel=vmlinuz-6.12.0+deb13-arm64\n'));
    assert.ok(config.includes('initramfs initrd.img-6.12.0+deb13-arm64\n'));
    assert.is(config.includes('dtparam=audio=off'), dac !== 'none');
    assert.ok(mt('mtype', ['-i', at, '::/cmdline.txt']).includes('root=LABEL=hearth-root'));

    // The DTBs on the FAT carry the card (or not), with the I2S node's own phandle untouched.
    const dtb = join(work, `${dac}-pi3.dtb`);
    mt('mcopy', ['-o', '-i', at, '::/bcm2837-rpi-3-b.dtb', dtb]);
    const orig = join(kernelDir, 'bcm2837-rpi-3-b.dtb');
    assert.is(sh('fdtget', [dtb, '/soc/i2s@7e203000', 'phandle']), sh('fdtget', [orig, '/soc/i2s@7e203000', 'phandle']));
    if (dac === 'none') {
      assert.throws(() => sh('fdtget', [dtb, '/hearth-sound', 'compatible']));
      assert.is(sh('fdtget', [dtb, '/soc/i2s@7e203000', 'status']).trim(), 'disabled');
    } else {
      assert.is(sh('fdtget', [dtb, '/hearth-sound', 'compatible']).trim(), 'audio-graph-card');
      assert.is(sh('fdtget', [dtb, '/hearth-sound', 'label']).trim(), dac);
      assert.is(sh('fdtget', [dtb, '/soc/i2s@7e203000', 'status']).trim(), 'okay');
      // The card's link points at the port the overlay added under the I2S controller.
      assert.is(sh('fdtget', [dtb, '/hearth-sound', 'dais']).trim(), sh('fdtget', [dtb, '/soc/i2s@7e203000/port', 'phandle']).trim());
      if (dac === 'hifiberry-dacplus') assert.is(sh('fdtget', [dtb, '/soc/i2c@7e804000/pcm5122@4d', 'compatible']).trim(), 'ti,pcm5122');
      else assert.is(sh('fdtget', [dtb, '/hearth-pcm5102a', 'compatible']).trim(), 'ti,pcm5102a');
      const pi5 = join(work, `${dac}-pi5.dtb`);
      mt('mcopy', ['-o', '-i', at, '::/bcm2712-rpi-5-b.dtb', pi5]);
      assert.equal(readFileSync(pi5), readFileSync(join(kernelDir, 'bcm2712-rpi-5-b.dtb')), 'a Pi 5 DTB (no such I2S node) is left alone');
    }
  });

  test(`${dac}: root filesystem: runtime, units enabled, DAC files; clean ext4 labelled hearth-root`, async () => {
    const img = built.get(dac)!;
    const root = (await readPartitionTable(img)).partitions[1]!.start;
    const fs = `${img}?offset=${root}`;
    const dbg = (req: string) => sh('debugfs', ['-R', req, fs]);
    assert.ok(dbg('stats').includes('Filesystem volume name:   hearth-root'));
    assert.ok(dbg('cat /opt/hearth/dist/hearth.js').includes('console.log("hearth")'));
    assert.is(JSON.parse(dbg('cat /opt/hearth/package.json')).version, '9.8.7');
    assert.ok(
      dbg('stat /etc/systemd/system/multi-user.target.wants/hearth.service').includes(
        'Fast link dest: "/etc/systemd/system/hearth.service"',
      ),
    );
    assert.ok(dbg('stat /etc/systemd/system/multi-user.target.wants/hearth-firstboot.service').includes('Type: symlink'));
    assert.ok(dbg('stat /etc/systemd/system/multi-user.target.wants/hearth-growroot.service').includes('Type: symlink'));
    assert.ok(dbg('stat /etc/systemd/system/multi-user.target.wants/ssh.service').includes('/usr/lib/systemd/system/ssh.service'));
    assert.ok(dbg('cat /etc/systemd/system/hearth.service').includes('User=hearth'));
    assert.ok(dbg('cat /etc/default/hearth-dac').includes(`DAC=${dac}`));
    assert.ok(dbg('ls -l /usr/lib/hearth/overlays').includes('hearth-hifiberry-dac.dtbo'));
    assert.match(dbg('stat /usr/lib/hearth/dac-overlay.sh'), /Mode:\s+0755/);
    const custom = dbg('cat /etc/default/raspi-firmware-custom');
    assert.is(custom.includes('dtparam=audio=off'), dac !== 'none');
    assert.is(dbg('cat /etc/modprobe.d/hearth-dac.conf').includes('blacklist snd_bcm2835'), dac !== 'none');
    const asound = dbg('cat /etc/asound.conf');
    if (dac === 'none') assert.not.ok(asound.includes('defaults.pcm.card'));
    else assert.ok(asound.includes(`defaults.pcm.!card ${dac.replace(/-/g, '')}\n`), asound);
    const bootDirListing = dbg('ls /boot/firmware')
      .split(/\s+/)
      .filter((x) => x && !/^\d+$/.test(x) && !x.startsWith('('));
    assert.equal(bootDirListing.sort(), ['.', '..'], 'the FAT mount point is empty');
    execFileSync('e2fsck', ['-fn', fs], { stdio: 'pipe' });
  });
}

test('image provision writes hearth.json into the FAT, replaces it, removes an old error file', async () => {
  const img = built.get('hifiberry-dac')!;
  const file = join(work, 'hearth.json');
  const p = {
    v: 2,
    config: { v: 2, id: 'den', mqtt: { url: 'mqtt://hub.local:1883', password: 'pw' }, roles: {} },
    wifi: { ssid: 'Home', psk: 'a long passphrase', country: 'GB' },
  };
  writeFileSync(file, JSON.stringify(p));
  const off = bootPartition(await readPartitionTable(img)).start;
  writeFileSync(join(work, 'hearth-error.txt'), 'old error\n');
  mt('mcopy', ['-i', `${img}@@${off}`, join(work, 'hearth-error.txt'), '::/hearth-error.txt']);

  const r = await provisionTarget(img, await loadProvisioningFile(file), memoryLogger());
  assert.is(r.offset, off);
  assert.equal(JSON.parse((await readProvisioningFrom(img))!), p);
  assert.not.ok(mt('mdir', ['-b', '-i', `${img}@@${off}`, '::/']).includes('hearth-error.txt'));

  p.config.id = 'den2';
  writeFileSync(file, JSON.stringify(p));
  await provisionTarget(img, await loadProvisioningFile(file), memoryLogger());
  assert.is(JSON.parse((await readProvisioningFrom(img))!).config.id, 'den2');
  assert.is(
    mt('mdir', ['-b', '-i', `${img}@@${off}`, '::/'])
      .split('\n')
      .filter((l) => l.includes('hearth.json')).length,
    1,
  );
  // The rest of the FAT is intact.
  assert.ok(mt('mtype', ['-i', `${img}@@${off}`, '::/config.txt']).includes('dtparam=audio=off'));
  execFileSync('e2fsck', ['-fn', `${img}?offset=${(await readPartitionTable(img)).partitions[1]!.start}`], { stdio: 'pipe' });
});

test('image provision refuses an invalid file, a device-rewritten file, and a file that is not an image', async () => {
  const bad = join(work, 'bad.json');
  writeFileSync(bad, JSON.stringify({ v: 2, config: { v: 2, id: 'x y', mqtt: { url: 'mqtt://h' }, roles: {} } }));
  try {
    await loadProvisioningFile(bad);
    assert.unreachable('invalid');
  } catch (e) {
    assert.instance(e, ProvisionError);
    assert.match((e as Error).message, /\/config\/id/);
  }
  writeFileSync(
    bad,
    JSON.stringify({ v: 2, config: { v: 2, id: 'x', mqtt: { url: 'mqtt://h' }, roles: {} }, imported: { at: 'x', revision: 1 } }),
  );
  await loadProvisioningFile(bad).then(
    () => assert.unreachable('imported'),
    (e) => assert.match((e as Error).message, /marked imported/),
  );
  const notImage = join(work, 'zeros.img');
  writeFileSync(notImage, Buffer.alloc(1024 * 1024));
  await provisionTarget(notImage, { v: 2 }, memoryLogger()).then(
    () => assert.unreachable('no table'),
    (e) => assert.match((e as Error).message, /partition/),
  );
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
