// A controller for tests: a plain MQTT client that sends config/set and commands the way the CLI
// does and waits for the reply, plus `waitFor` on any topic.
import mqtt, { type MqttClient } from 'mqtt';
import { topics as topicsFor, PROTOCOL_VERSION, type Reply } from '../../protocol/index.ts';
import { topicMatches } from '../../device/hub/acl.ts';
import type { RoleSpec } from '../../protocol/index.ts';
import { publishedProblem } from './published.ts';

export interface Controller {
  client: MqttClient;
  cmd(device: string, role: string, action: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<Reply>;
  configSet(device: string, body: { config?: unknown; patch?: unknown; ifRevision?: number }, timeoutMs?: number): Promise<Reply>;
  /** Publishes raw bytes to a device's config/set or cmd topic and waits for a reply (any id). */
  raw(topic: string, payload: string | Buffer, device: string, timeoutMs?: number): Promise<Reply>;
  /** Resolves with the first message (seen since `since`, a `mark()`, or ever) on `filter` that satisfies `predicate`. */
  waitFor(
    filter: string,
    predicate?: (payload: any, topic: string) => boolean,
    timeoutMs?: number,
    since?: number,
  ): Promise<{ topic: string; payload: any; raw: Buffer }>;
  /** A position in the message log, for `waitFor(..., since)`. */
  mark(): number;
  /** Every message seen so far on topics matching `filter`. */
  seen(filter: string): Array<{ topic: string; payload: any }>;
  /** Role states and events seen that break the protocol (see published.ts). */
  violations(): string[];
  /** Disconnects; if any role state or event seen broke the protocol, prints them and sets a failing exit code. */
  close(): Promise<void>;
}

let seq = 0;

export async function connectController(
  url: string,
  opts: {
    username?: string;
    password?: string;
    base?: string;
    /** Role specs the published states and events are checked against (default: the built-in roles). */
    specs?: readonly RoleSpec[];
    /** Devices whose messages are not checked (a test that publishes a fake device's bad state on purpose). */
    unchecked?: string[];
  } = {},
): Promise<Controller> {
  const t = topicsFor(opts.base ?? 'hearth');
  const client = await mqtt.connectAsync(url, {
    username: opts.username,
    password: opts.password,
    clientId: `ctl-${process.pid}-${++seq}`,
    reconnectPeriod: 200,
    connectTimeout: 5000,
  });
  const log: Array<{ topic: string; payload: any; raw: Buffer }> = [];
  const toCheck: Array<{ topic: string; payload: unknown }> = [];
  const violations = () =>
    toCheck
      .map((m) => publishedProblem(m.topic, m.payload, { base: t.base, specs: opts.specs }))
      .filter((p): p is string => p !== undefined);
  const ownSent = new Map<string, Set<string>>();
  client.on('packetsend', (packet) => {
    if (packet.cmd !== 'publish') return;
    const set = ownSent.get(packet.topic) ?? ownSent.set(packet.topic, new Set()).get(packet.topic)!;
    set.add(packet.payload.toString());
  });
  const waiters = new Set<(m: { topic: string; payload: any; raw: Buffer }) => void>();
  client.on('message', (topic, raw) => {
    let payload: any = raw.toString();
    try {
      payload = JSON.parse(payload);
    } catch {
      /* keep text (e.g. "online") */
    }
    const m = { topic, payload, raw };
    log.push(m);
    // What a test published itself (deliberately bad input, say) is not a device's message. The
    // rest is checked at close(), not here: checking costs event-loop time, and a device running in
    // this process may be timing a pulse.
    const own = ownSent.get(topic);
    if (own?.has(raw.toString())) own.delete(raw.toString());
    else if (!opts.unchecked?.some((d) => topic.startsWith(`${t.base}/${d}/`))) toCheck.push(m);
    for (const w of [...waiters]) w(m);
  });
  await client.subscribeAsync([`${t.base}/#`, 'homeassistant/#'], { qos: 1 });

  function waitFor(filter: string, predicate: (p: any, topic: string) => boolean = () => true, timeoutMs = 5000, since = 0) {
    const hit = log.slice(since).find((m) => topicMatches(filter, m.topic) && predicate(m.payload, m.topic));
    if (hit) return Promise.resolve(hit);
    return new Promise<{ topic: string; payload: any; raw: Buffer }>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${filter}`));
      }, timeoutMs);
      const w = (m: { topic: string; payload: any; raw: Buffer }) => {
        if (topicMatches(filter, m.topic) && predicate(m.payload, m.topic)) {
          clearTimeout(timer);
          waiters.delete(w);
          resolve(m);
        }
      };
      waiters.add(w);
    });
  }
  function waitNew(filter: string, predicate: (p: any) => boolean, timeoutMs: number) {
    return new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${filter}`));
      }, timeoutMs);
      const w = (m: { topic: string; payload: any }) => {
        if (topicMatches(filter, m.topic) && predicate(m.payload)) {
          clearTimeout(timer);
          waiters.delete(w);
          resolve(m.payload);
        }
      };
      waiters.add(w);
    });
  }
  async function request(device: string, topic: string, body: Record<string, unknown>, timeoutMs: number): Promise<Reply> {
    const id = `t${process.pid}-${++seq}`;
    const reply = waitNew(t.reply(device), (p) => p && p.id === id, timeoutMs);
    await client.publishAsync(topic, JSON.stringify({ v: PROTOCOL_VERSION, id, ...body }), { qos: 1 });
    return reply;
  }
  return {
    client,
    cmd: (device, role, action, args = {}, timeoutMs = 5000) => request(device, t.cmd(device, role, action), args, timeoutMs),
    configSet: (device, body, timeoutMs = 10000) => request(device, t.configSet(device), body, timeoutMs),
    async raw(topic, payload, device, timeoutMs = 5000) {
      const reply = waitNew(t.reply(device), () => true, timeoutMs);
      await client.publishAsync(topic, payload, { qos: 1 });
      return reply;
    },
    waitFor,
    mark: () => log.length,
    seen: (filter) => log.filter((m) => topicMatches(filter, m.topic)),
    violations,
    async close() {
      await client.endAsync(true);
      // Not thrown: close() runs in after-hooks that must go on cleaning up (brokers, namespaces).
      // The file fails through its exit code instead, which the test runner counts as a failure.
      const found = violations();
      if (found.length) {
        console.error(`[controller] published messages break the protocol:\n  ${found.slice(0, 20).join('\n  ')}`);
        process.exitCode = 1;
      }
    },
  };
}
