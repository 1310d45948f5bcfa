// The device's MQTT connection. On every (re)connect: subscribe again, publish retained `online`,
// and re-publish every retained message the device owns (info, config, role states, streams), so
// a restarted broker without persistence learns the device's whole picture again. The last will
// is a retained `offline`. Reconnects use capped exponential backoff with jitter (backoff.ts)
// instead of mqtt.js's fixed period. Non-retained messages published while offline wait in a
// bounded queue and go out on reconnect.
import mqtt, { type MqttClient, type IClientOptions } from 'mqtt';
import { dropMqttNumberCache } from './mqtt-packet.ts';
import type { Clock, TimerHandle } from './clock.ts';
import type { Logger } from './log.ts';
import type { DeviceLink, LinkError, ConflictReport } from './device-link.ts';
import { Backoff } from './backoff.ts';
import { topicMatches } from '../../protocol/topic-match.ts';
import { FlapDetector } from './takeover.ts';
import { describeBrokerError } from './broker-error.ts';

export interface LinkOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  keepaliveS?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** For mqtts/wss: the CA to trust (PEM) and/or the SHA-256 fingerprint the broker's certificate must have. */
  tls?: { ca?: string | Buffer; pinSha256?: string };
  /** Retained will: topic + payload. */
  will: { topic: string; payload: string };
  /** Retained birth message published first on every connect. */
  birth: { topic: string; payload: string };
  clock: Clock;
  log: Logger;
  /** Non-retained messages kept while offline (oldest dropped beyond this). */
  offlineQueue?: number;
  /** A connection up this long resets the backoff (default 5 s); a shorter one never does. */
  stableMs?: number;
  /** Short-lived connections in a row that mean a fight over the client id (default 4; takeover.ts). */
  conflictThreshold?: number;
  /** Delay before the next try once such a fight is seen (default 120 s). */
  conflictBackoffMs?: number;
}

export type { LinkError, ConflictReport };
/** Builds a link from its options: the real MqttLink, or a test's fake (RuntimeOptions.newLink). */
export type LinkFactory = (o: LinkOptions) => DeviceLink;

type Handler = (topic: string, payload: Buffer) => void;

/**
 * TLS client options. The chain is always verified (against `ca`, else the system CAs). A pin
 * replaces the host-name check: the certificate must be exactly the pinned one, so a hub reached
 * by an address its certificate does not name still works, and no other certificate from the CA does.
 */
function tlsOptions(t: LinkOptions['tls']): Partial<IClientOptions> {
  if (!t) return {};
  const pin = t.pinSha256?.replace(/:/g, '').toUpperCase();
  return {
    ...(t.ca ? { ca: t.ca } : {}),
    rejectUnauthorized: true,
    ...(pin
      ? {
          checkServerIdentity: (_host: string, cert: { fingerprint256?: string }) => {
            const got = cert.fingerprint256?.replace(/:/g, '').toUpperCase();
            return got === pin ? undefined : new Error(`the broker's certificate (SHA-256 ${cert.fingerprint256}) is not the pinned one`);
          },
        }
      : {}),
  } as Partial<IClientOptions>;
}

export class MqttLink implements DeviceLink {
  private client: MqttClient | undefined;
  private readonly retained = new Map<string, { payload: string | Buffer; qos: 0 | 1 }>();
  private readonly queue: Array<{ topic: string; payload: string | Buffer; qos: 0 | 1 }> = [];
  private readonly subs = new Map<string, Set<Handler>>();
  private readonly backoff: Backoff;
  private reconnectTimer: TimerHandle | undefined;
  private stopped = false;
  private connectedFlag = false;
  private readonly listeners = new Set<(connected: boolean) => void>();
  private readonly errorListeners = new Set<(e: LinkError) => void>();
  private readonly conflictListeners = new Set<(c: ConflictReport) => void>();
  private readonly flaps: FlapDetector;
  /** The last error the client reported (the broker's refusal, a socket error), for trials and status. */
  lastError: LinkError | undefined;
  connects = 0;

  constructor(private readonly o: LinkOptions) {
    this.backoff = new Backoff({ minMs: o.reconnectMinMs ?? 500, maxMs: o.reconnectMaxMs ?? 30_000 });
    this.flaps = new FlapDetector({ stableMs: o.stableMs ?? 5000, threshold: o.conflictThreshold ?? 4 });
  }

