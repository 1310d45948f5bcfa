// The console's logic, without the DOM: topics, folding MQTT messages into a fleet, building
// command and config/set requests, matching replies, health and short texts. A plain ES module
// (no build step) that the browser loads and Node tests import; fleet.d.ts gives its types.
//
// Rules kept in step with protocol/ (tests compare them): the topic layout of
// protocol/topics.ts, the protocol version, and every role's command names and argument names.

export const PROTOCOL_VERSION = 2;

/** Commands each role takes, with their argument names (to prefill the body). "device" is every device's own. */
export const KNOWN_ACTIONS = {
  device: { ping: [], 'restart-role': ['role'] },
  hub: { 'add-device': ['device', 'controller'], 'remove-device': ['device'], clients: [] },
  waker: { wake: ['host'], status: [] },
  player: { subscribe: ['stream', 'sap', 'group', 'port', 'format'], volume: ['gain', 'rampMs'], mute: ['muted'], streams: [] },
  source: { enable: ['stream'], disable: ['stream'] },
  tuner: { tune: ['mode'], press: ['ms'], 'erase-memories': [] },
};

const SEGMENT = /^[A-Za-z0-9_.-]{1,64}$/;

function seg(s, what) {
  if (typeof s !== 'string' || !SEGMENT.test(s)) throw new Error(`${what} "${s}" is not valid (letters, digits, . _ -, 1–64 characters)`);
  return s;
}

/** The topic builders and parser, as protocol/topics.ts has them. */
export function topicsFor(base = 'hearth') {
  if (!/^[A-Za-z0-9_-]{1,64}(\/[A-Za-z0-9_-]{1,64}){0,3}$/.test(base)) throw new Error(`base topic "${base}" is invalid`);
  const d = (id) => `${base}/${seg(id, 'device id')}`;
  return {
    base,
    all: () => `${base}/#`,
    status: (id) => `${d(id)}/status`,
    info: (id) => `${d(id)}/info`,
    config: (id) => `${d(id)}/config`,
    configSet: (id) => `${d(id)}/config/set`,
    cmd: (id, role, action) => `${d(id)}/cmd/${seg(role, 'role')}/${seg(action, 'action')}`,
    reply: (id) => `${d(id)}/reply`,
    state: (id, role) => `${d(id)}/state/${seg(role, 'role')}`,
    event: (id, role) => `${d(id)}/event/${seg(role, 'role')}`,
    telemetry: (id) => `${d(id)}/telemetry`,
    stream: (id, stream) => `${base}/streams/${seg(id, 'device id')}/${seg(stream, 'stream id')}`,
    parse(topic) {
      if (!topic.startsWith(base + '/')) return undefined;
      const p = topic.slice(base.length + 1).split('/');
      if (p[0] === 'streams') return p.length === 3 ? { kind: 'stream', device: p[1], stream: p[2] } : undefined;
      const [device, a, x, y] = p;
      if (!device) return undefined;
      if (p.length === 2 && ['status', 'info', 'config', 'reply', 'telemetry'].includes(a)) return { kind: a, device };
      if (p.length === 3 && a === 'config' && x === 'set') return { kind: 'config-set', device };
      if (p.length === 3 && (a === 'state' || a === 'event')) return { kind: a, device, role: x };
      if (p.length === 4 && a === 'cmd') return { kind: 'cmd', device, role: x, action: y };
      return undefined;
    },
  };
}

export function createFleet(base = 'hearth') {
  return { topics: topicsFor(base), devices: new Map(), messages: 0 };
}

function device(fleet, id) {
  let d = fleet.devices.get(id);
  if (!d) {
    d = { id, status: undefined, statusSince: undefined, info: undefined, config: undefined, telemetry: undefined, roles: new Map(), events: [], problems: [], replies: [] };
    fleet.devices.set(id, d);
  }
  return d;
}

const isObj = (v) => !!v && typeof v === 'object' && !Array.isArray(v);
const KEEP = 30;
function keep(list, item) { list.push(item); if (list.length > KEEP) list.splice(0, list.length - KEEP); }

