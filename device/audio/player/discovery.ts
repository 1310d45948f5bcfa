// Stream discovery for players: SAP announcements (RFC 2974) heard on 224.0.0.56:9875, and hearth
// stream announcements on hearth/streams/#, folded into one table a player resolves its choice in.
// Rules:
// - A SAP session is keyed by origin + message hash; a deletion (goodbye) removes it; one not
//   re-announced for `sapTimeoutMs` (default 60 s: 12 missed 5 s announcements) expires.
// - An MQTT announcement is keyed by device/stream; an empty retained payload removes it.
// - Unparseable SAP/SDP is counted and ignored; nothing thrown reaches the socket.
import type { Clock, TimerHandle } from '../../core/clock.ts';
import type { Logger } from '../../core/log.ts';
import type { RoleLink } from '../../core/role.ts';
import type { StreamAnnouncement } from '../../../protocol/messages.ts';
import type { StreamFormat } from '../types.ts';
import { parseSap, SAP_GROUP, SAP_PORT } from '../packets/sap.ts';
import { parseSdp } from '../packets/sdp.ts';
import { openReceiver, type MulticastReceiver } from '../net.ts';

export interface StreamEntry {
  key: string;
  origin: 'sap' | 'mqtt';
  name: string;
  group: string;
  port: number;
  format: StreamFormat;
  enabled: boolean;
  device: string | null;
  stream: string | null;
  /** Announcer address (SAP origin). */
  sender: string | null;
  seenMs: number;
}

export interface StreamChoiceArgs {
  stream?: string;
  sap?: string;
  group?: string;
  port?: number;
}

export class StreamTable {
  private readonly entries = new Map<string, StreamEntry>();
  private readonly listeners = new Set<() => void>();
  malformed = 0;

  all(): StreamEntry[] {
    return [...this.entries.values()];
  }
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  private changed(): void {
    for (const f of this.listeners) {
      try {
        f();
      } catch {
        /* a listener's problem */
      }
    }
  }

  /**
   * Folds one SAP datagram in (`from`: the UDP source address); returns false when it was malformed.
   * A session is (origin, message id hash) per RFC 2974, but PipeWire 0.3.65 announces every
   * sender with origin 0.0.0.0 and the same unseeded-rand() hash, so an unspecified origin is
   * replaced by the datagram's source address: two such senders stay two sessions.
   */
  sap(data: Uint8Array, nowMs: number, from?: string): boolean {
    const m = parseSap(data);
    if (!m.ok) {
      this.malformed++;
      return false;
    }
    const origin = m.message.origin === '0.0.0.0' && from ? from : m.message.origin;
    const key = `sap:${origin}:${m.message.hash}`;
    if (m.message.type === 'delete') {
      if (this.entries.delete(key)) this.changed();
      return true;
    }
    const sdp = parseSdp(m.message.sdp);
    if (!sdp.ok) {
      this.malformed++;
      return false;
    }
    const prev = this.entries.get(key);
    const s = sdp.stream;
    this.entries.set(key, {
      key,
      origin: 'sap',
      name: s.name,
      group: s.group,
      port: s.port,
      format: s.format,
      enabled: true,
      device: null,
      stream: null,
      sender: origin,
      seenMs: nowMs,
    });
    if (!prev || prev.group !== s.group || prev.port !== s.port || prev.name !== s.name) this.changed();
    return true;
  }

  mqtt(device: string, stream: string, a: StreamAnnouncement | null, nowMs: number): void {
    const key = `mqtt:${device}/${stream}`;
    if (!a) {
      if (this.entries.delete(key)) this.changed();
      return;
    }
    this.entries.set(key, {
      key,
      origin: 'mqtt',
      name: a.name,
      group: a.group,
      port: a.port,
      format: { encoding: 'L16', rate: a.rate, channels: a.channels, payloadType: a.payloadType },
      enabled: a.enabled,
      device,
      stream,
      sender: null,
      seenMs: nowMs,
    });
    this.changed();
  }

  expire(nowMs: number, sapTimeoutMs: number): void {
    let any = false;
    for (const [k, e] of this.entries)
      if (e.origin === 'sap' && nowMs - e.seenMs > sapTimeoutMs) {
        this.entries.delete(k);
        any = true;
      }
    if (any) this.changed();
  }

  /** The entry a player's choice names, or undefined (explicit group:port needs no entry). */
  resolve(c: StreamChoiceArgs): StreamEntry | undefined {
    const list = this.all();
    if (c.stream) {
      const [a, b] = c.stream.includes('/') ? c.stream.split('/') : [null, c.stream];
      return list.find((e) => e.origin === 'mqtt' && e.stream === b && (a === null || e.device === a));
    }
    if (c.sap) return list.filter((e) => e.name === c.sap).sort((x, y) => (x.origin === 'sap' ? 0 : 1) - (y.origin === 'sap' ? 0 : 1))[0];
    if (c.group && c.port) return list.find((e) => e.group === c.group && e.port === c.port);
    return undefined;
  }
}

export interface DiscoveryOptions {
  clock: Clock;
  log: Logger;
  link: RoleLink;
  /** Interface address to join the SAP group on. */
  iface?: string;
  /** Listen to SAP (default true). */
  sap?: boolean;
  sapTimeoutMs?: number;
  /** Extra SAP ports/groups: a stream's own group on port 9875. */
}

/** Runs the listeners that feed a StreamTable. */
export class Discovery {
  readonly table = new StreamTable();
  private receivers: MulticastReceiver[] = [];
  private unwatch: (() => void) | undefined;
  private timer: TimerHandle | undefined;
  private readonly groups = new Set<string>();

  constructor(private readonly o: DiscoveryOptions) {}

  async start(): Promise<void> {
    this.unwatch = this.o.link.watchStreams((device, stream, a) => this.table.mqtt(device, stream, a, this.o.clock.now()));
    if (this.o.sap ?? true) await this.listenSap(SAP_GROUP);
    this.timer = this.o.clock.setInterval(() => this.table.expire(this.o.clock.now(), this.o.sapTimeoutMs ?? 60_000), 5000);
  }

  /** Also hears SAP on a stream's own group (PulseAudio announces to destination:9875). */
  async listenSap(group: string): Promise<void> {
    if (this.groups.has(group)) return;
    this.groups.add(group);
    try {
      this.receivers.push(
        await openReceiver({
          group,
          port: SAP_PORT,
          iface: this.o.iface,
          onMessage: (d) => this.table.sap(d.data, this.o.clock.now(), d.from),
          onError: (e) => this.o.log.warn(`SAP socket error on ${group}: ${e.message}`),
        }),
      );
    } catch (e) {
      this.groups.delete(group);
      this.o.log.warn(`cannot listen to SAP on ${group}:${SAP_PORT}: ${(e as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    this.unwatch?.();
    this.o.clock.clearInterval(this.timer);
    const r = this.receivers;
    this.receivers = [];
    this.groups.clear();
    await Promise.all(r.map((x) => x.close()));
  }
}
