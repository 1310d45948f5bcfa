// Two figures of issue 12, measured from outside the device (a separate MQTT client):
// - lockouts: 50 config changes with broker settings that do not work (closed port, wrong
//   password, unknown login, a name that does not resolve, TLS to a plain port, a path that is
//   not MQTT), each sent to a real device runtime on the embedded hub with real logins; a change
//   counts as a lock-out when the device does not answer a ping (on its old, good settings)
//   within 15 s of the change's reply, or never replies. Target 0.
// - flood_ping_delay_ms: one client floods the device's config/set with 53 KB invalid configs as
//   fast as its socket takes them, for `floodMs`; another client pings the device every 50 ms; the
//   figure is the slowest ping round trip during the flood (p99 and the unloaded median beside it).
//   Target <= 200 ms.
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { startBroker } from '../../device/hub/broker.ts';
import { startRuntime } from '../../device/core/runtime.ts';
import { addLogin } from '../../device/hub/credentials.ts';
import { createLogger } from '../../device/core/log.ts';
import { PROTOCOL_VERSION, type Reply } from '../../protocol/index.ts';
import { freePort } from './procs.ts';
import { hubBroker } from './brokers.ts';
import { startDeviceProcess } from './device-proc.ts';
import { BUILT_IN_ROLES } from '../../device/cli/roles.ts';

const ID = 'locked';
const BASE = `hearth/${ID}`;

interface Requester {
  send(topic: string, body: Record<string, unknown>, timeoutMs: number): Promise<{ reply: Reply | undefined; ms: number }>;
  client: MqttClient;
}

async function requester(url: string, user: string, password: string, name: string): Promise<Requester> {
  const client = await mqtt.connectAsync(url, {
    clientId: `${name}-${process.pid}`,
    ...(user ? { username: user, password } : {}),
    reconnectPeriod: 100,
    protocolVersion: 4,
  });
  (client.stream as unknown as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
  const waiting = new Map<string, (r: Reply) => void>();
  client.on('message', (_t, raw) => {
    try {
      const r = JSON.parse(raw.toString()) as Reply;
      waiting.get(r.id)?.(r);
    } catch {
      /* ignore */
    }
  });
  await client.subscribeAsync(`${BASE}/reply`, { qos: 1 });
  let seq = 0;
  return {
    client,
    send(topic, body, timeoutMs) {
      const id = `${name}-${++seq}`;
      const t0 = performance.now();
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          resolve({ reply: undefined, ms: Infinity });
        }, timeoutMs);
        waiting.set(id, (r) => {
          clearTimeout(timer);
          waiting.delete(id);
          resolve({ reply: r, ms: performance.now() - t0 });
        });
        client.publish(topic, JSON.stringify({ v: PROTOCOL_VERSION, id, ...body }), { qos: 1 });
      });
    },
  };
}

export interface LockoutFigures {
  changes: number;
  lockouts: number;
  refusedOk: number;
  worstBackMs: number;
}

