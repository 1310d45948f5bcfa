// The house clock: the device config's `clock` section (where the reference is), the hub's NTP
// server settings, and the clock status every player and source carries in its state and telemetry.
import { Type, Obj, Port, type Static } from './kit.ts';

/** Where hearth's own NTP server listens when port 123 is not ours to bind (unprivileged, or taken by chrony). */
export const NTP_FALLBACK_PORT = 10123;

export const ClockConfig = Obj(
  {
    server: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        pattern: '^[A-Za-z0-9.:_-]+$',
        description: 'the house time reference: an NTP server (default: the host of mqtt.url: the hub)',
      }),
    ),
    port: Type.Optional(Port('its UDP port (default 123)')),
    pollMs: Type.Optional(
      Type.Integer({
        minimum: 1000,
        maximum: 64_000,
        description: 'query interval once locked (default 1024 ms: under 60 queries a minute)',
      }),
    ),
    maxUncertaintyUs: Type.Optional(
      Type.Number({
        minimum: 10,
        maximum: 100_000,
        description: 'a player whose house clock is less sure than this says so in its state and an event (default 500 µs)',
      }),
    ),
    enabled: Type.Optional(
      Type.Boolean({
        description: "run the house clock (default true); off, players and sources use this device's OS wall clock as before",
      }),
    ),
  },
  { description: "the house clock: this device's estimate of the house time reference (NTP), on its monotonic clock" },
);
export type ClockConfig = Static<typeof ClockConfig>;

export const NtpServerConfig = Obj(
  {
    enabled: Type.Optional(Type.Boolean({ description: 'serve house time (default true)' })),
    host: Type.Optional(Type.String({ description: "address to bind (default: the hub's MQTT host, else 0.0.0.0)" })),
    port: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 65535,
        description: `UDP port (default 123; without the right to bind it, or with it taken by chrony, ${NTP_FALLBACK_PORT}; 0 picks a free one)`,
      }),
    ),
  },
  { description: "hearth's own NTP server (house time = a fixed anchor + the hub's monotonic clock), for a house without chrony" },
);
export type NtpServerConfig = Static<typeof NtpServerConfig>;

export const ClockState = Type.Union(
  ['unsynced', 'locking', 'locked', 'stale', 'off'].map((s) => Type.Literal(s)),
  {
    description:
      'unsynced: no reply yet (OS wall clock in use; players map by arrivals); locking: replies coming, not enough yet; locked: in house time; stale: the reference stopped answering, the last estimate is extrapolated; off: no house clock configured',
  },
);

export const ClockStatusFields = {
  state: ClockState,
  reference: Type.String({ description: 'the reference in use, host:port' }),
  offsetMs: Type.Optional(
    Type.Number({
      description: "house time minus this device's OS wall clock (ms; read through the OS clock's whole milliseconds, so ±1 ms)",
    }),
  ),
  monoOffsetUs: Type.Optional(
    Type.Integer({
      description:
        "house time minus this device's monotonic clock (CLOCK_MONOTONIC; an injected clock's now() in simulations), µs: what wall() serves, to the µs, with no OS clock read; its change over time is the house clock's own correction",
    }),
  ),
  uncertaintyUs: Type.Optional(
    Type.Number({ description: 'about 95 % bound of the house time estimate (± µs), growing while the reference is silent' }),
  ),
  lastReachedS: Type.Optional(Type.Number({ description: 'seconds since the reference last answered' })),
  ratePpm: Type.Optional(Type.Number({ description: "this device's monotonic clock vs house time (ppm)" })),
  maxUncertaintyUs: Type.Optional(Type.Number({ description: 'what sync needs: clock.maxUncertaintyUs' })),
  queries: Type.Integer({ description: 'NTP queries sent since start' }),
  faults: Type.Integer({ description: "replies refused (garbage, unexpected, kiss-o'-death, unsynchronised, inconsistent) and timeouts" }),
  jumps: Type.Integer({ description: 'times the reference itself jumped (restart, step) and was re-locked' }),
  steps: Type.Integer({ description: 'times house time was stepped instead of slewed after the first lock' }),
  reason: Type.Optional(
    Type.String({
      description:
        "off: why no house clock runs (clock.enabled is false, or an injected clock without a UDP stack: a simulation's roles then use that clock's own wall time)",
    }),
  ),
};
export const ClockStatus = Obj(ClockStatusFields, { description: 'the house clock this role runs on' });
export type ClockStatus = Static<typeof ClockStatus>;
