import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import {
  renderConfigTxt,
  renderCmdline,
  raspiFirmwareCustom,
  modprobeConf,
  hearthDacDefault,
  sameBootText,
  kernelFiles,
  readTemplate,
  DAC_CHOICES,
  asoundConf,
} from '../../../device/image/boot-config.ts';
import { checkDacDrivers } from '../../../device/image/build.ts';

const K = { kernel: 'vmlinuz-6.12.118+deb13-arm64', initrd: 'initrd.img-6.12.118+deb13-arm64' };
const template = readTemplate('config.txt');

test('config.txt names the kernel and initramfs and boots 64-bit with the upstream DTBs', () => {
  for (const dac of DAC_CHOICES) {
    const c = renderConfigTxt(template, K, dac);
    assert.ok(c.includes(`kernel=${K.kernel}\n`));
    assert.ok(c.includes(`initramfs ${K.initrd}\n`));
    assert.ok(c.includes('arm_64bit=1\n'));
    assert.ok(c.includes('upstream_kernel=1\n'));
    assert.ok(c.includes('enable_uart=1\n'));
    assert.not.ok(c.includes('@'), 'no placeholder left');
  }
});

test('with a DAC: onboard audio off, in the section raspi-firmware appends from the custom file', () => {
  for (const dac of ['hifiberry-dac', 'hifiberry-dacplus'] as const) {
    const c = renderConfigTxt(template, K, dac);
    const at = c.indexOf('# Inserted by /etc/default/raspi-firmware-custom\n');
    assert.ok(at > 0);
    assert.ok(c.slice(at).includes('\ndtparam=audio=off\n'));
    assert.ok(c.slice(at).includes(`hearth-${dac}`), 'names the overlay that makes the card');
    assert.not.ok(/^dtoverlay=/m.test(c), 'no dtoverlay= line: Debian DTBs have no __symbols__ to apply it');
    // raspi-firmware inserts $(cat file): the file's trailing newlines disappear, one is added.
    assert.ok(c.endsWith('dtparam=audio=off\n'));
    assert.ok(raspiFirmwareCustom(dac)!.endsWith('dtparam=audio=off\n'));
    assert.ok(modprobeConf(dac)!.includes('blacklist snd_bcm2835'));
  }
});

test('without a DAC: no custom section, onboard audio untouched, no blacklist', () => {
  const c = renderConfigTxt(template, K, 'none');
  assert.not.ok(c.includes('Inserted by'));
  assert.not.ok(c.includes('audio=off'));
  assert.is(raspiFirmwareCustom('none'), undefined);
  assert.is(modprobeConf('none'), undefined);
  assert.ok(hearthDacDefault('none').includes('\nDAC=none\n'));
  assert.ok(hearthDacDefault('hifiberry-dac').includes('\nDAC=hifiberry-dac\n'));
});

test('cmdline.txt: root by label (SD, USB and virtio alike), serial + HDMI consoles, one line', () => {
  const c = renderCmdline(readTemplate('cmdline.txt'));
  assert.ok(c.endsWith('\n'));
  assert.is(c.split('\n').length, 2);
  const args = c.trim().split(' ');
  for (const a of ['root=LABEL=hearth-root', 'rw', 'rootwait', 'console=tty0', 'console=ttyS1,115200', 'net.ifnames=0', 'fsck.repair=yes'])
    assert.ok(args.includes(a), a);
  assert.not.ok(
    args.some((a) => a.startsWith('cma=')),
    'no cma=: raspi-firmware warns it breaks the Pi 4',
  );
});

test('sameBootText ignores whitespace runs and blank lines only', () => {
  const deb = 'console=tty0 console=ttyS1,115200 root=LABEL=hearth-root rw fsck.repair=yes net.ifnames=0  rootwait \n';
  assert.ok(sameBootText(deb, renderCmdline(readTemplate('cmdline.txt'))));
  assert.not.ok(sameBootText(deb, deb.replace('rootwait', 'rootdelay=1')));
  assert.ok(sameBootText('a=1\n\n\nb=2\n', 'a=1\nb=2'));
});

test("asound.conf makes the DAC ALSA's default by card id, in a form alsa-lib parses", () => {
  assert.is(asoundConf('none'), undefined);
  const c = asoundConf('hifiberry-dac')!;
  assert.match(c, /^defaults\.pcm\.!card hifiberrydac$/m);
  assert.match(c, /^defaults\.ctl\.!card hifiberrydac$/m);
  // alsa-lib itself: a config it cannot parse prints "ALSA lib conf.c ... Invalid argument".
  const home = mkdtempSync(join(tmpdir(), 'hearth-alsa-'));
  try {
    writeFileSync(join(home, '.asoundrc'), c);
    const r = spawnSync('aplay', ['-L'], { env: { ...process.env, HOME: home }, encoding: 'utf8' });
    assert.not.match(r.stderr, /conf\.c/, r.stderr);
    assert.match(r.stdout, /^null$/m);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('kernelFiles picks the newest kernel and initramfs, ignoring backups', () => {
  const k = kernelFiles([
    'bootcode.bin',
    'vmlinuz-6.12.9+deb13-arm64',
    'vmlinuz-6.12.10+deb13-arm64',
    'vmlinuz-6.12.99.dpkg-bak',
    'initrd.img-6.12.9+deb13-arm64',
    'initrd.img-6.12.10+deb13-arm64',
  ]);
  assert.equal(k, { kernel: 'vmlinuz-6.12.10+deb13-arm64', initrd: 'initrd.img-6.12.10+deb13-arm64' });
  assert.throws(() => kernelFiles(['vmlinuz-1']), /initrd/);
});

test('checkDacDrivers: refuses a kernel without the codec driver, accepts one with it', async () => {
  const root = mkdtempSync(join(tmpdir(), 'hearth-kmods-'));
  try {
    const k = join(root, 'usr/lib/modules/6.12.0-arm64');
    mkdirSync(k, { recursive: true });
    writeFileSync(join(k, 'modules.alias'), 'alias of:N*T*Cti,pcm5102aC* snd_soc_pcm5102a\nalias of:N*T*Cti,pcm5102a snd_soc_pcm5102a\n');
    writeFileSync(
      join(k, 'modules.dep'),
      [
        'sound/soc/codecs/snd-soc-pcm5102a.ko.xz:',
        'sound/soc/bcm/snd-soc-bcm2835-i2s.ko.xz:',
        'sound/soc/generic/snd-soc-audio-graph-card.ko.xz:',
      ].join('\n') + '\n',
    );
    await checkDacDrivers(root, 'hifiberry-dac');
    try {
      await checkDacDrivers(root, 'hifiberry-dacplus');
      assert.unreachable('the DAC+ needs snd-soc-pcm512x-i2c');
    } catch (e) {
      assert.match((e as Error).message, /ti,pcm5122/);
    }
    writeFileSync(join(k, 'modules.dep'), 'sound/soc/codecs/snd-soc-pcm5102a.ko.xz:\n');
    try {
      await checkDacDrivers(root, 'hifiberry-dac');
      assert.unreachable('the I2S and card modules are missing');
    } catch (e) {
      assert.match((e as Error).message, /snd-soc-bcm2835-i2s/);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
