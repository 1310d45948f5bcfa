// What the DAC flag changes in an image, as pure functions of the flag: the boot partition's
// config.txt and cmdline.txt (from images/boot/ templates) and the few root filesystem files that
// keep the choice across kernel upgrades.
//
// Rules:
// - config.txt and cmdline.txt are exactly what Debian's raspi-firmware writes on a kernel upgrade
//   (its z50-raspi-firmware hook), so an upgrade on the device changes nothing. Custom lines go in
//   /etc/default/raspi-firmware-custom, which that hook appends after "# Inserted by ...".
// - The DAC itself is not a dtoverlay= line: Debian's DTBs have no __symbols__, so the firmware
//   cannot apply label-based overlays. The DTBs are patched with the project's own overlay instead
//   (images/overlays, /usr/lib/hearth/dac-overlay.sh), at build time and after every kernel upgrade.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export const DAC_CHOICES = ['hifiberry-dac', 'hifiberry-dacplus', 'none'] as const;
export type Dac = (typeof DAC_CHOICES)[number];

export interface DacProfile {
  dac: Dac;
  /** Human name for logs and docs. */
  title: string;
  /** Overlay source in images/overlays (without .dts) and the .dtbo name in /usr/lib/hearth/overlays. */
  overlay?: string;
  /** Kernel module the codec needs, and the DT compatible it binds to (checked in modules.alias). */
  codecModule?: string;
  codecCompatible?: string;
  /** Modules the card needs besides the codec (I2S controller, graph card). */
  modules?: string[];
  /** ALSA card id as `aplay -l` shows it (card label without punctuation). */
  cardId?: string;
}

export const DAC_PROFILES: Record<Dac, DacProfile> = {
  'hifiberry-dac': {
    dac: 'hifiberry-dac',
    title: 'HiFiBerry DAC / DAC Zero / MiniAmp (PCM5102A)',
    overlay: 'hearth-hifiberry-dac',
    codecModule: 'snd-soc-pcm5102a',
    codecCompatible: 'ti,pcm5102a',
    modules: ['snd-soc-bcm2835-i2s', 'snd-soc-audio-graph-card'],
    cardId: 'hifiberrydac',
  },
  'hifiberry-dacplus': {
    dac: 'hifiberry-dacplus',
    title: 'HiFiBerry DAC+ / DAC+ Pro (PCM5122 on I2C)',
    overlay: 'hearth-hifiberry-dacplus',
    codecModule: 'snd-soc-pcm512x-i2c',
    codecCompatible: 'ti,pcm5122',
    modules: ['snd-soc-bcm2835-i2s', 'snd-soc-audio-graph-card', 'i2c-bcm2835'],
    cardId: 'hifiberrydacplus',
  },
  none: { dac: 'none', title: 'no DAC (onboard audio stays on)' },
};

export function isDac(v: string): v is Dac {
  return (DAC_CHOICES as readonly string[]).includes(v);
}

export const CUSTOM_FILE = '/etc/default/raspi-firmware-custom';

/** Content of /etc/default/raspi-firmware-custom, or undefined for none (no file, no section). */
export function raspiFirmwareCustom(dac: Dac): string | undefined {
  const p = DAC_PROFILES[dac];
  if (!p.overlay) return undefined;
  return [
    `# hearth: ${p.title}.`,
    `# The DAC comes from the ${p.overlay} overlay patched into the DTBs (Debian's DTBs have no`,
    '# __symbols__, so a dtoverlay= line could not apply it); see /usr/lib/hearth/dac-overlay.sh.',
    '# Onboard audio off, so the DAC is the only sound card besides HDMI:',
    'dtparam=audio=off',
    '',
  ].join('\n');
}

/** /etc/default/hearth-dac: read by dac-overlay.sh when a kernel upgrade brings fresh DTBs. */
export function hearthDacDefault(dac: Dac): string {
  return `# hearth: the DAC whose overlay /usr/lib/hearth/dac-overlay.sh patches into the DTBs (${DAC_CHOICES.join(', ')})\nDAC=${dac}\n`;
}

