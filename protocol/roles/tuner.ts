// tuner: drives an AH-4-style antenna tuner (LDG AT-7000) from GPIO. START is pressed by pattern
// (press length picks the mode), KEY is watched for the outcome, an optional relay powers the
// tuner (erase memories = START held while it powers up), an optional PTT output keys the radio
// while KEY asks for carrier, and a physical button on the Pi is passed through or mapped.
import { Type, Obj, Id, literalValues, type Static } from '../kit.ts';
import { defineRole } from '../role-spec.ts';

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
  description: 'auto (default: Pi 5 → chardev, Pi 1–4 → rpio, anything else → sim with a warning), rpio, chardev (Linux GPIO character device via the gpiod tools) or sim',
});
export type GpioAdapterName = Static<typeof GpioAdapterName>;

/** What a mapped button press does: a tuner mode on this device, or any device's command over MQTT. */
export const ButtonAction = Type.Union([
  Obj({ tune: TuneMode }, { description: 'press START for this mode on this tuner' }),
  Obj({
    device: Id('device that runs the command (may be this one)'),
    role: Id('role on that device, e.g. waker'),
    action: Type.String({ pattern: '^[a-z][a-z0-9-]{0,63}$', description: 'command name, e.g. wake' }),
    args: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'command arguments' })),
  }, { description: 'send hearth/<device>/cmd/<role>/<action> with these arguments' }),
], { description: 'a tuner mode, or another device\'s command' });
export type ButtonAction = Static<typeof ButtonAction>;

export const TunerButton = Obj({
  line: LineNo('GPIO line (BCM number) of the button; the button shorts it to ground'),
  activeLow: ActiveLow('pressed reads low (default true: button to ground, pull-up)'),
  bias: Type.Optional(Bias),
  debounceMs: Type.Optional(Type.Number({ minimum: 1, maximum: 200, description: 'a level must hold this long to count (default 30 ms)' })),
  mode: Type.Union([Type.Literal('pass-through'), Type.Literal('mapped')], {
    description: 'pass-through: START follows the button (the tuner picks the mode from the press length, as with the hand-made button); mapped: short/medium/long presses run the actions below',
  }),
  mediumMs: Type.Optional(Type.Number({ minimum: 50, maximum: 30_000, description: 'mapped: presses at least this long are medium (default 1000 ms)' })),
  longMs: Type.Optional(Type.Number({ minimum: 100, maximum: 60_000, description: 'mapped: presses at least this long are long (default 3000 ms)' })),
  short: Type.Optional(ButtonAction),
  medium: Type.Optional(ButtonAction),
  long: Type.Optional(ButtonAction),
}, { description: 'the physical button on the Pi' });
export type TunerButton = Static<typeof TunerButton>;

export const TunerConfig = Obj(
  {
    gpio: Type.Optional(Obj({
      adapter: Type.Optional(GpioAdapterName),
      chip: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_./-]{1,64}$', description: 'chardev: GPIO chip name or path (default gpiochip0; gpiochip4 on early Pi 5 kernels)' })),
    }, { description: 'which GPIO adapter drives the lines' })),
    start: Obj({
      line: LineNo('GPIO line (BCM number) driving the START transistor/opto'),
      activeLow: ActiveLow('pressed = GPIO low (default false: GPIO high turns the transistor on, which pulls START to ground)'),
    }, { description: 'START output (radio → tuner); never wire 3.3 V straight onto START' }),
    key: Obj({
      line: LineNo('GPIO line (BCM number) reading KEY'),
      activeLow: ActiveLow('KEY asserted = GPIO low (default true: the tuner pulls KEY to ground)'),
      bias: Type.Optional(Bias),
    }, { description: 'KEY input (tuner → radio), pull-up to 3.3 V' }),
    power: Type.Optional(Obj({
      line: LineNo('GPIO line switching the tuner\'s power relay'),
      activeLow: ActiveLow('relay on = GPIO low (default false)'),
      cutsPower: Type.Optional(Type.Boolean({ description: 'the relay cuts the tuner\'s power when energised (normally-closed contact), so the tuner keeps power while the Pi is off or restarting (default false: energised = powered)' })),
      offMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 30_000, description: 'erase: power stays off this long before START is pressed and power returns (default 2000 ms)' })),
    }, { description: 'optional power relay (needed to erase memories); the tuner is powered while the role runs' })),
    ptt: Type.Optional(Obj({
      line: LineNo('GPIO line keying the radio (PTT)'),
      activeLow: ActiveLow('transmit = GPIO low (default false)'),
      maxMs: Type.Optional(Type.Integer({ minimum: 500, maximum: 20_000, description: 'hard maximum transmit time per tune (default 10000 ms, at most 20 s)' })),
    }, { description: 'optional PTT output: keys the radio\'s carrier while KEY asks for it (off unless configured)' })),
    button: Type.Optional(TunerButton),
    presses: Type.Optional(Obj({
      bypassMs: Type.Optional(Type.Integer({ minimum: 20, maximum: 60_000, description: 'bypass press length (default 250 ms)' })),
      memoryMs: Type.Optional(Type.Integer({ minimum: 20, maximum: 60_000, description: 'memory tune press length (default 1500 ms)' })),
      fullMs: Type.Optional(Type.Integer({ minimum: 20, maximum: 60_000, description: 'full tune press length (default 3500 ms)' })),
    }, { description: 'press lengths; each must sit inside its window' })),
    windows: Type.Optional(Obj({
      bypassBelowMs: Type.Optional(Type.Integer({ minimum: 20, maximum: 60_000, description: 'presses shorter than this are bypass (default 500 ms)' })),
      fullAboveMs: Type.Optional(Type.Integer({ minimum: 40, maximum: 60_000, description: 'presses longer than this are full tune (default 2500 ms)' })),
    }, { description: 'the tuner\'s press-length thresholds' })),
    minGapMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000, description: 'minimum gap between the end of one operation and the next press (default 1000 ms)' })),
    keyResponseMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 60_000, description: 'KEY must assert within this long after the press ends, else no-response (default 2000 ms)' })),
    keyMaxMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 120_000, description: 'KEY held longer than this is stuck (default 30000 ms)' })),
    settleMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 10_000, description: 'KEY released this long ends the tune (failure pulses come inside it; default 700 ms)' })),
    failurePulses: Type.Optional(Obj({
      count: Type.Optional(Type.Integer({ minimum: 1, maximum: 20, description: 'this many short KEY pulses after the tune mean failure (default 3)' })),
      maxMs: Type.Optional(Type.Integer({ minimum: 5, maximum: 2000, description: 'a KEY low at most this long is a pulse (default 250 ms)' })),
    }, { description: 'the KEY pulse pattern that reports a failed tune, where the tuner gives one' })),
    eraseHoldMs: Type.Optional(Type.Integer({ minimum: 500, maximum: 30_000, description: 'erase: START stays held this long after power returns (default 5000 ms)' })),
  },
  { description: 'antenna tuner on GPIO: START presses, KEY watch, optional relay, PTT and button' },
);
export type TunerConfig = Static<typeof TunerConfig>;

