// tuner: drives an AH-4-style antenna tuner (LDG AT-7000) from GPIO. START is pressed by pattern
// (press length picks the mode), KEY is watched for the outcome, an optional relay powers the
// tuner (erase memories = START held while it powers up), an optional PTT output keys the radio
// while KEY asks for carrier, and a physical button on the Pi is passed through or mapped.
import { Type, Obj, literalValues, type Static } from '../kit.ts';
import { defineRole, type HaEntity } from '../role-spec.ts';
import { detailTemplate } from '../ha.ts';
import { tunerConfigProblems } from './tuner-rules.ts';
import { TuneMode, TunerConfig } from './tuner-config.ts';

export * from './tuner-config.ts';

export const TuneOutcome = Type.Union(
  [
    Type.Literal('tuned'),
    Type.Literal('bypassed'),
    Type.Literal('failed'),
    Type.Literal('no-response'),
    Type.Literal('stuck'),
    Type.Literal('erased'),
    Type.Literal('aborted'),
    Type.Literal('press-window'),
  ],
  {
    description:
      "tuned (KEY asserted then released normally), bypassed (bypass press, and KEY stayed released), failed (KEY gave the failure pulse pattern), no-response (KEY never asserted), stuck (KEY held past keyMaxMs), erased, aborted (role stopped mid-way), press-window (the measured press was not inside the asked mode's window by the margin, or KEY behaved as another mode: `mode` says what the tuner most likely did)",
  },
);
export type TuneOutcome = Static<typeof TuneOutcome>;

export const PressSource = Type.Union([Type.Literal('command'), Type.Literal('button'), Type.Literal('pass-through')]);
export type PressSource = Static<typeof PressSource>;

export const KeyTimings = Obj({
  delayMs: Type.Union([Type.Number(), Type.Null()], { description: 'press end → KEY first asserted (null: never)' }),
  lowMs: Type.Union([Type.Number(), Type.Null()], { description: 'length of the first (main) KEY assertion' }),
  totalMs: Type.Union([Type.Number(), Type.Null()], { description: 'first assertion → last release' }),
  pulses: Type.Integer({ description: 'short KEY pulses after the main assertion' }),
  segments: Type.Array(Type.Array(Type.Number(), { minItems: 2, maxItems: 2 }), {
    description: '[start, length] of each KEY assertion, ms after the press ended (at most 32)',
  }),
});
export type KeyTimings = Static<typeof KeyTimings>;

