// The fleet as a monitor sees it: every MQTT message under the base topic is folded into one
// model (devices, their roles' states, last telemetry, latest events, replies, streams). Pure: no
// I/O and no clock of its own; each message carries the wall time it arrived.
//
// Rules:
// - Every payload is checked against its protocol schema. A bad one never throws and never
//   replaces good data: it becomes a "problem" shown with the device it came from.
// - An empty payload on a retained topic is a clear (a removed role, stream or device).
// - How long a device has been online/offline is only exact when the monitor saw the change.
//   For a retained status (a monitor started later) we fall back to the device's own timestamps.
import {
  topics as topicsFor,
  check,
  Info,
  Telemetry,
  RoleStateEnvelope,
  EventEnvelope,
  Reply,
  AppliedConfig,
  StreamAnnouncement,
  Status,
  roleSpec,
  ACCEPTED_VERSIONS,
  MAX_PAYLOAD_BYTES,
  type Topics,
  type TSchema,
  type Static,
  type ParsedTopic,
} from '../../protocol/index.ts';

export type Health = 'healthy' | 'degraded' | 'failed' | 'unknown';

export interface MonitorMessage {
  topic: string;
  payload: Uint8Array | string;
  /** Wall-clock milliseconds when the message arrived. */
  at: number;
  /** True for a retained message delivered on subscribe (its content may be old). */
  retained?: boolean;
}

export interface RoleView {
  name: string;
  state?: RoleStateEnvelope;
  /** When the last state arrived. */
  at?: number;
  /** The role's detail did not match its protocol spec (the state is still shown). */
  detailProblem?: string;
}

export interface EventView {
  role: string;
  event: EventEnvelope;
  at: number;
}
export interface ProblemView {
  topic: string;
  message: string;
  at: number;
}
export interface ReplyView {
  reply: Reply;
  at: number;
}

export interface DeviceView {
  id: string;
  status?: 'online' | 'offline';
  /** When the current status began, when known (seen live, or derived from info.startedAt). */
  statusSince?: number;
  /** True when the monitor saw the status change itself. */
  statusExact: boolean;
  /** Latest sign of life: a live message, or the newest timestamp in the device's own retained messages. */
  lastSeenAt?: number;
  info?: Info;
  config?: AppliedConfig;
  telemetry?: { value: Telemetry; at: number };
  roles: Map<string, RoleView>;
  events: EventView[];
  problems: ProblemView[];
  replies: ReplyView[];
  streams: Map<string, StreamAnnouncement>;
  /** Requests other clients sent to this device (cmd and config/set), counted, not validated. */
  requests: number;
}

/** One readable line about something that changed (for append mode). */
export interface Change {
  at: number;
  device?: string;
  level: Health;
  text: string;
}

export interface FleetOptions {
  base?: string;
  /** Events kept per device (default 50). */
  keepEvents?: number;
  /** Problems kept per device and for the fleet (default 20). */
  keepProblems?: number;
}

// The model runs in the browser too (the web console): no Buffer, only Uint8Array and strings.
const utf8 = new TextEncoder();
const decoder = new TextDecoder();
function text(p: Uint8Array | string): string {
  return typeof p === 'string' ? p : decoder.decode(p);
}

function parseTime(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : undefined;
}

function pushBounded<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}

/** Event types that report trouble: shown red, and a device with a recent one is degraded. */
export function eventLevel(type: string): Health {
  if (/fail|error|lost|denied|timeout|crash|refused|invalid/i.test(type)) return 'failed';
  if (/warn|retry|restart|stale|late|underrun|drop/i.test(type)) return 'degraded';
  return 'healthy';
}

export function roleHealth(r: RoleView): Health {
  const s = r.state?.status;
  if (!s) return 'unknown';
  if (s === 'failed') return 'failed';
  if (s === 'running') return r.detailProblem ? 'degraded' : 'healthy';
  return 'degraded'; // starting, restarting, stopped
}

/** How recent a problem or trouble event must be to make a device degraded. */
export const RECENT_MS = 5 * 60_000;

/** Telemetry older than this many periods means the device is degraded (stuck or cut off). */
export const STALE_PERIODS = 3;

export function telemetryIntervalMs(d: DeviceView): number {
  const cfg = d.config?.config as { telemetry?: { intervalS?: unknown } } | undefined;
  const s = cfg?.telemetry?.intervalS;
  return (typeof s === 'number' && s > 0 ? s : 30) * 1000;
}

/** The roles to show: configured ones (from info) plus any that published a state. */
export function roleNames(d: DeviceView): string[] {
  const names = new Set<string>(d.info?.roles ?? []);
  for (const r of d.roles.keys()) names.add(r);
  return [...names].sort();
}

export interface HealthVerdict {
  health: Health;
  reasons: string[];
}

