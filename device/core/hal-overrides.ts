// Hardware adapters a test or a simulation injects in place of the real ones. Each HAL module
// adds its own field by declaration merging, so this file never needs editing:
//
//   declare module '../core/hal-overrides.ts' { interface HalOverrides { gpio?: EdgeFactory<GpioConfig, Gpio> } }
//
// Production passes an empty object and every role opens its real adapters from its config, all
// through device/hal/open.ts, which looks here first.
import type { Clock } from './clock.ts';
import type { Logger } from './log.ts';

// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface HalOverrides {}

/** What every hardware edge is opened with, besides its config (device/hal/open.ts). */
export interface EdgeDeps {
  clock: Clock;
  log: Logger;
  hal: HalOverrides;
}

/** An injected adapter for one edge: the same (config, deps) the real adapter is opened with. */
export type EdgeFactory<C, A> = (config: C, deps: EdgeDeps) => A | Promise<A>;
