// The DAC on the real image (slow, not in CI): boot the image in qemu-system-aarch64 -M raspi3b
// with its own kernel, initramfs and the DTB the build patched with the hearth-hifiberry-dac
// overlay, from the image as an SD card, and read what the running kernel made of it: the overlay
// nodes in /proc/device-tree, the audio modules loaded by their DT aliases, and ALSA's card list.
// A diagnostic unit is written into a scratch copy of the image (debugfs), printing to the console.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { loadavg, cpus } from 'node:os';
import { ensureImage, scratchCopy, extractBootFiles, bootQemu, cacheDir, type Guest } from './qemu.ts';
import { readPartitionTable } from '../../device/image/partitions.ts';

let guest: Guest | undefined;

const CHECK = `[Unit]
Description=hearth test: DAC report on the console
After=systemd-modules-load.service systemd-udev-settle.service sound.target
[Service]
Type=oneshot
TimeoutStartSec=900
StandardOutput=journal+console
ExecStart=/bin/sh -c 'udevadm settle -t 180; i=0; while [ $$i -lt 180 ] && grep -q "no soundcards" /proc/asound/cards; do sleep 1; i=$$((i+1)); done; echo "waited: $$i s after udev settled"; echo "DAC-CHECK-BEGIN"; echo "dt-card: $$(cat /proc/device-tree/hearth-sound/compatible 2>&1)"; echo "dt-label: $$(cat /proc/device-tree/hearth-sound/label 2>&1)"; echo "dt-i2s: $$(cat /proc/device-tree/soc/i2s@7e203000/status 2>&1)"; echo "modules: $$(cut -d" " -f1 /proc/modules | grep -E "snd|i2s|pcm5102|graph" | sort | tr "\\\\n" " ")"; echo "cards:"; cat /proc/asound/cards 2>&1; aplay -l 2>&1; echo "default:"; timeout -s KILL 20 amixer -D default info 2>&1 | head -3; echo "kernel:"; dmesg | grep -iE "asoc|i2s|pcm5102|graph|snd|sound|dma" | tail -25; echo "DAC-CHECK-END"'
[Install]
WantedBy=multi-user.target
`;

test('raspi3b: overlay nodes in the live device tree, DAC modules loaded, ALSA card listed', async () => {
  const image = await ensureImage();
  const img = scratchCopy(image, 'raspi3b.img');
  const dir = join(cacheDir, 'qemu/raspi3b');
  const files = await extractBootFiles(img, ['vmlinuz-', 'initrd.img-', 'bcm2837-rpi-3-b.dtb'], dir);
  const unit = join(dir, 'hearth-dac-check.service');
  writeFileSync(unit, CHECK);
  const fs = `${img}?offset=${(await readPartitionTable(img)).partitions[1]!.start}`;
  for (const req of [
    `write ${unit} /etc/systemd/system/hearth-dac-check.service`,
    'symlink /etc/systemd/system/multi-user.target.wants/hearth-dac-check.service /etc/systemd/system/hearth-dac-check.service',
  ])
    execFileSync('debugfs', ['-w', '-R', req, fs], { stdio: 'pipe' });

  const serial = join(dir, 'console.log');
  rmSync(serial, { force: true });
  const t0 = Date.now();
  console.log('[image] booting QEMU -M raspi3b from the image as an SD card');
  const ticker = setInterval(
    () =>
      console.log(
        `[image] … ${((Date.now() - t0) / 1000).toFixed(0)} s, console: ${guest?.console().trim().split('\n').pop()?.slice(0, 120) ?? ''}`,
      ),
    30_000,
  );
  guest = bootQemu(
    [
      '-M',
      'raspi3b',
      '-m',
      '1024',
      '-smp',
      '4',
      '-nographic',
      '-monitor',
      'none',
      '-serial',
      'null',
      '-serial',
      `file:${serial}`,
      '-kernel',
      files['vmlinuz-']!,
      '-initrd',
      files['initrd.img-']!,
      '-dtb',
      files['bcm2837-rpi-3-b.dtb']!,
      '-append',
      'console=ttyS1,115200 root=LABEL=hearth-root rw rootwait fsck.repair=yes net.ifnames=0',
      '-drive',
      `file=${img},if=sd,format=raw`,
    ],
    serial,
  );
  // A bound on a hang, no target (the figure is printed): TCG is several times slower under load.
  await guest.waitConsole(/DAC-CHECK-END/, 900_000).finally(() => clearInterval(ticker));
  const text = guest.console();
  const report = text.slice(text.indexOf('DAC-CHECK-BEGIN'), text.indexOf('DAC-CHECK-END'));
  console.log(
    `[figure] boot_to_dac_s=${((Date.now() - t0) / 1000).toFixed(0)} (QEMU -M raspi3b, boot to the DAC report; build machine load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} on ${cpus().length} cores)\n${report}`,
  );
  assert.match(report, /dt-card: audio-graph-card/);
  assert.match(report, /dt-label: hifiberry-dac/);
  assert.match(report, /dt-i2s: okay/);
  assert.match(report, /snd_soc_pcm5102a/);
  assert.match(report, /snd_soc_audio_graph_card/);
  assert.match(report, /snd_soc_bcm2835_i2s/);
  assert.match(report, /card \d+: hifiberrydac \[hifiberry-dac\]/, 'ALSA lists the card');
  // QEMU emulates no I2S block, so the PCM is not opened here (the driver waits for a SYNC bit that
  // never comes); the control device shows which card "default" is.
  assert.match(report, /Card default 'hifiberrydac'/, "ALSA's default is the DAC");
  assert.not.match(report, /ALSA lib conf\.c/, 'ALSA parses its configuration');
});

test.after(async () => {
  await guest?.stop();
});
test.run();