/** Shape checks for what the console reads (the devices validate fully; a bad message here is shown, never thrown). */
const SHAPES = {
  info: (v) => isObj(v) && typeof v.device === 'string' && Array.isArray(v.roles) && typeof v.runtime === 'string',
  config: (v) => isObj(v) && Number.isInteger(v.revision) && 'config' in v,
  telemetry: (v) => isObj(v) && typeof v.cpuPct === 'number' && typeof v.rssMb === 'number' && typeof v.uptimeS === 'number',
  state: (v) => isObj(v) && typeof v.status === 'string' && typeof v.since === 'string',
  event: (v) => isObj(v) && typeof v.type === 'string' && typeof v.message === 'string',
  reply: (v) => isObj(v) && typeof v.id === 'string' && typeof v.ok === 'boolean',
  stream: (v) => isObj(v) && typeof v.stream === 'string',
};

/**
 * Folds one message into the fleet. Returns the parsed reply when the message is one (so the
 * caller can settle a pending request), else undefined. Never throws.
 */
export function applyMessage(fleet, topic, text, at, retained = false) {
  fleet.messages++;
  const p = fleet.topics.parse(topic);
  if (!p || p.kind === 'cmd' || p.kind === 'config-set' || p.kind === 'stream') return undefined;
  const d = device(fleet, p.device);
  const problem = (message) => keep(d.problems, { at, topic: topic.slice(fleet.topics.base.length + p.device.length + 2), message });
  if (p.kind === 'status') {
    if (text === '') { fleet.devices.delete(p.device); return undefined; }
    if (text !== 'online' && text !== 'offline') { problem(`status must be online or offline, got "${text.slice(0, 30)}"`); return undefined; }
    if (d.status !== text || d.statusSince === undefined) d.statusSince = retained ? undefined : at;
    d.status = text;
    return undefined;
  }
  if (text === '') {
    if (p.kind === 'state') d.roles.delete(p.role);
    if (p.kind === 'info') d.info = undefined;
    if (p.kind === 'config') d.config = undefined;
    return undefined;
  }
  let v;
  try { v = JSON.parse(text); } catch { problem('not JSON'); return undefined; }
  if (!SHAPES[p.kind](v)) { problem(`not a valid ${p.kind} message`); return undefined; }
  switch (p.kind) {
    case 'info': d.info = v; break;
    case 'config': d.config = v; break;
    case 'telemetry': d.telemetry = { value: v, at }; break;
    case 'state': d.roles.set(p.role, { state: v, at }); break;
    case 'event': keep(d.events, { role: p.role, event: v, at }); break;
    case 'reply': keep(d.replies, { reply: v, at }); return v;
  }
  return undefined;
}

let seq = 0;
/** A request id unique enough for one console session. */
export function newRequestId(prefix = 'console') {
  seq = (seq + 1) % 1e6;
  return `${prefix}-${Date.now().toString(36)}-${seq}`;
}

function parseBody(text, what) {
  const t = (text ?? '').trim();
  if (t === '') return {};
  let v;
  try { v = JSON.parse(t); } catch (e) { throw new Error(`${what} is not valid JSON: ${e.message}`); }
  if (!isObj(v)) throw new Error(`${what} must be a JSON object`);
  return v;
}

/** cmd/<role>/<action> with the JSON body's fields as arguments. Throws a readable Error. */
export function buildCommand(topics, deviceId, role, action, bodyText, id = newRequestId()) {
  const args = parseBody(bodyText, 'the command body');
  if ('v' in args || 'id' in args) throw new Error('leave out "v" and "id": the console adds them');
  return { id, topic: topics.cmd(deviceId, role, action), payload: JSON.stringify({ v: PROTOCOL_VERSION, id, ...args }) };
}

/** config/set with an RFC 7396 merge patch (null removes a key). Throws a readable Error. */
export function buildConfigPatch(topics, deviceId, patchText, id = newRequestId(), ifRevision) {
  const patch = parseBody(patchText, 'the patch');
  if (Object.keys(patch).length === 0) throw new Error('the patch is empty');
  const body = { v: PROTOCOL_VERSION, id, patch };
  if (Number.isInteger(ifRevision)) body.ifRevision = ifRevision;
  return { id, topic: topics.configSet(deviceId), payload: JSON.stringify(body) };
}