export const TuneResult = Obj({
  mode: Type.Union([TuneMode, Type.Literal('erase')], {
    description:
      'what the tuner most likely did: the mode of the measured press, corrected by KEY (a tune when KEY asserted after a bypass-length press); erase for erase-memories',
  }),
  requested: Type.Union([TuneMode, Type.Null()], {
    description: 'the mode asked for (tune, a mapped button, or the window a press length sits in); null for pass-through and erase',
  }),
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

export const TunerStatus = Type.Union(
  [Type.Literal('idle'), Type.Literal('pressing'), Type.Literal('tuning'), Type.Literal('erasing'), Type.Literal('error')],
  {
    description:
      'idle (ready), pressing (START held), tuning (press done, watching KEY), erasing (power cycle with START held), error (the last operation failed; still ready)',
  },
);
export type TunerStatus = Static<typeof TunerStatus>;

export const TunerState = Obj({
  status: TunerStatus,
  adapter: Type.String({ description: 'GPIO adapter in use: rpio, chardev or sim' }),
  operation: Type.Union([
    Obj({
      kind: Type.Union([Type.Literal('tune'), Type.Literal('press'), Type.Literal('erase')]),
      mode: Type.Optional(TuneMode),
      source: PressSource,
      since: Type.String(),
    }),
    Type.Null(),
  ]),
  key: Type.Boolean({ description: 'KEY asserted now' }),
  start: Type.Boolean({ description: 'START held now' }),
  ptt: Type.Optional(Type.Boolean()),
  powered: Type.Optional(Type.Boolean()),
  button: Type.Optional(Type.Union([Type.Literal('pass-through'), Type.Literal('mapped')])),
  last: Type.Union([TuneResult, Type.Null()]),
  error: Type.Optional(Type.String({ description: 'while status is error: what went wrong' })),
  counts: Obj({
    presses: Type.Integer(),
    tunes: Type.Integer(),
    failures: Type.Integer(),
    buttonPresses: Type.Integer(),
    faults: Type.Integer(),
  }),
});
export type TunerState = Static<typeof TunerState>;

export const TunerEventType = Type.Union([
  Type.Literal('press'),
  Type.Literal('tune'),
  Type.Literal('button'),
  Type.Literal('erase'),
  Type.Literal('fault'),
]);
export type TunerEventType = Static<typeof TunerEventType>;

const ButtonClass = Type.Union([Type.Literal('short'), Type.Literal('medium'), Type.Literal('long')]);

/** The `data` of hearth/<id>/event/tuner, per event type. */
export const TunerEvents = {
  press: Obj(
    {
      mode: Type.Union([TuneMode, Type.Literal('erase')], { description: 'the mode the tuner reads from the measured press' }),
      source: PressSource,
      requestedMs: Type.Union([Type.Number(), Type.Null()], { description: 'asked press length (null for pass-through)' }),
      pressMs: Type.Number({ description: 'measured START press' }),
    },
    { description: 'START was pressed' },
  ),
  tune: Obj(
    { mode: Type.Union([TuneMode, Type.Literal('erase')]), source: PressSource, result: TuneResult },
    { description: 'a tune ended' },
  ),
  erase: Obj({ mode: Type.Literal('erase'), source: PressSource, result: TuneResult }, { description: 'an erase ended' }),
  button: Obj(
    {
      buttonMs: Type.Number({ description: 'measured (debounced) press' }),
      class: ButtonClass,
      action: Type.String({ description: 'what the press did' }),
    },
    { description: 'the physical button was pressed' },
  ),
  fault: Obj(
    {
      fault: Type.String({ description: 'kind: key-stuck, ptt-limit, press-window, action-failed, busy, button-stuck, gpio' }),
      mode: Type.Optional(TuneMode),
      pressMs: Type.Optional(Type.Number({ description: 'press-window: the measured press' })),
      action: Type.Optional(Type.String({ description: 'action-failed: the button action' })),
    },
    { description: 'something went wrong (the role stays ready)' },
  ),
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
  check: (c: TunerConfig) => tunerConfigProblems(c),
  commands: {
    tune: {
      description:
        'presses START for a mode and waits for KEY; replies with the result only when the tuner did that mode: a press not inside the window by the margin, or KEY answering a bypass with a tune, is "failed" with reason "press-window" (failure pulses → "failed", no KEY → "timeout"); refused with "busy" while another operation runs',
      args: Obj({ mode: TuneMode }),
      result: TuneResult,
      maxMs: (cfg) => tunerOperationMaxMs(cfg),
    },
    press: {
      description:
        'presses START for ms milliseconds (20–10000); the tuner picks the mode from the length, so a length within margins.guardMs of a window edge is refused ("invalid"); replies like tune',
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
  // A button per tune mode (read from the schema), the last outcome, and the physical button as an
  // event (short/medium/long in mapped mode, "press" in pass-through).
  homeassistant: (ha) => [
    ...literalValues(TuneMode).map((mode): HaEntity => ({
      key: `tune_${mode}`,
      component: { p: 'button', name: `Tune ${mode}`, icon: 'mdi:antenna', command_topic: ha.haCommandTopic(`tune_${mode}`) },
      command: () => [{ role: 'tuner', action: 'tune', args: { mode } }],
    })),
    {
      key: 'last_outcome',
      component: {
        p: 'sensor',
        name: 'Last tune',
        icon: 'mdi:antenna',
        state_topic: ha.stateTopic,
        value_template: detailTemplate('last.outcome'),
        json_attributes_topic: ha.stateTopic,
        json_attributes_template:
          '{{ (value_json.detail.last if value_json.detail is defined and value_json.detail.last else {}) | tojson }}',
      },
    },
    {
      key: 'button',
      component: {
        p: 'event',
        name: 'Button',
        icon: 'mdi:gesture-tap-button',
        state_topic: ha.eventTopic,
        event_types: ['short', 'medium', 'long', 'press'],
        value_template:
          '{% if value_json.type == \'button\' %}{"event_type": "{{ value_json.data.class if value_json.data is defined and value_json.data.class is defined else \'press\' }}"}{% else %}{}{% endif %}',
      },
    },
  ],
});
