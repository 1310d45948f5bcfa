// One device as its own process, the way the SD image runs it: `node <image flags> <cli> run
// --config FILE --state-dir DIR` from the bench bundle, no roles, logs at error level only.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnChild, tempDir, removeDir, type Child } from './procs.ts';
import { imageRuntimeFlags } from './runtime-flags.ts';

export interface DeviceProc {
  id: string;
  child: Child;
  stop(): Promise<void>;
}

export function startDeviceProcess(o: {
  cli: string;
  id: string;
  url: string;
  reconnectMinMs: number;
  reconnectMaxMs: number;
}): DeviceProc {
  const dir = tempDir(`hearth-bench-${o.id}-`);
  const configFile = join(dir, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify({ v: 2, id: o.id, mqtt: { url: o.url, reconnectMinMs: o.reconnectMinMs, reconnectMaxMs: o.reconnectMaxMs }, roles: {} }),
  );
  const child = spawnChild(process.execPath, [
    ...imageRuntimeFlags(),
    o.cli,
    'run',
    '--config',
    configFile,
    '--state-dir',
    dir,
    '--log-level',
    'error',
  ]);
  return {
    id: o.id,
    child,
    async stop() {
      await child.stop();
      removeDir(dir);
    },
  };
}