  onError(fn: (e: LinkError) => void): () => void {
    this.errorListeners.add(fn);
    return () => this.errorListeners.delete(fn);
  }
  /** Called when the broker keeps closing this link's connections right after accepting them (takeover.ts). */
  onConflict(fn: (c: ConflictReport) => void): () => void {
    this.conflictListeners.add(fn);
    return () => this.conflictListeners.delete(fn);
  }

  get connected(): boolean {
    return this.connectedFlag;
  }

  /** Starts connecting; resolves at once (the link keeps trying in the background). */
  start(): void {
    const opts: IClientOptions = {
      clientId: this.o.clientId,
      username: this.o.username,
      password: this.o.password,
      keepalive: this.o.keepaliveS ?? 30,
      clean: true,
      reconnectPeriod: 0, // reconnects are ours (backoff with jitter)
      connectTimeout: 10_000,
      protocolVersion: 4, // 3.1.1: spoken by Aedes and Mosquitto alike
      will: { topic: this.o.will.topic, payload: Buffer.from(this.o.will.payload), qos: 1, retain: true },
      ...tlsOptions(this.o.tls),
    };
    dropMqttNumberCache();
    const client = mqtt.connect(this.o.url, opts);
    this.client = client;
    client.on('connect', () => this.onConnect());
    client.on('message', (topic, payload) => this.dispatch(topic, payload));
    client.on('close', () => this.onClose());
    client.on('error', (e) => {
      this.lastError = { message: e.message, code: (e as { code?: number | string }).code };
      this.o.log.warn(describeBrokerError(this.o.url, e));
      for (const l of this.errorListeners) l(this.lastError);
    });
  }

