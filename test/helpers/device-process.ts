// A device runtime in its own process, for tests that cut its power (SIGKILL) or stop it cleanly
// (SIGTERM). It runs whatever config is in <stateDir>/config.json, with the test `probe` role
// available. Usage: node --import tsx test/helpers/device-process.ts <stateDir>
// Prints one JSON line `{"ready":"<id>","pid":N}` on stdout once running; logs go to stderr.
import { startRuntime } from '../../device/core/runtime.ts';
import { createLogger, type LogLevel } from '../../device/core/log.ts';
import { probe } from './test-roles.ts';
import { BUILT_IN_ROLES } from '../../device/cli/roles.ts';

const stateDir = process.argv[2];
if (!stateDir) {
  process.stderr.write('usage: device-process.ts <stateDir>\n');
  process.exit(2);
}
const log = createLogger({
  level: (process.env.HEARTH_TEST_LOG as LogLevel) || 'error',
  format: 'json',
  sink: { write: (l) => process.stderr.write(l) },
});
const runtime = await startRuntime({ roles: BUILT_IN_ROLES, stateDir, extraRoles: [probe], restartMinMs: 50, restartMaxMs: 1000, log });
process.stdout.write(JSON.stringify({ ready: runtime.id, pid: process.pid }) + '\n');

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await runtime.stop();
  process.exit(0);
}
process.on('SIGTERM', () => {
  void stop();
});
process.on('SIGINT', () => {
  void stop();
});
