// The fleet simulator: N real device runtimes (no roles) in one process, each with its own state
// dir and config, all pointed at one broker URL. Boots them all, then prints "booted <ms>" on
// stdout; SIGTERM stops them. The runtimes reconnect on their own (backoff from their config),
// so the fleet may be booted before its broker is up.
// Usage: node fleet.mjs --n 200 --url mqtt://127.0.0.1:PORT --dir DIR [--prefix fleet]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startRuntime, type Runtime } from '../../device/core/runtime.ts';
import { createLogger } from '../../device/core/log.ts';
import { fleetId } from '../lib/fleet-id.ts';
import { BUILT_IN_ROLES } from '../../device/cli/roles.ts';

const { values } = parseArgs({
  options: { n: { type: 'string' }, url: { type: 'string' }, dir: { type: 'string' }, prefix: { type: 'string', default: 'fleet' } },
});
const n = Number(values.n);
if (!Number.isInteger(n) || n < 1 || !values.url || !values.dir) {
  process.stderr.write('usage: fleet --n N --url URL --dir DIR [--prefix P]\n');
  process.exit(2);
}
// stdout carries the one "booted" line; logs (errors only) go to stderr.
const log = createLogger({
  level: (process.env.HEARTH_LOG_LEVEL as 'error' | undefined) ?? 'error',
  format: 'json',
  sink: { write: (l) => process.stderr.write(l) },
});

const runtimes: Runtime[] = [];
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  const id = fleetId(values.prefix!, i);
  const stateDir = join(values.dir, id);
  mkdirSync(stateDir, { recursive: true });
  // Reconnect backoff capped at 100 ms (the smallest cap the schema allows), so a device finds
  // its broker within ~0.1 s of it coming up.
  writeFileSync(
    join(stateDir, 'config.json'),
    JSON.stringify({ v: 2, id, mqtt: { url: values.url, reconnectMinMs: 50, reconnectMaxMs: 100 }, roles: {} }),
  );
  runtimes.push(await startRuntime({ roles: BUILT_IN_ROLES, stateDir, log }));
}
process.stdout.write(`booted ${Math.round(performance.now() - t0)}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await Promise.all(runtimes.map((r) => r.stop()));
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
