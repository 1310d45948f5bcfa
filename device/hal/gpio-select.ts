// Picks the GPIO adapter from config: 'rpio', 'chardev', 'sim', or 'auto' (the default), which
// reads the board model from the device tree: Raspberry Pi 5 → chardev (rpio maps the wrong
// registers there), Raspberry Pi 1–4 (and Zero, Compute Modules 1–4) → rpio, anything else → sim
// with a warning, so a development machine runs without hardware.
import { existsSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import type { Gpio } from './gpio.ts';

export type GpioChoice = 'auto' | 'rpio' | 'chardev' | 'sim';

/** The adapter for a board model string (from /proc/device-tree/model), or undefined for not-a-Pi. */
export function adapterForModel(model: string | undefined): 'rpio' | 'chardev' | undefined {
  if (!model) return undefined;
  const m = model.replace(/\0/g, '').trim();
  if (!/^Raspberry Pi/i.test(m)) return undefined;
  if (/Raspberry Pi (5|Compute Module 5|500)\b/i.test(m)) return 'chardev';
  return 'rpio';
}

export function readBoardModel(path = '/proc/device-tree/model'): string | undefined {
  try { return readFileSync(path, 'latin1').replace(/\0/g, '').trim(); } catch { return undefined; }
}

export interface OpenGpioOptions {
  adapter?: GpioChoice;
  chip?: string;
  clock: Clock;
  log: Logger;
  /** For tests: the model string instead of reading the device tree. */
  model?: string;
}

export async function openGpio(o: OpenGpioOptions): Promise<Gpio> {
  let kind: 'rpio' | 'chardev' | 'sim';
  if (!o.adapter || o.adapter === 'auto') {
    const model = o.model ?? readBoardModel();
    const pick = adapterForModel(model);
    if (!pick) o.log.warn(`no Raspberry Pi found (${model ? `board "${model}"` : 'no device-tree model'}); using the simulated GPIO`, { model });
    kind = pick ?? 'sim';
    // Debian's own kernel has no /dev/gpiomem (and the service sandbox blocks /dev/mem): rpio
    // cannot map the registers there, the character device works on every current kernel.
    if (kind === 'rpio' && o.model === undefined && !existsSync('/dev/gpiomem')) {
      o.log.info('no /dev/gpiomem on this kernel; using the GPIO character device');
      kind = 'chardev';
    }
  } else {
    kind = o.adapter;
  }
  // Real lines live in a line-holder process that releases them if this one dies (gpio.held.ts).
  if (kind === 'rpio' || kind === 'chardev') return (await import('./gpio.held.ts')).HeldGpio.open({ adapter: kind, ...(o.chip ? { chip: o.chip } : {}) });
  const { SimGpio } = await import('./gpio.sim.ts');
  return new SimGpio({ clock: o.clock });
}