/** /etc/modprobe.d/hearth-dac.conf: with a DAC, the onboard (VCHIQ) audio driver stays unloaded. */
export function modprobeConf(dac: Dac): string | undefined {
  if (!DAC_PROFILES[dac].overlay) return undefined;
  return '# hearth: a DAC is fitted, so onboard audio (snd-bcm2835 over VCHIQ) is not loaded\nblacklist snd_bcm2835\n';
}

/**
 * /etc/asound.conf: with a DAC, ALSA's default device is the DAC by its card id, whatever number
 * the kernel gave it (HDMI audio may register first), so a player configured with "default" plays
 * on the DAC.
 */
export function asoundConf(dac: Dac): string | undefined {
  const id = DAC_PROFILES[dac].cardId;
  if (!id) return undefined;
  // "!" replaces alsa.conf's integer card number with the card id string (a plain assignment of
  // a string over the integer is a parse error that makes ALSA drop the whole configuration).
  return `# hearth: the ${DAC_PROFILES[dac].title} is ALSA's default device\ndefaults.pcm.!card ${id}\ndefaults.ctl.!card ${id}\n`;
}

export interface KernelFiles {
  /** File names on the boot partition, e.g. vmlinuz-6.12.38+deb13-arm64. */
  kernel: string;
  initrd: string;
}

/** config.txt as raspi-firmware writes it: the template, then the custom file's section. */
export function renderConfigTxt(template: string, k: KernelFiles, dac: Dac): string {
  let out = template.replace(/@KERNEL@/g, k.kernel).replace(/@INITRD@/g, k.initrd);
  if (!out.endsWith('\n')) out += '\n';
  const custom = raspiFirmwareCustom(dac);
  // The hook inserts `$(cat file)`: the shell drops the file's trailing newlines.
  if (custom !== undefined) out += `\n# Inserted by ${CUSTOM_FILE}\n${custom.replace(/\n+$/, '')}\n`;
  return out;
}

export function renderCmdline(template: string): string {
  return template.trim().replace(/\s+/g, ' ') + '\n';
}

/** Compares boot texts the way the firmware reads them: whitespace runs and line ends do not matter. */
export function sameBootText(a: string, b: string): boolean {
  const norm = (s: string) =>
    s
      .split('\n')
      .map((l) => l.trim().replace(/\s+/g, ' '))
      .filter((l) => l !== '')
      .join('\n');
  return norm(a) === norm(b);
}

/** Finds the kernel and initramfs on a staged boot partition (the newest of each). */
export function kernelFiles(names: readonly string[]): KernelFiles {
  const newest = (prefix: string) =>
    names
      .filter((n) => n.startsWith(prefix) && !/\.(dpkg-bak|old-dkms)$/.test(n))
      .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }))[0];
  const kernel = newest('vmlinuz-');
  const initrd = newest('initrd.img-');
  if (!kernel || !initrd)
    throw new Error(
      `the boot files have no ${kernel ? 'initrd.img-*' : 'vmlinuz-*'}; was the root built with raspi-firmware and initramfs-tools?`,
    );
  return { kernel, initrd };
}

/**
 * The images/ folder (templates, overlays, root filesystem files): $HEARTH_IMAGES_DIR, else beside
 * this source file's checkout (device/image/ → images/), else beside the bundle (dist/ → images/).
 */
export function imagesDir(): string {
  if (process.env.HEARTH_IMAGES_DIR) return process.env.HEARTH_IMAGES_DIR;
  for (const rel of ['../../images/', '../images/']) {
    const p = new URL(rel, import.meta.url).pathname;
    if (existsSync(join(p, 'packages.txt'))) return p;
  }
  throw new Error("cannot find the images/ folder (set HEARTH_IMAGES_DIR to a hearth checkout's images/)");
}

export function readTemplate(name: 'config.txt' | 'cmdline.txt', dir = imagesDir()): string {
  return readFileSync(join(dir, 'boot', name), 'utf8');
}
