// The console's connection and what it knows: one MQTT client (mqtt.js's browser build, over the
// hub's WebSocket), the fleet model the terminal monitor uses (every payload checked against its
// protocol schema), the recent course of each player's figures for the plots, and requests with
// their replies. Topics, schemas and command specs all come from protocol/.
import { FleetModel, type DeviceView } from '../../monitor/model.ts';
import { topics as topicsFor, PROTOCOL_VERSION, roleSpec, type Reply, type Topics } from '../../../protocol/index.ts';

export interface Login {
  url: string;
  user: string;
  password: string;
  base: string;
}

/** The part of mqtt.js's client the console uses (the browser build is loaded as window.mqtt). */
interface MqttClientLike {
  connected: boolean;
  on(ev: 'connect' | 'reconnect' | 'offline' | 'close', fn: () => void): void;
  on(ev: 'error', fn: (e: Error) => void): void;
  on(ev: 'message', fn: (topic: string, payload: Uint8Array, packet: { retain: boolean }) => void): void;
  subscribe(filter: string, opts: { qos: 0 | 1 }, cb: (err: Error | null, granted?: Array<{ qos: number }>) => void): void;
  publish(topic: string, payload: string, opts: { qos: 0 | 1 }): void;
  end(force?: boolean): void;
}
declare global {
  interface Window {
    mqtt: { connect(url: string, opts: Record<string, unknown>): MqttClientLike };
  }
}

/** One sample of a player's figures. */
export interface PlayerSample {
  t: number;
  syncErrorUs: number;
  bufferMs: number;
  driftPpm: number;
}

export const HISTORY_MS = 5 * 60_000;
/** Margin over a command's own longest time (its spec's maxMs) before the console gives up on a reply. */
export const REPLY_MARGIN_MS = 10_000;

export type ConnState = { text: string; health: 'healthy' | 'degraded' | 'failed' | 'unknown' };

export class Store {
  readonly model: FleetModel;
  readonly topics: Topics;
  readonly history = new Map<string, PlayerSample[]>();
  conn: ConnState = { text: 'not connected', health: 'unknown' };
  private client: MqttClientLike | undefined;
  private readonly pending = new Map<string, { resolve(r: Reply): void; timer: ReturnType<typeof setTimeout> }>();
  private readonly listeners = new Set<() => void>();
  private seq = 0;
  private lastSample = new Map<string, string>();

