// The real image end to end (slow, not in CI): build it (cached base), provision a copy with a
// hearth.json pointing at a broker on the host's loopback, boot it in qemu-system-aarch64 -M virt
// with the image's own kernel and initramfs, and check over MQTT that the device comes online,
// publishes its info, takes a config and reports it applied; then reads the RAW boot partition
// for every secret its hearth.json carried (none may be left anywhere on it) and the time service
// configuration first boot wrote. Prints boot_to_online_s and secrets_found_on_card.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { ensureImage, scratchCopy, extractBootFiles, bootQemu, cacheDir, type Guest } from './qemu.ts';
import { provisionTarget, loadProvisioningFile, readProvisioningFrom } from '../../device/image/provision.ts';
import { readPartitionTable } from '../../device/image/partitions.ts';
import { startAedes, type TestBroker } from '../helpers/broker.ts';
import { connectController, type Controller } from '../helpers/controller.ts';
import { memoryLogger } from '../../device/core/log.ts';
import { findSecrets } from '../../device/image/fat-wipe.ts';
import { provisioningSecrets } from '../../protocol/provisioning.ts';
import { loadavg, cpus } from 'node:os';

const DEVICE = 'qemu-virt';
const here = new URL('.', import.meta.url).pathname;
const GUEST_BROKER = '10.0.2.100';
let broker: TestBroker | undefined;
let ctl: Controller | undefined;
let guest: Guest | undefined;

