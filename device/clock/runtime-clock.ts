// The device runtime's clock: what its roles run on. A stable Clock object whose wall() is house
// time while the house clock runs (docs/clock.md) and the device's own wall clock while it is off,
// so that a change of the config's `clock` section applies live, without restarting roles:
// - reference (server, port) or pollMs changed: the house clock retargets (house-clock.ts): the
//   last estimate is served, 'stale', until the new reference has locked;
// - enabled false: the house clock stops; wall() is the OS wall clock again and sync() is
//   undefined (roles trust wall() as shared, as before the house clock);
// - enabled again: a new house clock starts (first lock steps, as at boot);
// - maxUncertaintyUs: only what sync() reports.
// A change whose server name does not resolve is refused by prepare() before anything moves.
// While no house clock runs, status() says why (state 'off', `reason`): `clock.enabled` false, or
// an injected base clock (a simulation, a test) with no UDP stack to reach a reference, which is
// also logged as a warning: the roles then run on that clock's own wall(), and rooms are as far
// apart as its offsets (how the demo house once lost its house clock unnoticed).
// Its lock, steps, jumps, outages and switches are published on hearth/<id>/event/clock.
import { lookup } from 'node:dns/promises';
import type { DeviceConfig } from '../../protocol/index.ts';
import { OnBaseClock, wallAt, type Clock, type ClockSync } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import type { HalOverrides } from '../core/hal-overrides.ts';
import { openUdp } from '../hal/open.ts';
import { HouseClock, type HouseClockTarget } from './house-clock.ts';

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

const resolveV4 = async (host: string) => (/^\d+\.\d+\.\d+\.\d+$/.test(host) ? host : (await lookup(host, { family: 4 })).address);

/** What the config asks of the house clock; undefined: off. */
function targetOf(config: DeviceConfig): Required<Pick<HouseClockTarget, 'server' | 'port' | 'maxUncertaintyUs'>> & HouseClockTarget {
  return { ...referenceOf(config), pollMs: config.clock?.pollMs, maxUncertaintyUs: config.clock?.maxUncertaintyUs ?? 500 };
}

export interface RuntimeClockDeps {
  hal: HalOverrides;
  /** The base clock was injected (tests, simulations): its wall() is not the OS clock. */
  injectedClock: boolean;
  log: Logger;
  publishEvent(role: string, type: string, message: string, data?: Record<string, unknown>): void;
  /** Host name → IPv4 (default dns.lookup). */
  resolve?: (host: string) => Promise<string>;
}

/** Why no house clock runs (status().reason). */
export const OFF_BY_CONFIG = 'clock.enabled is false';
export const OFF_NO_UDP =
  "an injected clock without a UDP stack (hal.udp): no way to reach a reference; roles use the injected clock's wall()";

export class RuntimeClock extends OnBaseClock {
  private house: HouseClock | undefined;
  private offReason: string | undefined;
  private readonly log: Logger;

  constructor(
    base: Clock,
    private readonly d: RuntimeClockDeps,
  ) {
    super(base);
    this.log = d.log.child({ part: 'clock' });
  }

  wall(): number {
    return this.house ? this.house.wall() : this.base.wall();
  }
  both(): { now: number; wall: number } {
    return this.house ? this.house.both() : this.base.both();
  }
  wallAt(t: number): number {
    return this.house ? this.house.wallAt(t) : wallAt(this.base, t);
  }
  /** The house clock's status while it runs; undefined while it is off (wall() trusted as shared). */
  sync(): ClockSync | undefined {
    return this.house?.sync();
  }

  /** For the device's telemetry: sync(), or while no house clock runs, state 'off' and why. */
  status(): ClockSync {
    return (
      this.house?.sync() ?? {
        state: 'off',
        reference: 'none',
        queries: 0,
        faults: 0,
        jumps: 0,
        steps: 0,
        reason: this.offReason ?? OFF_BY_CONFIG,
      }
    );
  }

  /** The running house clock, if any. */
  get houseClock(): HouseClock | undefined {
    return this.house;
  }

  /** Starts what `config` asks for, at boot: a server name that does not resolve yet is retried by the client. */
  async start(config: DeviceConfig): Promise<void> {
    await this.applyTarget(config);
  }

  /**
   * Checks that `next`'s clock section can be applied (its server name resolves, when the reference
   * changes) and returns the step that applies it. Throws, with nothing changed, if it cannot.
   */
  async prepare(next: DeviceConfig, applied: DeviceConfig): Promise<() => Promise<void>> {
    const want = next.clock?.enabled !== false;
    if (want) {
      const t = targetOf(next);
      const had = applied.clock?.enabled !== false ? targetOf(applied) : undefined;
      if (!had || t.server !== had.server) {
        try {
          await (this.d.resolve ?? resolveV4)(t.server);
        } catch (e) {
          throw new Error(`clock.server ${t.server} does not resolve (${(e as Error).message})`, { cause: e });
        }
      }
    }
    return () => this.applyTarget(next);
  }

  private async applyTarget(config: DeviceConfig): Promise<void> {
    if (config.clock?.enabled === false) {
      this.offReason = OFF_BY_CONFIG;
      if (!this.house) return;
      const h = this.house;
      this.house = undefined;
      await h.stop();
      this.event('switch', `house clock off (clock.enabled false): players and sources use this device's OS wall clock`);
      return;
    }
    if (this.d.injectedClock && !this.d.hal.udp) {
      if (this.offReason !== OFF_NO_UDP) this.log.warn(`no house clock: ${OFF_NO_UDP}`);
      this.offReason = OFF_NO_UDP;
      return;
    }
    this.offReason = undefined;
    const t = targetOf(config);
    if (this.house) {
      await this.house.retarget(t);
      return;
    }
    const house = new HouseClock(this.base, {
      stack: await openUdp({}, { clock: this.base, log: this.log, hal: this.d.hal }),
      ...t,
      resolve: this.d.resolve ?? resolveV4,
      // The OS wall clock read fresh (RealClock.wall() is fixed at process start), for the reported offset.
      ...(this.d.injectedClock ? {} : { osWall: () => Date.now() }),
      onEvent: (type, message) => this.event(type, message),
    });
    this.house = house;
    house.start().catch((e: Error) => this.log.warn(`house clock did not start: ${e.message}`));
  }

  private event(type: string, message: string): void {
    this.log.info(message);
    this.d.publishEvent('clock', type, message);
  }

  async stop(): Promise<void> {
    await this.house?.stop();
  }
}