  constructor(readonly login: Login) {
    this.model = new FleetModel({ base: login.base || 'hearth', keepEvents: 200 });
    this.topics = topicsFor(login.base || 'hearth');
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  private changed(): void {
    for (const l of this.listeners) l();
  }

  connect(onRefused: (message: string) => void): void {
    const l = this.login;
    this.conn = { text: `connecting to ${l.url}…`, health: 'degraded' };
    const c = window.mqtt.connect(l.url, {
      username: l.user || undefined,
      password: l.password || undefined,
      protocolVersion: 4,
      reconnectPeriod: 2000,
      clientId: `hearth-console-${Math.random().toString(16).slice(2, 10)}`,
    });
    this.client = c;
    c.on('connect', () => {
      this.conn = { text: `connected to ${l.url}`, health: 'healthy' };
      const all = this.topics.allDevicesFilter();
      c.subscribe(all, { qos: 1 }, (err, granted) => {
        if (err || granted?.some((g) => g.qos === 128)) {
          this.conn = { text: `connected, but this login may not read ${all}`, health: 'failed' };
          this.changed();
        }
      });
      this.changed();
    });
    c.on('reconnect', () => {
      this.conn = { text: `reconnecting to ${l.url}…`, health: 'degraded' };
      this.changed();
    });
    c.on('offline', () => {
      this.conn = { text: `lost ${l.url}; retrying`, health: 'failed' };
      this.changed();
    });
    c.on('error', (e) => {
      if (/not authori[sz]ed|bad user ?name or password/i.test(e.message)) onRefused(`login refused: ${e.message}`);
      else {
        this.conn = { text: `error: ${e.message}`, health: 'failed' };
        this.changed();
      }
    });
    c.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet.retain));
  }

  disconnect(): void {
    this.client?.end(true);
    this.client = undefined;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
    }
  }

  private onMessage(topic: string, payload: Uint8Array, retained: boolean): void {
    const at = Date.now();
    this.model.apply({ topic, payload, at, retained });
    const p = this.topics.parse(topic);
    if (p?.kind === 'reply') {
      // The model checked it against the Reply schema; a reply it refused leaves the request to time out.
      const r = this.model.devices.get(p.device)?.replies.at(-1);
      if (r && r.at === at) this.settle(r.reply);
    }
    if (p?.kind === 'state') this.sample(p.device, p.role);
    this.changed();
  }

  /** Adds a player's figures to its history (once per distinct state). */
  private sample(device: string, role: string): void {
    if (role !== 'player') return;
    const st = this.model.devices.get(device)?.roles.get('player')?.state;
    const d = st?.detail as { syncErrorUs?: number; bufferMs?: number; driftPpm?: number; playing?: boolean } | undefined;
    if (!d || typeof d.syncErrorUs !== 'number' || !d.playing) return;
    const key = `${d.syncErrorUs}|${d.bufferMs}|${d.driftPpm}`;
    if (this.lastSample.get(device) === key) return;
    this.lastSample.set(device, key);
    const list = this.history.get(device) ?? [];
    const t = Date.now();
    list.push({ t, syncErrorUs: d.syncErrorUs, bufferMs: d.bufferMs ?? 0, driftPpm: d.driftPpm ?? 0 });
    while (list.length && t - list[0]!.t > HISTORY_MS) list.shift();
    this.history.set(device, list);
  }

  private settle(r: Reply): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(r.id);
    p.resolve(r);
  }

  private send(device: string, topic: string, body: Record<string, unknown>, timeoutMs: number): Promise<Reply> {
    const id = `console-${Date.now().toString(36)}-${++this.seq}`;
    return new Promise<Reply>((resolve) => {
      const fail = (message: string): Reply => ({ v: PROTOCOL_VERSION, id, ok: false, error: { code: 'timeout', message } });
      if (!this.client?.connected) {
        resolve(fail('not connected to the broker'));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(fail(`no reply from ${device} within ${Math.round(timeoutMs / 1000)} s (is it online?)`));
      }, timeoutMs);
      this.pending.set(id, { resolve, timer });
      this.client.publish(topic, JSON.stringify({ v: PROTOCOL_VERSION, id, ...body }), { qos: 1 });
    });
  }

  /** A command, waiting as long as the command can take (its spec's maxMs from the device's applied config). */
  command(device: string, role: string, action: string, args: Record<string, unknown> = {}): Promise<Reply> {
    const maxMs = roleSpec(role)?.commands[action]?.maxMs;
    const roleConfig = (this.model.devices.get(device)?.config?.config as { roles?: Record<string, unknown> } | undefined)?.roles?.[role];
    return this.send(device, this.topics.cmd(device, role, action), args, (maxMs ? maxMs(roleConfig) : 0) + REPLY_MARGIN_MS);
  }

  /** A config/set with a merge patch, only if the applied revision is still `ifRevision`. */
  configPatch(device: string, patch: unknown, ifRevision?: number): Promise<Reply> {
    return this.send(device, this.topics.configSet(device), { patch, ...(ifRevision !== undefined ? { ifRevision } : {}) }, 60_000);
  }

  devices(): DeviceView[] {
    return [...this.model.devices.values()].sort((a, b) => (a.info?.name ?? a.id).localeCompare(b.info?.name ?? b.id));
  }

  /** Devices running a role (from info or a published state), sorted by name. */
  withRole(role: string): DeviceView[] {
    return this.devices().filter((d) => d.roles.has(role) || d.info?.roles.includes(role));
  }
}

/** A reply as one line for the person who asked. */
export function replyText(r: Reply): string {
  if (r.ok) return 'ok';
  return `${r.error?.code ?? 'error'}: ${r.error?.message ?? ''}`;
}
