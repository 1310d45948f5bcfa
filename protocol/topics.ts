// Every MQTT topic hearth uses is built here and nowhere else. The base ("hearth" by default) is
// added in one place; ids are checked so no wildcard or separator can be smuggled into a topic.
const SEGMENT = /^[A-Za-z0-9_.-]{1,64}$/;

export function checkSegment(s: string, what: string): string {
  if (!SEGMENT.test(s)) throw new Error(`${what} "${s}" is not a valid topic segment (letters, digits, . _ -, 1–64 characters)`);
  return s;
}

export function checkBase(base: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}(\/[A-Za-z0-9_-]{1,64}){0,3}$/.test(base)) throw new Error(`base topic "${base}" is invalid`);
  return base;
}

export interface Topics {
  readonly base: string;
  status(id: string): string;
  info(id: string): string;
  config(id: string): string;
  configSet(id: string): string;
  cmd(id: string, role: string, action: string): string;
  /** Filter for every command topic of a device, malformed ones too (each gets a reply). */
  cmdFilter(id: string): string;
  reply(id: string): string;
  state(id: string, role: string): string;
  event(id: string, role: string): string;
  telemetry(id: string): string;
  /** Stream announcements live under the announcing device, so ACLs can say "only your own". */
  stream(deviceId: string, stream: string): string;
  streamsFilter(): string;
  /** Everything of every device, for monitors and consoles. */
  allDevicesFilter(): string;
  /** Everything under one device (its own topics). */
  deviceFilter(id: string): string;
  /** Every command of a device, at any depth (what an ACL grants). */
  cmdTreeFilter(id: string): string;
  /** One device's stream announcements. */
  deviceStreamsFilter(deviceId: string): string;
  /** Every stream announcement, at any depth (what an ACL grants). */
  streamsTreeFilter(): string;
  /** Parses a topic under the base into its parts, or undefined when it is not a hearth topic. */
  parse(topic: string): ParsedTopic | undefined;
}

export type ParsedTopic =
  | { kind: 'status' | 'info' | 'config' | 'config-set' | 'reply' | 'telemetry'; device: string }
  | { kind: 'cmd'; device: string; role: string; action: string }
  | { kind: 'state' | 'event'; device: string; role: string }
  | { kind: 'stream'; device: string; stream: string };

export const HA_STATUS_TOPIC = 'homeassistant/status';
/** Where Home Assistant says it is online (`<prefix>/status`). */
export function haStatusTopic(prefix = 'homeassistant'): string {
  return `${prefix}/status`;
}
export function haDiscoveryTopic(id: string, prefix = 'homeassistant'): string {
  return `${prefix}/device/${checkSegment(id, 'device id')}/config`;
}

export function topics(base = 'hearth'): Topics {
  const b = checkBase(base);
  const d = (id: string) => `${b}/${checkSegment(id, 'device id')}`;
  const r = (role: string) => checkSegment(role, 'role');
  return {
    base: b,
    status: (id) => `${d(id)}/status`,
    info: (id) => `${d(id)}/info`,
    config: (id) => `${d(id)}/config`,
    configSet: (id) => `${d(id)}/config/set`,
    cmd: (id, role, action) => `${d(id)}/cmd/${r(role)}/${checkSegment(action, 'action')}`,
    cmdFilter: (id) => `${d(id)}/cmd/#`,
    reply: (id) => `${d(id)}/reply`,
    state: (id, role) => `${d(id)}/state/${r(role)}`,
    event: (id, role) => `${d(id)}/event/${r(role)}`,
    telemetry: (id) => `${d(id)}/telemetry`,
    stream: (deviceId, stream) => `${b}/streams/${checkSegment(deviceId, 'device id')}/${checkSegment(stream, 'stream id')}`,
    streamsFilter: () => `${b}/streams/+/+`,
    allDevicesFilter: () => `${b}/#`,
    deviceFilter: (id) => `${d(id)}/#`,
    cmdTreeFilter: (id) => `${d(id)}/cmd/#`,
    streamsTreeFilter: () => `${b}/streams/#`,
    deviceStreamsFilter: (deviceId) => `${b}/streams/${checkSegment(deviceId, 'device id')}/+`,
    parse(topic) {
      if (!topic.startsWith(b + '/')) return undefined;
      const p = topic.slice(b.length + 1).split('/');
      if (p[0] === 'streams') return p.length === 3 ? { kind: 'stream', device: p[1]!, stream: p[2]! } : undefined;
      const [device, a, x, y] = p;
      if (!device) return undefined;
      if (p.length === 2 && (a === 'status' || a === 'info' || a === 'config' || a === 'reply' || a === 'telemetry'))
        return { kind: a, device };
      if (p.length === 3 && a === 'config' && x === 'set') return { kind: 'config-set', device };
      if (p.length === 3 && (a === 'state' || a === 'event')) return { kind: a, device, role: x! };
      if (p.length === 4 && a === 'cmd') return { kind: 'cmd', device, role: x!, action: y! };
      return undefined;
    },
  };
}
