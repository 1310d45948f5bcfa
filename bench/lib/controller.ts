// A lean controller for benchmarks: one mqtt.js client that sends config/set and commands with a
// request id and resolves when the matching reply arrives, plus status watching. Lighter than the
// test controller (no message log), so it adds as little as possible to a round trip.
import type { Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { topics as topicsFor, PROTOCOL_VERSION, type Reply } from '../../protocol/index.ts';

export interface BenchController {
  client: MqttClient;
  /** Publishes config/set to `device` and resolves with its reply (rejects after `timeoutMs`). */
  configSet(device: string, body: { config?: unknown; patch?: unknown }, timeoutMs?: number): Promise<Reply>;
  /**
   * Calls `fn(device, status)` for every status message ("online"/"offline") from now on, and
   * first, with `replay`, for the last status already seen from each device (retained messages
   * arrive right after the subscription, before a caller can add its listener). Returns an unsubscribe.
   */
  onStatus(fn: (device: string, status: string) => void, replay?: boolean): () => void;
  /**
   * Resolves when `device` is online: at once if its last status seen was "online", unless
   * `next` asks for a status message that arrives after this call (e.g. after a broker restart).
   */
  waitOnline(device: string, timeoutMs: number, next?: boolean): Promise<void>;
  close(): Promise<void>;
}

let seq = 0;

export async function connectBenchController(url: string, opts: { reconnectPeriodMs?: number } = {}): Promise<BenchController> {
  const t = topicsFor('hearth');
  const client = await mqtt.connectAsync(url, {
    clientId: `bench-ctl-${process.pid}-${++seq}`,
    clean: true,
    reconnectPeriod: opts.reconnectPeriodMs ?? 100,
    connectTimeout: 5000,
  });
  const pending = new Map<string, (r: Reply) => void>();
  const statusFns = new Set<(device: string, status: string) => void>();
  const lastStatus = new Map<string, string>();
  client.on('message', (topic, raw) => {
    const p = t.parse(topic);
    if (!p) return;
    if (p.kind === 'reply') {
      let r: Reply;
      try {
        r = JSON.parse(raw.toString()) as Reply;
      } catch {
        return;
      }
      const w = pending.get(r.id);
      if (w) {
        pending.delete(r.id);
        w(r);
      }
    } else if (p.kind === 'status') {
      lastStatus.set(p.device, raw.toString());
      for (const fn of [...statusFns]) fn(p.device, raw.toString());
    }
  });
  // Everything under the base, as the monitor and the console subscribe: the broker fans every
  // device message out to this client, as it would in a house with a dashboard open.
  const filters = [t.allDevicesFilter()];
  // Request/reply traffic: send each packet at once. Without TCP_NODELAY, Nagle holds a small
  // write until the previous one is acknowledged, and the peer's delayed ACK makes that ~40 ms.
  const noDelay = () => (client.stream as Partial<Socket>).setNoDelay?.(true);
  noDelay();
  // A clean session loses its subscriptions when the broker restarts: subscribe on every connect.
  client.on('connect', () => {
    noDelay();
    client.subscribe(filters, { qos: 1 });
  });
  await client.subscribeAsync(filters, { qos: 1 });

  const onStatus = (fn: (device: string, status: string) => void, replay = false) => {
    statusFns.add(fn);
    if (replay) for (const [device, status] of [...lastStatus]) if (statusFns.has(fn)) fn(device, status);
    return () => {
      statusFns.delete(fn);
    };
  };
  return {
    client,
    configSet(device, body, timeoutMs = 10_000) {
      const id = `bench-${process.pid}-${++seq}`;
      return new Promise<Reply>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${device} did not answer config/set within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, (r) => {
          clearTimeout(timer);
          resolve(r);
        });
        client.publish(t.configSet(device), JSON.stringify({ v: PROTOCOL_VERSION, id, ...body }), { qos: 1 });
      });
    },
    onStatus,
    waitOnline(device, timeoutMs, next = false) {
      if (!next && lastStatus.get(device) === 'online') return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          off();
          reject(new Error(`${device} did not come online within ${timeoutMs} ms`));
        }, timeoutMs);
        const off = onStatus((d, s) => {
          if (d === device && s === 'online') {
            clearTimeout(timer);
            off();
            resolve();
          }
        });
      });
    },
    async close() {
      await client.endAsync(true);
    },
  };
}