/** A body template for an action: each argument name with an empty value. */
export function bodyTemplate(role, action) {
  const names = KNOWN_ACTIONS[role]?.[action];
  if (!names || names.length === 0) return '{}';
  return '{ ' + names.map((n) => `"${n}": ""`).join(', ') + ' }';
}

/** Roles to offer for a device's commands: "device" first, then the roles it runs. */
export function commandRoles(d) {
  const roles = new Set(d?.info?.roles ?? []);
  for (const r of d?.roles?.keys?.() ?? []) roles.add(r);
  return ['device', ...[...roles].sort()];
}

/** "0s", "12s", "3m12s", "2h05m", "3d04h". */
export function formatDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

export function eventLevel(type) {
  if (/fail|error|lost|denied|timeout|crash|refused|invalid/i.test(type)) return 'failed';
  if (/warn|retry|restart|stale|late|underrun|drop/i.test(type)) return 'degraded';
  return 'healthy';
}

export function roleHealth(r) {
  const s = r?.state?.status;
  if (!s) return 'unknown';
  if (s === 'failed') return 'failed';
  return s === 'running' ? 'healthy' : 'degraded';
}

/** The same verdict as the terminal monitor: offline or a failed role is failed; anything doubtful is degraded. */
export function deviceHealth(d, now) {
  if (d.status === 'offline') return 'failed';
  const names = new Set([...(d.info?.roles ?? []), ...d.roles.keys()]);
  let degraded = d.status === undefined;
  for (const n of names) {
    const h = roleHealth(d.roles.get(n));
    if (h === 'failed') return 'failed';
    if (h !== 'healthy') degraded = true;
  }
  const iv = (d.config?.config?.telemetry?.intervalS ?? 30) * 1000;
  if (d.status === 'online' && d.telemetry && now - d.telemetry.at > 3 * iv) degraded = true;
  const recent = (x) => now - x.at <= 5 * 60_000;
  if (d.problems.some(recent)) degraded = true;
  if (d.events.some((e) => recent(e) && eventLevel(e.event.type) === 'failed')) degraded = true;
  if (d.replies.some((r) => recent(r) && !r.reply.ok)) degraded = true;
  return degraded ? 'degraded' : 'healthy';
}

/** Online/offline and for how long, as far as the console knows. */
export function statusText(d, now) {
  if (!d.status) return 'status unknown';
  if (d.statusSince !== undefined) return `${d.status} ${formatDuration(now - d.statusSince)}`;
  if (d.status === 'online' && d.info?.startedAt) {
    const t = Date.parse(d.info.startedAt);
    if (Number.isFinite(t)) return `online ${formatDuration(now - t)}`;
  }
  return d.status;
}

/** A role's own detail in one short line (scalars as k=v, named lists as "name state"). */
export function summarize(detail) {
  if (detail === undefined || detail === null) return '';
  if (typeof detail !== 'object') return String(detail);
  const parts = [];
  for (const [k, v] of Object.entries(detail)) {
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) parts.push(`${k}=${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : v}`);
    else if (Array.isArray(v) && v.length && v.every((x) => isObj(x) && typeof x.name === 'string')) parts.push(`${k}: ${v.map((x) => `${x.name}${x.state ?? x.status ? ' ' + (x.state ?? x.status) : ''}`).join(', ')}`);
    else if (Array.isArray(v) && v.length) parts.push(`${k}: ${v.length}`);
  }
  return parts.join(' ');
}

/** Where the hub serves MQTT over WebSocket: the page's own host, path /mqtt. */
export function defaultBrokerUrl(location) {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/mqtt`;
}

/** A reply as one line for the person who sent the request. */
export function replyText(r) {
  if (r.ok) return r.result === undefined ? 'ok' : `ok: ${JSON.stringify(r.result)}`;
  const message = r.error?.message ?? '';
  // Devices usually put the details in the message already; add them only when they are not.
  const details = (r.error?.details ?? []).map((x) => `${x.path || '/'} ${x.message}`).join('; ');
  return `${r.error?.code ?? 'error'}: ${message}${details && !message.includes(details) ? ` (${details})` : ''}`;
}
