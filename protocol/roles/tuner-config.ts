// The tuner's config slice (TypeBox) and the adapters' worst-case press error its guard margin is
// bounded by. Apart from tuner.ts so that its rules (tuner-rules.ts) and its spec (tuner.ts) both
// import it without importing each other.
import { Type, Obj, Id, type Static } from '../kit.ts';

/**
 * Worst-case error of one timed press, per adapter, in ms: what `npm run bench -- tuner` measures
 * under load (press_error_max_ms_loaded, target ≤ 5 ms) with headroom. The guard margin may not
 * be smaller, and a measured press is trusted only where a press this far off could land.
 */
export const PRESS_ERROR_BOUND_MS: Record<Exclude<GpioAdapterName, 'auto'>, number> = { sim: 5, rpio: 5, chardev: 10 };

export const TuneMode = Type.Union([Type.Literal('bypass'), Type.Literal('memory'), Type.Literal('full')], {
  description: 'bypass (short press), memory tune (medium press) or full tune (long press)',
});
export type TuneMode = Static<typeof TuneMode>;

const LineNo = (description: string) => Type.Integer({ minimum: 0, maximum: 511, description });
const ActiveLow = (description: string) => Type.Optional(Type.Boolean({ description }));
export const Bias = Type.Union([Type.Literal('pull-up'), Type.Literal('pull-down'), Type.Literal('disable'), Type.Literal('as-is')], {
  description: 'input bias resistor (rpio and chardev honour it; as-is leaves the pin alone)',
});
export type Bias = Static<typeof Bias>;

export const GpioAdapterName = Type.Union([Type.Literal('auto'), Type.Literal('rpio'), Type.Literal('chardev'), Type.Literal('sim')], {
  description:
    'auto (default: Pi 5 → chardev, Pi 1–4 → rpio, anything else → sim with a warning), rpio, chardev (Linux GPIO character device via the gpiod tools) or sim',
});
export type GpioAdapterName = Static<typeof GpioAdapterName>;

/** What a mapped button press does: a tuner mode on this device, or any device's command over MQTT. */
export const ButtonAction = Type.Union(
  [
    Obj({ tune: TuneMode }, { description: 'press START for this mode on this tuner' }),
    Obj(
      {
        device: Id('device that runs the command (may be this one)'),
        role: Id('role on that device, e.g. waker'),
        action: Type.String({ pattern: '^[a-z][a-z0-9-]{0,63}$', description: 'command name, e.g. wake' }),
        args: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'command arguments' })),
      },
      { description: 'send hearth/<device>/cmd/<role>/<action> with these arguments' },
    ),
  ],
  { description: "a tuner mode, or another device's command" },
);
export type ButtonAction = Static<typeof ButtonAction>;

export const TunerButton = Obj(
  {
    line: LineNo('GPIO line (BCM number) of the button; the button shorts it to ground'),
    activeLow: ActiveLow('pressed reads low (default true: button to ground, pull-up)'),
    bias: Type.Optional(Bias),
    debounceMs: Type.Optional(
      Type.Number({ minimum: 1, maximum: 200, description: 'a level must hold this long to count (default 30 ms)' }),
    ),
    mode: Type.Union([Type.Literal('pass-through'), Type.Literal('mapped')], {
      description:
        'pass-through: START follows the button (the tuner picks the mode from the press length, as with the hand-made button); mapped: short/medium/long presses run the actions below',
    }),
    mediumMs: Type.Optional(
      Type.Number({ minimum: 50, maximum: 30_000, description: 'mapped: presses at least this long are medium (default 1000 ms)' }),
    ),
    longMs: Type.Optional(
      Type.Number({ minimum: 100, maximum: 60_000, description: 'mapped: presses at least this long are long (default 3000 ms)' }),
    ),
    short: Type.Optional(ButtonAction),
    medium: Type.Optional(ButtonAction),
    long: Type.Optional(ButtonAction),
  },
  { description: 'the physical button on the Pi' },
);
export type TunerButton = Static<typeof TunerButton>;

