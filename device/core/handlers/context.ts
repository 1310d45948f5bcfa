// What a request handler may use: the device's identity and topics, its applied config, the
// supervisor, the publisher, and the few runtime operations a config change needs. One handler
// per request kind lives beside this file (config-set.ts, command.ts).
import type { DeviceConfig, RoleSpec, Topics, TObject } from '../../../protocol/index.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Supervisor } from '../supervisor.ts';
import type { Publisher } from '../publisher.ts';
import type { TrialOutcome } from '../mqtt-trial.ts';

export interface RequestContext {
  id: string;
  topics: Topics;
  clock: Clock;
  log: Logger;
  specs: readonly RoleSpec[];
  /** The device config schema over these specs (normalizeConfig runs their checks too). */
  schema: TObject;
  supervisor: Supervisor;
  publisher: Publisher;
  applied(): { config: DeviceConfig; revision: number };
  /** Saves an applied config (atomically, last good kept) and returns its revision. */
  save(config: DeviceConfig): Promise<number>;
  /** Makes `config` at `revision` the applied one (log level, telemetry period follow). */
  commit(config: DeviceConfig, revision: number): void;
  /** Runs config changes one at a time. */
  serial<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Checks that `next`'s `clock` section can be applied live (throws, nothing changed, if not) and
   * returns the step that applies it (device/clock/runtime-clock.ts).
   */
  prepareClock(next: DeviceConfig, applied: DeviceConfig): Promise<() => Promise<void>>;
  /** Moves the link to `next`'s broker settings, with a bounded trial unless `trial` is false. */
  switchBroker(next: DeviceConfig, back: DeviceConfig, trial?: boolean): Promise<TrialOutcome>;
}