/** A device's health at `now`, with the reasons it is not healthy. */
export function deviceHealth(d: DeviceView, now: number): HealthVerdict {
  const reasons: string[] = [];
  if (d.status === 'offline') return { health: 'failed', reasons: ['offline'] };
  let failed = false;
  for (const name of roleNames(d)) {
    const r = d.roles.get(name) ?? { name };
    const h = roleHealth(r);
    if (h === 'failed') {
      failed = true;
      reasons.push(`${name} failed`);
    } else if (h === 'degraded') reasons.push(`${name} ${r.state?.status ?? ''}${r.detailProblem ? ' (bad state)' : ''}`.trim());
    else if (h === 'unknown') reasons.push(`${name} has no state`);
  }
  if (failed) return { health: 'failed', reasons };
  if (d.status === undefined) reasons.push('no status');
  if (d.status === 'online') {
    const iv = telemetryIntervalMs(d);
    if (d.telemetry && now - d.telemetry.at > STALE_PERIODS * iv) reasons.push('telemetry stale');
  }
  if (d.problems.some((p) => now - p.at <= RECENT_MS)) reasons.push('bad messages');
  if (d.events.some((e) => now - e.at <= RECENT_MS && eventLevel(e.event.type) === 'failed')) reasons.push('recent failures');
  if (d.replies.some((r) => now - r.at <= RECENT_MS && !r.reply.ok)) reasons.push('refused requests');
  return { health: reasons.length ? 'degraded' : 'healthy', reasons };
}

export class FleetModel {
  readonly devices = new Map<string, DeviceView>();
  /** Messages under the base topic that are not hearth topics at all. */
  readonly problems: ProblemView[] = [];
  readonly topics: Topics;
  private readonly keepEvents: number;
  private readonly keepProblems: number;
  /** Messages folded so far. */
  messages = 0;

  constructor(opts: FleetOptions = {}) {
    this.topics = topicsFor(opts.base ?? 'hearth');
    this.keepEvents = opts.keepEvents ?? 50;
    this.keepProblems = opts.keepProblems ?? 20;
  }

  device(id: string): DeviceView {
    let d = this.devices.get(id);
    if (!d) {
      d = { id, statusExact: false, roles: new Map(), events: [], problems: [], replies: [], streams: new Map(), requests: 0 };
      this.devices.set(id, d);
    }
    return d;
  }

  /** Folds one message in; returns what changed, as readable lines. Never throws on bad input. */
  apply(msg: MonitorMessage): Change[] {
    this.messages++;
    let parsed: ParsedTopic | undefined;
    try {
      parsed = this.topics.parse(msg.topic);
    } catch {
      parsed = undefined;
    }
    if (!parsed) {
      const message = 'not a hearth topic';
      pushBounded(this.problems, { topic: msg.topic, message, at: msg.at }, this.keepProblems);
      return [{ at: msg.at, level: 'degraded', text: `${msg.topic}: ${message}` }];
    }
    const d = this.device(parsed.device);
    try {
      return this.applyTo(d, parsed, msg);
    } catch (e) {
      // A bug here must not take the monitor down: show it like a bad payload.
      return this.problem(d, msg, `could not be shown: ${(e as Error).message}`);
    }
  }

  private problem(d: DeviceView, msg: MonitorMessage, message: string): Change[] {
    pushBounded(d.problems, { topic: msg.topic, message, at: msg.at }, this.keepProblems);
    return [{ at: msg.at, device: d.id, level: 'failed', text: `bad message on ${msg.topic}: ${message}` }];
  }

  private seen(d: DeviceView, t: number | undefined): void {
    if (t !== undefined && (d.lastSeenAt === undefined || t > d.lastSeenAt)) d.lastSeenAt = t;
  }

  /** Parses JSON and checks the schema and protocol version; a string is the problem. */
  private decode<T extends TSchema>(schema: T, msg: MonitorMessage): Static<T> | string {
    const size = typeof msg.payload === 'string' ? utf8.encode(msg.payload).length : msg.payload.length;
    if (size > MAX_PAYLOAD_BYTES) return `payload is ${size} bytes; the limit is ${MAX_PAYLOAD_BYTES}`;
    let value: unknown;
    try {
      value = JSON.parse(text(msg.payload));
    } catch (e) {
      return `not JSON (${(e as Error).message})`;
    }
    const r = check(schema, value);
    if (!r.ok)
      return (
        r.errors
          .slice(0, 3)
          .map((e) => `${e.path || '/'} ${e.message}`)
          .join('; ') + (r.errors.length > 3 ? ` (+${r.errors.length - 3} more)` : '')
      );
    const v = (r.value as { v?: unknown }).v;
    if (typeof v === 'number' && !ACCEPTED_VERSIONS.includes(v))
      return `protocol version ${v} is not one this monitor reads (${ACCEPTED_VERSIONS.join(', ')})`;
    return r.value;
  }

