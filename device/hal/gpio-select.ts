// Picks the GPIO adapter from config (openGpio in open.ts opens it): 'rpio', 'chardev', 'sim',
// or 'auto' (the default), which reads the board model from the device tree: Raspberry Pi 5 →
// chardev (rpio maps the wrong registers there), Raspberry Pi 1–4 (and Zero, Compute Modules 1–4)
// → rpio, anything else → sim with a warning, so a development machine runs without hardware.
import { existsSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import type { Logger } from '../core/log.ts';
import type { GpioChoice } from './gpio.ts';

/** The adapter for a board model string (from /proc/device-tree/model), or undefined for not-a-Pi. */
export function adapterForModel(model: string | undefined): 'rpio' | 'chardev' | undefined {
  if (!model) return undefined;
  const m = model.replace(/\0/g, '').trim();
  if (!/^Raspberry Pi/i.test(m)) return undefined;
  if (/Raspberry Pi (5|Compute Module 5|500)\b/i.test(m)) return 'chardev';
  return 'rpio';
}

export function readBoardModel(path = '/proc/device-tree/model'): string | undefined {
  try {
    return readFileSync(path, 'latin1').replace(/\0/g, '').trim();
  } catch {
    return undefined;
  }
}

/**
 * The adapter to open for a config's choice. `model`: the board model string (default: read from
 * the device tree; given, as in tests, the /dev/gpiomem check is skipped).
 */
export function chooseGpio(choice: GpioChoice | undefined, log: Logger, model?: string): 'rpio' | 'chardev' | 'sim' {
  if (choice && choice !== 'auto') return choice;
  const m = model ?? readBoardModel();
  const pick = adapterForModel(m);
  if (!pick) log.warn(`no Raspberry Pi found (${m ? `board "${m}"` : 'no device-tree model'}); using the simulated GPIO`, { model: m });
  // Debian's own kernel has no /dev/gpiomem (and the service sandbox blocks /dev/mem): rpio
  // cannot map the registers there, the character device works on every current kernel.
  if (pick === 'rpio' && model === undefined && !existsSync('/dev/gpiomem')) {
    log.info('no /dev/gpiomem on this kernel; using the GPIO character device');
    return 'chardev';
  }
  return pick ?? 'sim';
}