  onConnectionChange(fn: (connected: boolean) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private onConnect(): void {
    const c = this.client!;
    // Requests and replies are small: without TCP_NODELAY, Nagle + delayed ACK add ~40–90 ms per round trip.
    (c.stream as unknown as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
    const wasReconnect = this.connects > 0;
    this.connects++;
    this.connectedFlag = true;
    this.flaps.connected(this.o.clock.now());
    this.o.log.info(`${wasReconnect ? 'reconnected' : 'connected'} to ${this.o.url}`);
    const filters = [...this.subs.keys()];
    if (filters.length) {
      c.subscribe(filters, { qos: 1 }, (err, granted) => {
        if (err) {
          this.o.log.error(`subscribe failed: ${err.message}`);
          return;
        }
        for (const g of granted ?? [])
          if (g.qos === 128) this.o.log.error(`the broker refused the subscription ${g.topic} (check this device's ACL)`);
      });
    }
    c.publish(this.o.birth.topic, this.o.birth.payload, { qos: 1, retain: true });
    for (const [topic, m] of this.retained) c.publish(topic, m.payload, { qos: m.qos, retain: true });
    for (const m of this.queue.splice(0)) c.publish(m.topic, m.payload, { qos: m.qos });
    for (const l of this.listeners) l(true);
  }

  private onClose(): void {
    const was = this.connectedFlag;
    this.connectedFlag = false;
    if (was) for (const l of this.listeners) l(false);
    if (this.stopped || this.reconnectTimer) return;
    const verdict = was ? this.flaps.closed(this.o.clock.now()) : (this.flaps.attemptFailed(), undefined);
    if (verdict?.stable) this.backoff.reset();
    let delay = this.backoff.next();
    if (verdict?.conflict) {
      // Each further round doubles the pause, up to 16 times the first: two clones settle into one
      // status change every few minutes instead of dozens a second.
      const rounds = verdict.streak - (this.o.conflictThreshold ?? 4);
      delay = Math.max(delay, (this.o.conflictBackoffMs ?? 120_000) * 2 ** Math.min(rounds, 4));
      const message =
        `the broker closed this device's connection ${verdict.streak} times in a row within seconds of accepting it ` +
        `(last after ${Math.round(verdict.livedMs)} ms): another client is probably using the client id "${this.o.clientId}" (two devices with one id, e.g. a cloned SD card), ` +
        `or the broker refuses something this device publishes (see the hub's log); next try in ${Math.round(delay / 1000)} s`;
      this.o.log.error(message);
      for (const l of this.conflictListeners) l({ streak: verdict.streak, livedMs: verdict.livedMs, nextTryMs: delay, message });
    } else if (was) this.o.log.warn(`lost the broker; reconnecting in ${delay} ms`);
    else this.o.log.debug(`broker unreachable; next try in ${delay} ms`, { attempt: this.backoff.attempts });
    this.reconnectTimer = this.o.clock.setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopped) this.client?.reconnect();
    }, delay);
  }

  private dispatch(topic: string, payload: Buffer): void {
    for (const [filter, handlers] of this.subs) {
      if (!topicMatches(filter, topic)) continue;
      for (const h of handlers) {
        try {
          h(topic, payload);
        } catch (e) {
          this.o.log.error(`handler for ${filter} threw: ${(e as Error).message}`, { error: e });
        }
      }
    }
  }

  /**
   * Subscribes (now if connected, and again on every reconnect); returns an unsubscribe function.
   * A handler added to a filter that is already subscribed sends the SUBSCRIBE again: the broker
   * then re-sends the retained messages (MQTT 3.1.1 §3.8.4), which a late subscriber needs (a
   * player started by config/set must see the retained stream announcements). The handlers
   * already there see those retained messages once more, so handlers of retained topics must be
   * idempotent.
   */
  subscribe(filter: string, handler: Handler): () => void {
    let set = this.subs.get(filter);
    if (!set) {
      set = new Set();
      this.subs.set(filter, set);
    }
    set.add(handler);
    if (this.connectedFlag) this.client?.subscribe(filter, { qos: 1 });
    return () => {
      const s = this.subs.get(filter);
      if (!s) return;
      s.delete(handler);
      if (s.size === 0) {
        this.subs.delete(filter);
        if (this.connectedFlag) this.client?.unsubscribe(filter);
      }
    };
  }

  /**
   * Publishes. Retained messages are remembered and re-published on every reconnect (an empty
   * payload clears the topic and forgets it). Non-retained messages wait while offline.
   */
  publish(topic: string, payload: string | Buffer, opts: { retain?: boolean; qos?: 0 | 1 } = {}): void {
    const qos = opts.qos ?? 1;
    if (opts.retain) {
      if (payload.length === 0) this.retained.delete(topic);
      else this.retained.set(topic, { payload, qos });
      if (this.connectedFlag) this.client!.publish(topic, payload, { qos, retain: true });
      return;
    }
    if (this.connectedFlag) {
      this.client!.publish(topic, payload, { qos });
      return;
    }
    this.queue.push({ topic, payload, qos });
    const max = this.o.offlineQueue ?? 1000;
    if (this.queue.length > max) this.queue.splice(0, this.queue.length - max);
  }

  /** Takes over another link's retained messages (the runtime replacing its link), to re-publish them on every connect here. */
  adoptRetained(from: DeviceLink): void {
    if (!(from instanceof MqttLink)) return;
    for (const [topic, m] of from.retained) if (!this.retained.has(topic)) this.retained.set(topic, m);
  }

  /** Publishes the will's payload ourselves and closes cleanly (a clean stop says "offline" too). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.o.clock.clearTimeout(this.reconnectTimer);
    const c = this.client;
    if (!c) return;
    // Each step is bounded: if the broker vanished mid-stop, a QoS 1 ack never comes and mqtt.js
    // (with reconnects off) would wait for ever; the broker's will says "offline" then anyway.
    const bounded = (fn: (done: () => void) => void, ms: number) =>
      new Promise<boolean>((r) => {
        const timer = setTimeout(() => r(false), ms);
        fn(() => {
          clearTimeout(timer);
          r(true);
        });
      });
    if (this.connectedFlag) {
      await bounded((done) => c.publish(this.o.will.topic, this.o.will.payload, { qos: 1, retain: true }, () => done()), 1000);
    }
    const ended = await bounded((done) => c.end(!this.connectedFlag, {}, () => done()), 1000);
    if (!ended) await bounded((done) => c.end(true, {}, () => done()), 1000);
  }
}