  private applyTo(d: DeviceView, p: ParsedTopic, msg: MonitorMessage): Change[] {
    const empty = msg.payload.length === 0;
    const live = !msg.retained;
    if (live && p.kind !== 'cmd' && p.kind !== 'config-set') this.seen(d, msg.at);
    switch (p.kind) {
      case 'status': {
        if (empty) {
          this.devices.delete(d.id);
          return [{ at: msg.at, device: d.id, level: 'unknown', text: 'removed (status cleared)' }];
        }
        const body = text(msg.payload);
        const r = check(Status, body);
        if (!r.ok) return this.problem(d, msg, `status must be "online" or "offline", got ${JSON.stringify(body.slice(0, 40))}`);
        const status = r.value as 'online' | 'offline';
        const changed = d.status !== status;
        d.status = status;
        if (live) {
          if (changed || !d.statusExact) {
            d.statusSince = msg.at;
            d.statusExact = true;
          }
        } else {
          d.statusExact = false;
          d.statusSince = status === 'online' ? parseTime(d.info?.startedAt) : undefined;
        }
        return changed ? [{ at: msg.at, device: d.id, level: status === 'online' ? 'healthy' : 'failed', text: status }] : [];
      }
      case 'info': {
        if (empty) {
          d.info = undefined;
          return [];
        }
        const v = this.decode(Info, msg);
        if (typeof v === 'string') return this.problem(d, msg, v);
        const first = !d.info;
        d.info = v;
        const started = parseTime(v.startedAt);
        this.seen(d, started);
        if (d.status === 'online' && !d.statusExact) d.statusSince = started;
        return first
          ? [{ at: msg.at, device: d.id, level: 'unknown', text: `runtime ${v.runtime}, roles ${v.roles.join(', ') || '(none)'}` }]
          : [];
      }
      case 'config': {
        if (empty) {
          d.config = undefined;
          return [];
        }
        const v = this.decode(AppliedConfig, msg);
        if (typeof v === 'string') return this.problem(d, msg, v);
        const changed = d.config !== undefined && d.config.revision !== v.revision;
        d.config = v;
        this.seen(d, parseTime(v.appliedAt));
        return changed ? [{ at: msg.at, device: d.id, level: 'healthy', text: `config revision ${v.revision} applied` }] : [];
      }
      case 'telemetry': {
        const v = this.decode(Telemetry, msg);
        if (typeof v === 'string') return this.problem(d, msg, v);
        d.telemetry = { value: v, at: msg.at };
        return [];
      }
      case 'state': {
        if (empty) {
          d.roles.delete(p.role);
          return [{ at: msg.at, device: d.id, level: 'unknown', text: `${p.role} removed` }];
        }
        const v = this.decode(RoleStateEnvelope, msg);
        if (typeof v === 'string') return this.problem(d, msg, v);
        const prev = d.roles.get(p.role);
        const view: RoleView = { name: p.role, state: v, at: msg.at };
        const spec = roleSpec(p.role);
        if (spec && v.detail !== undefined) {
          const r = check(spec.state, v.detail);
          if (!r.ok)
            view.detailProblem = r.errors
              .slice(0, 2)
              .map((e) => `/detail${e.path} ${e.message}`)
              .join('; ');
        }
        d.roles.set(p.role, view);
        this.seen(d, parseTime(v.since));
        const out: Change[] = [];
        if (view.detailProblem) out.push(...this.problem(d, msg, view.detailProblem));
        if (prev?.state?.status !== v.status) {
          const h = roleHealth(view);
          out.push({ at: msg.at, device: d.id, level: h, text: `${p.role} ${v.status}${v.error ? `: ${v.error}` : ''}` });
        }
        return out;
      }
      case 'event': {
        const v = this.decode(EventEnvelope, msg);
        if (typeof v === 'string') return this.problem(d, msg, v);
        pushBounded(d.events, { role: p.role, event: v, at: msg.at }, this.keepEvents);
        return [{ at: msg.at, device: d.id, level: eventLevel(v.type), text: `${p.role} ${v.type}: ${v.message}` }];
      }
      case 'reply': {
        const v = this.decode(Reply, msg);
        if (typeof v === 'string') return this.problem(d, msg, v);
        pushBounded(d.replies, { reply: v, at: msg.at }, this.keepEvents);
        const what = v.topic ? ` to ${v.topic.split('/').slice(-2).join('/')}` : '';
        return [
          {
            at: msg.at,
            device: d.id,
            level: v.ok ? 'healthy' : 'failed',
            text: v.ok ? `reply ${v.id}${what}: ok` : `reply ${v.id}${what}: ${v.error?.code ?? 'error'} — ${v.error?.message ?? ''}`,
          },
        ];
      }
      case 'stream': {
        if (empty) {
          d.streams.delete(p.stream);
          return [{ at: msg.at, device: d.id, level: 'unknown', text: `stream ${p.stream} withdrawn` }];
        }
        const v = this.decode(StreamAnnouncement, msg);
        if (typeof v === 'string') return this.problem(d, msg, v);
        const isNew = !d.streams.has(p.stream);
        d.streams.set(p.stream, v);
        return isNew ? [{ at: msg.at, device: d.id, level: 'healthy', text: `stream ${p.stream} announced (${v.group}:${v.port})` }] : [];
      }
      case 'cmd':
      case 'config-set':
        d.requests++;
        return [];
    }
  }
}
