// The device runtime's house clock: built from the device config's `clock` section (reference =
// `clock.server`, default the MQTT broker's host, port 123), started at boot, its lock, steps,
// jumps and outages published as events on hearth/<id>/event/clock. Changes to `clock` apply at
// the next start of the runtime.
import { lookup } from 'node:dns/promises';
import type { DeviceConfig } from '../../protocol/index.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import type { HalOverrides } from '../core/hal-overrides.ts';
import { openUdp } from '../hal/open.ts';
import { HouseClock } from './house-clock.ts';

/** The reference host: `clock.server`, else the broker URL's host. */
export function referenceOf(config: DeviceConfig): { server: string; port: number } {
  let server = config.clock?.server;
  if (!server) {
    try {
      server = new URL(config.mqtt.url).hostname.replace(/^\[|\]$/g, '');
    } catch {
      server = '127.0.0.1';
    }
  }
  return { server: server || '127.0.0.1', port: config.clock?.port ?? 123 };
}

export async function startHouseClock(o: {
  config: DeviceConfig;
  clock: Clock;
  hal: HalOverrides;
  injectedClock: boolean;
  log: Logger;
  publishEvent(role: string, type: string, message: string, data?: Record<string, unknown>): void;
}): Promise<HouseClock | undefined> {
  if (o.config.clock?.enabled === false) return undefined;
  if (o.injectedClock && !o.hal.udp) return undefined;
  const { server, port } = referenceOf(o.config);
  const log = o.log.child({ part: 'clock' });
  const house = new HouseClock(o.clock, {
    stack: await openUdp({}, { clock: o.clock, log, hal: o.hal }),
    server,
    port,
    ...(o.config.clock?.pollMs ? { pollMs: o.config.clock.pollMs } : {}),
    maxUncertaintyUs: o.config.clock?.maxUncertaintyUs ?? 500,
    resolve: async (host) => (/^\d+\.\d+\.\d+\.\d+$/.test(host) ? host : (await lookup(host, { family: 4 })).address),
    // The OS wall clock read fresh (RealClock.wall() is fixed at process start), for the reported offset.
    ...(o.injectedClock ? {} : { osWall: () => Date.now() }),
    onEvent: (type, message) => {
      log.info(message);
      o.publishEvent('clock', type, message);
    },
  });
  house.start().catch((e: Error) => log.warn(`house clock did not start: ${e.message}`));
  return house;
}
