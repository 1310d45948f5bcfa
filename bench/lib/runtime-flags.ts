// The V8 flags the SD image runs the runtime with, read from the unit file the image installs
// (images/rootfs/etc/systemd/system/hearth.service), so a bench measures the device as shipped.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const UNIT = fileURLToPath(new URL('../../images/rootfs/etc/systemd/system/hearth.service', import.meta.url));

/** The node options before the script in the unit's ExecStart, e.g. ['--max-semi-space-size=1', '--single-threaded']. */
export function imageRuntimeFlags(): string[] {
  const line = /^ExecStart=(.*)$/m.exec(readFileSync(UNIT, 'utf8'))?.[1];
  if (!line) throw new Error(`${UNIT}: no ExecStart`);
  const words = line.trim().split(/\s+/);
  const script = words.findIndex((w) => w.endsWith('hearth.js'));
  if (script < 1) throw new Error(`${UNIT}: ExecStart does not run hearth.js: ${line}`);
  return words.slice(1, script).filter((w) => w.startsWith('--'));
}