export const TuneOutcome = Type.Union([Type.Literal('tuned'), Type.Literal('bypassed'), Type.Literal('failed'), Type.Literal('no-response'), Type.Literal('stuck'), Type.Literal('erased'), Type.Literal('aborted')], {
  description: 'tuned (KEY asserted then released normally), bypassed (bypass press, no KEY expected), failed (KEY gave the failure pulse pattern), no-response (KEY never asserted), stuck (KEY held past keyMaxMs), erased, aborted (role stopped mid-way)',
});
export type TuneOutcome = Static<typeof TuneOutcome>;

export const PressSource = Type.Union([Type.Literal('command'), Type.Literal('button'), Type.Literal('pass-through')]);
export type PressSource = Static<typeof PressSource>;

export const KeyTimings = Obj({
  delayMs: Type.Union([Type.Number(), Type.Null()], { description: 'press end → KEY first asserted (null: never)' }),
  lowMs: Type.Union([Type.Number(), Type.Null()], { description: 'length of the first (main) KEY assertion' }),
  totalMs: Type.Union([Type.Number(), Type.Null()], { description: 'first assertion → last release' }),
  pulses: Type.Integer({ description: 'short KEY pulses after the main assertion' }),
  segments: Type.Array(Type.Array(Type.Number(), { minItems: 2, maxItems: 2 }), { description: '[start, length] of each KEY assertion, ms after the press ended (at most 32)' }),
});
export type KeyTimings = Static<typeof KeyTimings>;

export const TuneResult = Obj({
  mode: Type.Union([TuneMode, Type.Literal('erase')], { description: 'the mode the tuner read from the measured press (erase for erase-memories)' }),
  source: PressSource,
  outcome: TuneOutcome,
  requestedMs: Type.Union([Type.Number(), Type.Null()], { description: 'asked press length (null for pass-through)' }),
  pressMs: Type.Number({ description: 'measured START press, edge to edge' }),
  key: KeyTimings,
  pttMs: Type.Optional(Type.Number({ description: 'how long PTT was keyed' })),
  at: Type.String({ description: 'ISO time the press started' }),
  message: Type.String(),
});
export type TuneResult = Static<typeof TuneResult>;

export const TunerStatus = Type.Union([Type.Literal('idle'), Type.Literal('pressing'), Type.Literal('tuning'), Type.Literal('erasing'), Type.Literal('error')], {
  description: 'idle (ready), pressing (START held), tuning (press done, watching KEY), erasing (power cycle with START held), error (the last operation failed; still ready)',
});
export type TunerStatus = Static<typeof TunerStatus>;

