// A real device runtime in this process, connected to a test broker over MQTT, with its own
// temporary state directory. For end-to-end tests of roles and of the core.
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRuntime, type Runtime, type RuntimeOptions } from '../../device/core/runtime.ts';
import { createLogger } from '../../device/core/log.ts';
import type { HalOverrides } from '../../device/core/hal-overrides.ts';
import type { Clock } from '../../device/core/clock.ts';
import { BUILT_IN_ROLES } from '../../device/cli/roles.ts';

export interface TestDeviceOptions {
  id: string;
  brokerUrl: string;
  roles?: Record<string, unknown>;
  hal?: HalOverrides;
  stateDir?: string;
  username?: string;
  password?: string;
  clock?: Clock;
  extraRoles?: RuntimeOptions['extraRoles'];
  telemetryIntervalS?: number;
  /** Extra top-level config fields (name, homeassistant, ...). */
  extra?: Record<string, unknown>;
  restartMinMs?: number;
  /** Runtime options passed through (broker trial bound, conflict backoff). */
  brokerTrialMs?: number;
  conflictBackoffMs?: number;
}

export interface TestDevice {
  runtime: Runtime;
  stateDir: string;
  stop(): Promise<void>;
}

export async function startTestDevice(o: TestDeviceOptions): Promise<TestDevice> {
  const stateDir = o.stateDir ?? mkdtempSync(join(tmpdir(), `hearth-dev-${o.id}-`));
  const config = {
    v: 2,
    id: o.id,
    mqtt: {
      url: o.brokerUrl,
      reconnectMinMs: 50,
      reconnectMaxMs: 500,
      ...(o.username ? { username: o.username } : {}),
      ...(o.password ? { password: o.password } : {}),
    },
    ...(o.telemetryIntervalS ? { telemetry: { intervalS: o.telemetryIntervalS } } : {}),
    ...(o.extra ?? {}),
    roles: o.roles ?? {},
  };
  writeFileSync(join(stateDir, 'config.json'), JSON.stringify(config));
  const runtime = await startRuntime({
    roles: BUILT_IN_ROLES,
    stateDir,
    hal: o.hal,
    clock: o.clock,
    extraRoles: o.extraRoles,
    restartMinMs: o.restartMinMs ?? 50,
    restartMaxMs: 1000,
    brokerTrialMs: o.brokerTrialMs,
    conflictBackoffMs: o.conflictBackoffMs,
    log: createLogger({ level: (process.env.HEARTH_TEST_LOG as 'debug') ?? 'error' }),
  });
  return {
    runtime,
    stateDir,
    async stop() {
      await runtime.stop();
      if (!o.stateDir) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
