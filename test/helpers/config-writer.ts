// The child side of the config power-loss test: saves config revisions through the real
// ConfigStore in a tight loop until it is killed. Revision N always carries the probe label
// "rev-N", so a reader can tell a file whose body and revision disagree (a torn write).
// Usage: node <bundle of this file> <stateDir>; prints each revision once it is saved.
import { join } from 'node:path';
import { ConfigStore } from '../../device/core/config-store.ts';
import { createLogger } from '../../device/core/log.ts';
import { deviceConfigSchema } from '../../protocol/config.ts';
import { ROLE_SPECS } from '../../protocol/roles/index.ts';
import { probeSpec } from './test-roles.ts';

/** The config of revision `n` (shared with the test through this rule, not through an import). */
export function configForRevision(n: number) {
  return {
    v: 2 as const,
    id: 'powercut',
    name: `revision ${n} `.padEnd(120, '.'),
    mqtt: { url: 'mqtt://127.0.0.1:1883', username: 'powercut', password: `pw-${n}` },
    telemetry: { intervalS: 1 + (n % 3600) },
    roles: { probe: { label: `rev-${n}` } },
  };
}

const stateDir = process.argv[2];
if (stateDir) {
  const log = createLogger({ level: 'error', sink: { write: (l) => process.stderr.write(l) } });
  const store = await ConfigStore.open(stateDir, log, join(stateDir, 'config.json'), deviceConfigSchema([...ROLE_SPECS, probeSpec]));
  for (;;) {
    const next = (store.current()?.revision ?? 0) + 1;
    const saved = await store.save(configForRevision(next) as never);
    process.stdout.write(`${saved}\n`);
  }
}