export const TunerConfig = Obj(
  {
    gpio: Type.Optional(
      Obj(
        {
          adapter: Type.Optional(GpioAdapterName),
          chip: Type.Optional(
            Type.String({
              pattern: '^[A-Za-z0-9_./-]{1,64}$',
              description: 'chardev: GPIO chip name or path (default gpiochip0; gpiochip4 on early Pi 5 kernels)',
            }),
          ),
        },
        { description: 'which GPIO adapter drives the lines' },
      ),
    ),
    start: Obj(
      {
        line: LineNo('GPIO line (BCM number) driving the START transistor/opto'),
        activeLow: ActiveLow('pressed = GPIO low (default false: GPIO high turns the transistor on, which pulls START to ground)'),
      },
      { description: 'START output (radio → tuner); never wire 3.3 V straight onto START' },
    ),
    key: Obj(
      {
        line: LineNo('GPIO line (BCM number) reading KEY'),
        activeLow: ActiveLow('KEY asserted = GPIO low (default true: the tuner pulls KEY to ground)'),
        bias: Type.Optional(Bias),
      },
      { description: 'KEY input (tuner → radio), pull-up to 3.3 V' },
    ),
    power: Type.Optional(
      Obj(
        {
          line: LineNo("GPIO line switching the tuner's power relay"),
          activeLow: ActiveLow('relay on = GPIO low (default false)'),
          cutsPower: Type.Optional(
            Type.Boolean({
              description:
                "the relay cuts the tuner's power when energised (normally-closed contact), so the tuner keeps power while the Pi is off or restarting (default false: energised = powered)",
            }),
          ),
          offMs: Type.Optional(
            Type.Integer({
              minimum: 100,
              maximum: 30_000,
              description: 'erase: power stays off this long before START is pressed and power returns (default 2000 ms)',
            }),
          ),
        },
        { description: 'optional power relay (needed to erase memories); the tuner is powered while the role runs' },
      ),
    ),
    ptt: Type.Optional(
      Obj(
        {
          line: LineNo('GPIO line keying the radio (PTT)'),
          activeLow: ActiveLow('transmit = GPIO low (default false)'),
          maxMs: Type.Optional(
            Type.Integer({
              minimum: 500,
              maximum: 20_000,
              description: 'hard maximum transmit time per tune (default 10000 ms, at most 20 s)',
            }),
          ),
        },
        { description: "optional PTT output: keys the radio's carrier while KEY asks for it (off unless configured)" },
      ),
    ),
    button: Type.Optional(TunerButton),
    presses: Type.Optional(
      Obj(
        {
          bypassMs: Type.Optional(Type.Integer({ minimum: 20, maximum: 60_000, description: 'bypass press length (default 250 ms)' })),
          memoryMs: Type.Optional(
            Type.Integer({ minimum: 20, maximum: 60_000, description: 'memory tune press length (default 1500 ms)' }),
          ),
          fullMs: Type.Optional(Type.Integer({ minimum: 20, maximum: 60_000, description: 'full tune press length (default 3500 ms)' })),
        },
        { description: 'press lengths; each must sit at least margins.guardMs inside its window' },
      ),
    ),
    margins: Type.Optional(
      Obj(
        {
          guardMs: Type.Optional(
            Type.Integer({
              minimum: Math.min(...Object.values(PRESS_ERROR_BOUND_MS)),
              maximum: 10_000,
              description:
                "every press length sits at least this far inside its window, and a measured press closer to an edge than guardMs minus the adapter's worst-case press error is a failed press (default 100 ms; never below that worst case: sim 5, rpio 5, chardev 10 ms, auto 10 ms)",
            }),
          ),
        },
        { description: "guard margins around the window edges, where the tuner's reading of a press is uncertain" },
      ),
    ),
    windows: Type.Optional(
      Obj(
        {
          bypassBelowMs: Type.Optional(
            Type.Integer({ minimum: 20, maximum: 60_000, description: 'presses shorter than this are bypass (default 500 ms)' }),
          ),
          fullAboveMs: Type.Optional(
            Type.Integer({ minimum: 40, maximum: 60_000, description: 'presses longer than this are full tune (default 2500 ms)' }),
          ),
        },
        { description: "the tuner's press-length thresholds" },
      ),
    ),
    minGapMs: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 60_000,
        description: 'minimum gap between the end of one operation and the next press (default 1000 ms)',
      }),
    ),
    keyResponseMs: Type.Optional(
      Type.Integer({
        minimum: 50,
        maximum: 60_000,
        description: 'KEY must assert within this long after the press ends, else no-response (default 2000 ms)',
      }),
    ),
    keyMaxMs: Type.Optional(
      Type.Integer({ minimum: 100, maximum: 120_000, description: 'KEY held longer than this is stuck (default 30000 ms)' }),
    ),
    settleMs: Type.Optional(
      Type.Integer({
        minimum: 50,
        maximum: 10_000,
        description: 'KEY released this long ends the tune (failure pulses come inside it; default 700 ms)',
      }),
    ),
    failurePulses: Type.Optional(
      Obj(
        {
          count: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 20, description: 'this many short KEY pulses after the tune mean failure (default 3)' }),
          ),
          maxMs: Type.Optional(
            Type.Integer({ minimum: 5, maximum: 2000, description: 'a KEY low at most this long is a pulse (default 250 ms)' }),
          ),
        },
        { description: 'the KEY pulse pattern that reports a failed tune, where the tuner gives one' },
      ),
    ),
    eraseHoldMs: Type.Optional(
      Type.Integer({
        minimum: 500,
        maximum: 30_000,
        description: 'erase: START stays held this long after power returns (default 5000 ms)',
      }),
    ),
  },
  { description: 'antenna tuner on GPIO: START presses, KEY watch, optional relay, PTT and button' },
);
export type TunerConfig = Static<typeof TunerConfig>;
