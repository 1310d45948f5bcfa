// Hardware adapters a test or a simulation injects in place of the real ones. Each HAL module
// adds its own field by declaration merging, so this file never needs editing:
//
//   declare module '../core/hal-overrides.ts' { interface HalOverrides { gpio?: GpioFactory } }
//
// Production passes an empty object and every role opens its real adapters from its config.
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface HalOverrides {}