test('boots, imports hearth.json, comes online, publishes info, applies a config over MQTT', async () => {
  const image = await ensureImage();
  broker = await startAedes();
  ctl = await connectController(broker.url);
  const img = scratchCopy(image, 'virt.img');
  const dir = join(cacheDir, 'qemu/virt');
  const files = await extractBootFiles(img, ['vmlinuz-', 'initrd.img-'], dir);
  const prov = join(dir, 'hearth.json');
  // Test secrets: the broker password and the Wi-Fi passphrase must leave the card for good; the
  // SSH key's comment stays in the rewritten file, so finding it proves the raw search works.
  const CONTROL = 'hearth-control-comment@build-host';
  const provisioning = {
    v: 2,
    hostname: 'qemu-virt',
    config: {
      v: 2,
      id: DEVICE,
      name: 'QEMU virt',
      mqtt: { url: `mqtt://${GUEST_BROKER}:1883`, password: 'broker-secret-not-on-the-fat-7d41' },
      roles: {},
    },
    ssh: { authorizedKeys: [`ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKc5m9pH3vQ0vU8m0jvJc3e9D9a0XqvI9y8c0bPpY0dK ${CONTROL}`] },
    wifi: { ssid: 'HearthTestNet', psk: 'wifi passphrase not on the fat 93b2', country: 'DE' },
  };
  // Provisioned twice, as a person fixing a typo would: the first copy's clusters are freed with
  // the secrets still in them.
  writeFileSync(prov, JSON.stringify({ ...provisioning, hostname: 'first-try' }));
  await provisionTarget(img, await loadProvisioningFile(prov), memoryLogger());
  writeFileSync(prov, JSON.stringify(provisioning));
  await provisionTarget(img, await loadProvisioningFile(prov), memoryLogger());
  const secrets = provisioningSecrets(provisioning);
  const boot = (await readPartitionTable(img)).partitions[0]!;
  const before = await findSecrets(img, [...secrets, CONTROL], boot.start, boot.size);
  console.log(
    `[image] before first boot, on the raw boot partition: ${[...before].map(([k, v]) => `${k === CONTROL ? 'control' : 'secret'} x${v.length}`).join(', ')}`,
  );
  assert.ok(before.get(secrets[0]!)!.length >= 1, 'the secrets are on the card before first boot');
  // Test-only, in this scratch copy: the runtime's log also on the serial console, to read here;
  // and the unit's start timeout (60 s) and watchdog (30 s), set for a Pi, stretched for TCG: a
  // guest CPU emulated on a loaded 2-core host runs many times slower than a Pi, and the runtime
  // used 38 s of CPU in its 60 s start window and was killed before it logged a line.
  const dropin = join(dir, 'console.conf');
  writeFileSync(
    dropin,
    '[Service]\nStandardOutput=journal+console\nStandardError=journal+console\nTimeoutStartSec=15min\nWatchdogSec=10min\n',
  );
  const rootFs = `${img}?offset=${(await readPartitionTable(img)).partitions[1]!.start}`;
  for (const req of ['mkdir /etc/systemd/system/hearth.service.d', `write ${dropin} /etc/systemd/system/hearth.service.d/console.conf`]) {
    execFileSync('debugfs', ['-w', '-R', req, rootFs], { stdio: 'pipe' });
  }

  // A card larger than the image: the root partition and filesystem must grow to fill it.
  execFileSync('truncate', ['-s', String(3 * 2 ** 30), img]);
  const serial = join(dir, 'console.log');
  rmSync(serial, { force: true });
  const t0 = Date.now();
  console.log('[image] booting QEMU -M virt (first boot: grow root, import hearth.json, DHCP, runtime)');
  const ticker = setInterval(
    () =>
      console.log(
        `[image] … ${((Date.now() - t0) / 1000).toFixed(0)} s, console: ${guest?.console().trim().split('\n').pop()?.slice(0, 120) ?? ''}`,
      ),
    20_000,
  );
  guest = bootQemu(
    [
      '-M',
      'virt',
      '-cpu',
      'cortex-a72',
      '-smp',
      '2',
      '-m',
      '1024',
      '-nographic',
      '-monitor',
      'none',
      '-serial',
      `file:${serial}`,
      '-kernel',
      files['vmlinuz-']!,
      '-initrd',
      files['initrd.img-']!,
      '-append',
      'root=LABEL=hearth-root rw rootwait console=ttyAMA0 net.ifnames=0',
      '-drive',
      `if=none,file=${img},format=raw,id=hd`,
      '-device',
      'virtio-blk-pci,drive=hd',
      // restrict=on: the guest reaches nothing outside; its one way out is the broker forward.
      '-netdev',
      `user,id=n0,restrict=on,guestfwd=tcp:${GUEST_BROKER}:1883-cmd:${process.execPath} ${join(here, 'tcp-pipe.mjs')} ${broker.port}`,
      '-device',
      'virtio-net-pci,netdev=n0,romfile=',
    ],
    serial,
  );

  // 15 min bounds a hang, it is no target: the figure is printed. TCG emulation of 2 vCPUs on a
  // shared 2-core machine runs several times slower under load than the ~80 s an idle one takes.
  const online = await ctl.waitFor(`hearth/${DEVICE}/status`, (p) => p === 'online', 900_000).finally(() => clearInterval(ticker));
  const bootToOnline = (Date.now() - t0) / 1000;
  assert.is(online.payload, 'online');
  console.log(
    `[figure] boot_to_online_s=${bootToOnline.toFixed(1)} (QEMU -M virt, 2 vCPU, TCG; build machine load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} on ${cpus().length} cores)`,
  );

  const info = await ctl.waitFor(`hearth/${DEVICE}/info`, () => true, 30_000);
  console.log(`[image] info: ${JSON.stringify(info.payload).slice(0, 400)}`);
  assert.ok(JSON.stringify(info.payload).includes(DEVICE) || info.topic.includes(DEVICE));

  const reply = await ctl.configSet(DEVICE, { patch: { name: 'QEMU virt, renamed' } }, 30_000);
  assert.ok(reply.ok, JSON.stringify(reply));
  const applied = await ctl.waitFor(`hearth/${DEVICE}/config`, (p) => p && p.config && p.config.name === 'QEMU virt, renamed', 30_000);
  assert.ok(applied.payload.revision >= 2, `revision ${applied.payload.revision}`);
  assert.is(applied.payload.config.mqtt.password, '***');

  // The card's copy of hearth.json lost its secrets on first boot, and so did the raw partition.
  await guest.stop();
  const fat = await readProvisioningFrom(img);
  assert.ok(fat && fat.includes('"imported"'), fat);
  const after = await findSecrets(img, [...secrets, CONTROL], boot.start, boot.size);
  const found = secrets.reduce((a, x) => a + after.get(x)!.length, 0);
  console.log(
    `[figure] secrets_found_on_card=${found} (${secrets.length} secret strings searched in the raw ${boot.size >> 20} MiB boot partition; control found x${after.get(CONTROL)!.length})`,
  );
  assert.ok(after.get(CONTROL)!.length >= 1, 'the control (the SSH key comment kept in the file) is found: the search works');
  for (const x of secrets)
    assert.equal(after.get(x), [], `secret ${JSON.stringify(x)} still on the boot partition at bytes ${after.get(x)}`);
  const firstboot = guest
    .console()
    .split('\n')
    .filter((l) => /wipe:|rewritten without secrets|OS clock follows/.test(l));
  console.log(`[image] first boot said:\n${firstboot.join('\n')}`);

  // The time service first boot configured: chrony follows the broker's host, serves nothing.
  const rootFsAfter = `${img}?offset=${(await readPartitionTable(img)).partitions[1]!.start}`;
  const chrony = execFileSync('debugfs', ['-R', 'cat /etc/chrony/chrony.conf', rootFsAfter], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  console.log(`[image] /etc/chrony/chrony.conf:\n${chrony}`);
  assert.match(chrony, new RegExp(`^server ${GUEST_BROKER.replace(/\./g, '\\.')} iburst`, 'm'));
  assert.not.match(chrony, /^(pool|allow|local) /m);
  // systemd colours the unit name on the console ("Started \e[0;1;39mchrony.service\e[0m").
  assert.match(guest.console().replace(/\x1b\[[0-9;]*m/g, ''), /Started chrony\.service|chronyd.*starting/i, 'chrony ran');
  const rootPart = (await readPartitionTable(img)).partitions[1]!;
  assert.is(rootPart.start + rootPart.size, 3 * 2 ** 30, 'root partition runs to the end of the 3 GiB card');
  const sb = execFileSync('dumpe2fs', ['-h', `${img}?offset=${rootPart.start}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const blocks = Number(/Block count:\s+(\d+)/.exec(sb)![1]) * Number(/Block size:\s+(\d+)/.exec(sb)![1]);
  assert.ok(blocks > 2.5 * 2 ** 30, `root filesystem is ${(blocks / 2 ** 20).toFixed(0)} MiB`);
  console.log(
    `[image] console: ${guest
      .console()
      .split('\n')
      .filter((l) => /hearth|node\[|grown/.test(l))
      .slice(-14)
      .join('\n')}`,
  );
});

test.after(async () => {
  await guest?.stop();
  await ctl?.close();
  await broker?.stop();
});
test.run();