export const TunerState = Obj({
  status: TunerStatus,
  adapter: Type.String({ description: 'GPIO adapter in use: rpio, chardev or sim' }),
  operation: Type.Union([Obj({ kind: Type.Union([Type.Literal('tune'), Type.Literal('press'), Type.Literal('erase')]), mode: Type.Optional(TuneMode), source: PressSource, since: Type.String() }), Type.Null()]),
  key: Type.Boolean({ description: 'KEY asserted now' }),
  start: Type.Boolean({ description: 'START held now' }),
  ptt: Type.Optional(Type.Boolean()),
  powered: Type.Optional(Type.Boolean()),
  button: Type.Optional(Type.Union([Type.Literal('pass-through'), Type.Literal('mapped')])),
  last: Type.Union([TuneResult, Type.Null()]),
  error: Type.Optional(Type.String({ description: 'while status is error: what went wrong' })),
  counts: Obj({ presses: Type.Integer(), tunes: Type.Integer(), failures: Type.Integer(), buttonPresses: Type.Integer(), faults: Type.Integer() }),
});
export type TunerState = Static<typeof TunerState>;

export const TunerEventType = Type.Union([Type.Literal('press'), Type.Literal('tune'), Type.Literal('button'), Type.Literal('erase'), Type.Literal('fault')]);
export type TunerEventType = Static<typeof TunerEventType>;

const ButtonClass = Type.Union([Type.Literal('short'), Type.Literal('medium'), Type.Literal('long')]);

/** The `data` of hearth/<id>/event/tuner, per event type. */
export const TunerEvents = {
  press: Obj({
    mode: Type.Union([TuneMode, Type.Literal('erase')], { description: 'the mode the tuner reads from the measured press' }),
    source: PressSource,
    requestedMs: Type.Union([Type.Number(), Type.Null()], { description: 'asked press length (null for pass-through)' }),
    pressMs: Type.Number({ description: 'measured START press' }),
  }, { description: 'START was pressed' }),
  tune: Obj({ mode: Type.Union([TuneMode, Type.Literal('erase')]), source: PressSource, result: TuneResult }, { description: 'a tune ended' }),
  erase: Obj({ mode: Type.Literal('erase'), source: PressSource, result: TuneResult }, { description: 'an erase ended' }),
  button: Obj({
    buttonMs: Type.Number({ description: 'measured (debounced) press' }),
    class: ButtonClass,
    action: Type.String({ description: 'what the press did' }),
  }, { description: 'the physical button was pressed' }),
  fault: Obj({
    fault: Type.String({ description: 'kind: key-stuck, ptt-limit, press-window, action-failed, busy, button-stuck, gpio' }),
    mode: Type.Optional(TuneMode),
    pressMs: Type.Optional(Type.Number({ description: 'press-window: the measured press' })),
    action: Type.Optional(Type.String({ description: 'action-failed: the button action' })),
  }, { description: 'something went wrong (the role stays ready)' }),
};

/**
 * How long an operation can take, from the config (defaults where a field is absent): the press,
 * then KEY may take keyResponseMs to assert and keyMaxMs to release, then settleMs of quiet (with
 * any failure pulses inside it); an erase is power off, START held, and the reply at release.
 */
export function tunerOperationMaxMs(cfg: unknown, pressMs?: number): number {
  const c = (cfg ?? {}) as Partial<TunerConfig>;
  const press = pressMs ?? Math.max(c.presses?.fullMs ?? 3500, c.presses?.memoryMs ?? 1500, c.presses?.bypassMs ?? 250);
  return press + (c.keyResponseMs ?? 2000) + (c.keyMaxMs ?? 30_000) + (c.settleMs ?? 700);
}

export const tunerSpec = defineRole({
  name: 'tuner',
  description: 'Antenna tuner (AH-4 interface, LDG AT-7000) on GPIO: timed START presses, KEY watch, power relay, PTT, physical button.',
  config: TunerConfig,
  commands: {
    tune: {
      description: 'presses START for a mode and waits for KEY; replies with the result (failed → "failed", no KEY → "timeout"); refused with "busy" while another operation runs',
      args: Obj({ mode: TuneMode }),
      result: TuneResult,
      maxMs: (cfg) => tunerOperationMaxMs(cfg),
    },
    press: {
      description: 'presses START for ms milliseconds (20–10000); the tuner picks the mode from the length; replies like tune',
      args: Obj({ ms: Type.Integer({ minimum: 20, maximum: 10_000, description: 'press length in ms' }) }),
      result: TuneResult,
      maxMs: (cfg) => tunerOperationMaxMs(cfg, 10_000),
    },
    'erase-memories': {
      description: 'power off, hold START, power on, hold eraseHoldMs, release (needs the power relay)',
      args: Obj({}),
      result: TuneResult,
      maxMs: (cfg) => {
        const c = (cfg ?? {}) as Partial<TunerConfig>;
        return (c.power?.offMs ?? 2000) + (c.eraseHoldMs ?? 5000);
      },
    },
  },
  state: TunerState,
  events: TunerEvents,
  // One Home Assistant button per tune mode, read from the schema.
  homeassistant: (ha) => literalValues(TuneMode).map((mode) => ({
    key: `tune_${mode}`,
    component: { p: 'button', name: `Tune ${mode}`, icon: 'mdi:antenna', command_topic: ha.commandTopic('tune'), payload_press: ha.request('tune', { mode }) },
  })),
});