export async function measureLockouts(o: { changes: number; trialMs?: number }): Promise<LockoutFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-lockouts-'));
  const log = createLogger({ level: 'error' });
  const creds = join(dir, 'credentials.json');
  const devicePw = await addLogin(creds, ID, 'device');
  const ctlPw = await addLogin(creds, 'ctl', 'controller');
  const hub = await startBroker({ host: '127.0.0.1', port: 0, credentialsFile: creds, log });
  const url = `mqtt://127.0.0.1:${hub.port}`;
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ v: 2, id: ID, mqtt: { url, password: devicePw, reconnectMinMs: 50, reconnectMaxMs: 1000 }, roles: {} }),
  );
  const runtime = await startRuntime({ roles: BUILT_IN_ROLES, stateDir: dir, log, brokerTrialMs: o.trialMs ?? 3000 });
  const ctl = await requester(url, 'ctl', ctlPw, 'ctl');
  const ping = () => ctl.send(`${BASE}/cmd/device/ping`, {}, 15_000);
  try {
    while (!(await ping()).reply) {
      /* wait for the device to come up */
    }
    const closed = await freePort();
    const bad = [
      { url: `mqtt://127.0.0.1:${closed}` },
      { password: 'wrong-password' },
      { username: 'nobody' },
      { url: 'mqtt://no-such-host.invalid:1883' },
      { url: `mqtts://127.0.0.1:${hub.port}` },
      { url: `ws://127.0.0.1:${hub.port}/mqtt` },
    ];
    let lockouts = 0,
      refusedOk = 0,
      worstBackMs = 0;
    for (let i = 0; i < o.changes; i++) {
      const r = await ctl.send(`${BASE}/config/set`, { patch: { mqtt: bad[i % bad.length] } }, 30_000);
      if (r.reply?.ok === false && r.reply.error?.code === 'apply-failed') refusedOk++;
      const t0 = performance.now();
      const p = await ping();
      if (!r.reply || !p.reply?.ok) lockouts++;
      else worstBackMs = Math.max(worstBackMs, performance.now() - t0 + r.ms);
    }

    return { changes: o.changes, lockouts, refusedOk, worstBackMs };
  } finally {
    await ctl.client.endAsync(true);
    await runtime.stop();
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface FloodFigures {
  pingMaxMs: number;
  pingP99Ms: number;
  idlePingMedianMs: number;
  floodSent: number;
  floodReplies: number;
  pings: number;
}

/** The flood, with the hub and the device each in its own process as shipped (the bench bundle). */
export async function measureFlood(o: { cli: string; floodMs: number }): Promise<FloodFigures> {
  const port = await freePort();
  const hub = hubBroker(o.cli, port);
  await hub.start();
  const url = hub.url;
  const device = startDeviceProcess({ cli: o.cli, id: ID, url, reconnectMinMs: 50, reconnectMaxMs: 500 });
  const ctl = await requester(url, '', '', 'pinger');
  const ping = () => ctl.send(`${BASE}/cmd/device/ping`, {}, 15_000);
  try {
    while (!(await ping()).reply) {
      /* wait for the device to come up */
    }
    // Flood: invalid configs of ~53 KB, as fast as the flooder's socket takes them.
    const idle: number[] = [];
    for (let i = 0; i < 40; i++) idle.push((await ping()).ms);
    const flood = await mqtt.connectAsync(url, { clientId: `flood-${process.pid}`, reconnectPeriod: 100, protocolVersion: 4 });
    const roles: Record<string, unknown> = {};
    for (let i = 0; roles && JSON.stringify(roles).length < 52_000; i++) roles[`role${i}`] = { x: 'y'.repeat(20) };
    const junk = JSON.stringify({ v: 2, id: 'flood', config: { v: 2, id: ID, mqtt: { url }, roles } });
    let floodReplies = 0;
    const counter = await mqtt.connectAsync(url, { clientId: `count-${process.pid}`, protocolVersion: 4 });
    counter.on('message', (_t, raw) => {
      if (raw.includes('"id":"flood"')) floodReplies++;
    });
    await counter.subscribeAsync(`${BASE}/reply`);
    let sent = 0,
      flooding = true;
    const pump = async () => {
      while (flooding) {
        // Keep the client's own buffer from growing without bound: wait for the socket to drain.
        const ok = (flood.stream as unknown as { writableLength: number }).writableLength < 1_000_000;
        if (ok) {
          flood.publish(`${BASE}/config/set`, junk, { qos: 0 });
          sent++;
        } else await new Promise((r) => setTimeout(r, 1));
        if (sent % 20 === 0) await new Promise((r) => setImmediate(r));
      }
    };
    const pumping = pump();
    const during: number[] = [];
    const end = performance.now() + o.floodMs;
    while (performance.now() < end) {
      during.push((await ping()).ms);
      await new Promise((r) => setTimeout(r, 50));
    }
    flooding = false;
    await pumping;
    await flood.endAsync(true);
    await counter.endAsync(true);
    const sorted = [...during].sort((a, b) => a - b);
    const idleSorted = [...idle].sort((a, b) => a - b);
    return {
      pingMaxMs: sorted.at(-1) ?? Infinity,
      pingP99Ms: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Infinity,
      idlePingMedianMs: idleSorted[Math.floor(idleSorted.length / 2)] ?? 0,
      floodSent: sent,
      floodReplies,
      pings: during.length,
    };
  } finally {
    await ctl.client.endAsync(true);
    await device.stop();
    await hub.dispose();
  }
}
