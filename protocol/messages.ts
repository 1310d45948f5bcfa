// Device-published messages shared by every device: info, telemetry, role state and event
// envelopes, and stream announcements.
import { ClockStatus } from './clock.ts';
import { Type, Obj, Id, Ipv4, Port, NumberMap, type Static } from './kit.ts';
import { Version, RequestFields } from './envelope.ts';

export const Status = Type.Union([Type.Literal('online'), Type.Literal('offline')], {
  description: 'hearth/<id>/status (retained; "offline" is the broker-sent last will)',
});

export const Info = Obj(
  {
    v: Version,
    device: Type.String(),
    name: Type.Optional(Type.String()),
    runtime: Type.String({ description: 'hearth runtime version' }),
    protocol: Type.Integer({ description: 'protocol version spoken' }),
    accepts: Type.Array(Type.Integer(), { description: 'protocol versions accepted' }),
    roles: Type.Array(Type.String(), { description: 'roles configured' }),
    model: Type.String({ description: 'board model (from the device tree) or "generic"' }),
    hostname: Type.String(),
    addresses: Type.Array(Type.String(), { description: 'non-internal IPv4 addresses' }),
    node: Type.String({ description: 'Node.js version' }),
    bootTime: Type.String({ description: 'ISO time the OS booted' }),
    startedAt: Type.String({ description: 'ISO time the runtime started' }),
  },
  { description: 'hearth/<id>/info (retained)' },
);
export type Info = Static<typeof Info>;

export const RoleStatus = Type.Union(
  ['starting', 'running', 'failed', 'restarting', 'stopped'].map((s) => Type.Literal(s)),
  { description: 'supervisor view of a role' },
);
export type RoleStatus = Static<typeof RoleStatus>;

export const RoleStateEnvelope = Obj(
  {
    v: Version,
    role: Type.String(),
    status: RoleStatus,
    since: Type.String({ description: 'ISO time of the last status change' }),
    restarts: Type.Integer({ description: 'restarts after failures since the runtime started' }),
    error: Type.Optional(Type.String({ description: 'last failure, while failed or restarting' })),
    nextRestartInMs: Type.Optional(Type.Integer()),
    detail: Type.Optional(Type.Unknown({ description: "the role's own state (see the role's reference)" })),
  },
  { description: 'hearth/<id>/state/<role> (retained)' },
);
export type RoleStateEnvelope = Static<typeof RoleStateEnvelope>;

export const EventEnvelope = Obj(
  {
    v: Version,
    ts: Type.String({ description: 'ISO time' }),
    type: Type.String({ description: 'event type, e.g. "role-failed", "wake-sent"' }),
    message: Type.String({ description: 'one readable line' }),
    data: Type.Optional(Type.Unknown({ description: "the event's fields (see the role's reference)" })),
  },
  { description: 'hearth/<id>/event/<role> (not retained)' },
);
export type EventEnvelope = Static<typeof EventEnvelope>;

export const Telemetry = Obj(
  {
    v: Version,
    ts: Type.String(),
    uptimeS: Type.Number({ description: 'runtime uptime' }),
    cpuPct: Type.Number({ description: 'process CPU over the last period, % of one core' }),
    rssMb: Type.Number(),
    heapMb: Type.Number(),
    load1: Type.Number({ description: '1-minute load average' }),
    temperatureC: Type.Optional(Type.Number({ description: 'SoC temperature, where /sys/class/thermal has it' })),
    roles: Type.Record(Type.String(), NumberMap('per-role counters and gauges'), { description: 'per-role figures' }),
    clock: Type.Optional(ClockStatus),
  },
  { description: 'hearth/<id>/telemetry (periodic, not retained)' },
);
export type Telemetry = Static<typeof Telemetry>;

export const StreamAnnouncement = Obj(
  {
    v: Version,
    stream: Id('stream id (unique within its device)'),
    device: Id('announcing device'),
    name: Type.String({ maxLength: 128, description: 'human-readable name (also the SAP session name)' }),
    group: Ipv4('multicast group'),
    port: Port('RTP port (even)'),
    encoding: Type.Literal('L16'),
    rate: Type.Union([Type.Literal(44100), Type.Literal(48000)]),
    channels: Type.Union([Type.Literal(1), Type.Literal(2)]),
    payloadType: Type.Integer({ minimum: 0, maximum: 127 }),
    frames: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096, description: 'frames per packet' })),
    ssrc: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffffffff })),
    enabled: Type.Boolean(),
    sdp: Type.Optional(Type.String({ maxLength: 4096 })),
  },
  { description: 'hearth/streams/<device>/<stream> (retained; cleared when the stream is removed)' },
);
export type StreamAnnouncement = Static<typeof StreamAnnouncement>;

/** cmd/device/* — commands every device takes, whatever its roles. */
export const DeviceCommands = {
  ping: { description: 'answers with the runtime version and uptime', args: Obj({}) },
  'restart-role': { description: 'stops and starts one role', args: Obj({ role: Id('role name') }) },
} as const;
export { RequestFields };
