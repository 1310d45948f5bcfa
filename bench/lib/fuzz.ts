// The protocol fuzz campaign (issue 12): fast-check generates cases, a real MQTT client sends
// each one to a real device runtime through the real embedded hub, and invariants are checked
// after every step, from outside the device:
// 1. a request (config/set or any topic under cmd/) gets exactly one reply, within REPLY_MS;
// 2. every reply is at most MAX_REPLY_BYTES;
// 3. the device is online (its last retained status) and answers another client's ping within
//    `pingBoundMs`;
// 4. the retained config and the file on disk change only after an ok reply (that is not
//    "unchanged"); after any other reply both are byte for byte what they were.
// A case that breaks one is an escape. Cases: random topics under hearth/<id>/ (config/set,
// cmd/ with 0–4 segments of any text, other names), payloads that are random bytes, random JSON,
// plausible requests and patches (some valid, some changing broker settings to ones that do not
// work), and the refusal cases by name: BOM, invalid UTF-8, repeated keys, __proto__, deep
// nesting, a missing v, near and over the size limit. The test (short) and `npm run bench -- core`
// (long) both run this.
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import mqtt, { type MqttClient } from 'mqtt';
import { startBroker, type RunningBroker } from '../../device/hub/broker.ts';
import { startRuntime, type Runtime } from '../../device/core/runtime.ts';
import { createLogger } from '../../device/core/log.ts';
import { PROTOCOL_VERSION, type Reply } from '../../protocol/index.ts';
import { BUILT_IN_ROLES } from '../../device/cli/roles.ts';

export const REPLY_MS = 5000;
export const MAX_REPLY_BYTES = 8 * 1024;
const ID = 'fuzzed';
const BASE = `hearth/${ID}`;

export interface FuzzCase {
  topic: string;
  payload: Buffer;
  expectsReply: boolean;
  label: string;
}
export interface Escape {
  step: number;
  label: string;
  topic: string;
  invariant: string;
  detail: string;
}
export interface FuzzResult {
  cases: number;
  escapes: Escape[];
  pingMaxMs: number;
  pingP99Ms: number;
  okReplies: number;
  trials: number;
}

const seg = fc.oneof(
  fc.constantFrom(
    'device',
    'ping',
    'restart-role',
    'player',
    'tuner',
    'tune',
    'waker',
    'wake',
    'hub',
    'clients',
    'probe',
    '',
    '+',
    '#',
    '..',
    'x'.repeat(300),
  ),
  fc.string({ maxLength: 12, unit: 'grapheme' }),
);
const topicArb: fc.Arbitrary<{ topic: string; expectsReply: boolean }> = fc
  .oneof(
    { weight: 5, arbitrary: fc.constant({ topic: `${BASE}/config/set`, expectsReply: true }) },
    {
      weight: 5,
      arbitrary: fc
        .array(seg, { minLength: 0, maxLength: 4 })
        .map((s) => ({ topic: s.length ? `${BASE}/cmd/${s.join('/')}` : `${BASE}/cmd`, expectsReply: true })),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom('cmd/device/ping', 'cmd/device/restart-role').map((x) => ({ topic: `${BASE}/${x}`, expectsReply: true })),
    },
    {
      weight: 1,
      arbitrary: fc.array(seg, { minLength: 1, maxLength: 3 }).map((s) => ({ topic: `${BASE}/${s.join('/')}`, expectsReply: false })),
    },
  )
  .filter((x) => !/[+#\u0000]/.test(x.topic) && Buffer.byteLength(x.topic) < 1000 && isSafeTopic(x.topic));

/** Topics the fuzzer must not publish to: the device's own outputs (a controller may, but they are not inputs). */
function isSafeTopic(topic: string): boolean {
  const rest = topic.slice(BASE.length + 1);
  return !/^(status|info|config|reply|telemetry|state|event)(\/|$)/.test(rest) || rest.startsWith('config/set') || rest === 'config/set';
}

const patchArb = fc.oneof(
  fc.record({ name: fc.string({ maxLength: 40 }) }),
  fc.record({ telemetry: fc.record({ intervalS: fc.integer({ min: -5, max: 5000 }) }) }),
  fc.record({ log: fc.record({ level: fc.constantFrom('error', 'loud', 'Error') }) }),
  fc.record({ mqtt: fc.record({ keepaliveS: fc.integer({ min: 1, max: 700 }) }, { requiredKeys: [] }) }),
  fc.record({ mqtt: fc.record({ password: fc.constantFrom('***', 'wrong', null) }) }),
  fc.record({ roles: fc.dictionary(fc.constantFrom('player', 'tuner', 'nosuch', 'hub'), fc.jsonValue({ maxDepth: 2 })) }),
  fc.jsonValue({ maxDepth: 4 }),
);
const badBroker = fc.constantFrom(
  'mqtt://127.0.0.1:1',
  'mqtt://no-such-host.invalid:1883',
  'mqtts://127.0.0.1:PORT',
  'ws://127.0.0.1:PORT/x',
);

function payloadArb(port: number): fc.Arbitrary<{ payload: Buffer; label: string }> {
  const req = (body: Record<string, unknown>, label: string) => ({
    payload: Buffer.from(JSON.stringify({ v: PROTOCOL_VERSION, id: 'fz', ...body })),
    label,
  });
  return fc.oneof(
    { weight: 6, arbitrary: fc.uint8Array({ maxLength: 2000 }).map((b) => ({ payload: Buffer.from(b), label: 'random bytes' })) },
    {
      weight: 6,
      arbitrary: fc.jsonValue({ maxDepth: 5 }).map((j) => ({ payload: Buffer.from(JSON.stringify(j) ?? 'null'), label: 'random JSON' })),
    },
    { weight: 12, arbitrary: patchArb.map((p) => req({ patch: p }, 'patch')) },
    { weight: 4, arbitrary: fc.record({ text: fc.string(), role: fc.string() }, { requiredKeys: [] }).map((a) => req(a, 'command args')) },
    // Broker trials are slow (each waits out its bound); the lockouts phase tries 50 on purpose.
    { weight: 1, arbitrary: badBroker.map((u) => req({ patch: { mqtt: { url: u.replace('PORT', String(port)) } } }, 'bad broker url')) },
    {
      weight: 4,
      arbitrary: fc.constantFrom(
        { payload: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"v":2,"id":"b","patch":{}}')]), label: 'BOM' },
        {
          payload: Buffer.concat([Buffer.from('{"v":2,"id":"u","patch":{"name":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}')]),
          label: 'invalid UTF-8',
        },
        { payload: Buffer.from('{"v":2,"id":"d","patch":{"name":"a","name":"b"}}'), label: 'repeated key' },
        { payload: Buffer.from('{"v":2,"id":"p","patch":{"__proto__":{"name":"x"}}}'), label: '__proto__' },
        { payload: Buffer.from('{"v":2,"id":"c","patch":{"constructor":{"prototype":{}}}}'), label: 'constructor' },
        { payload: Buffer.from('{"v":2,"id":"n","patch":' + '['.repeat(20000) + ']'.repeat(20000) + '}'), label: 'deep nesting' },
        { payload: Buffer.from('{"id":"m","patch":{"name":"x"}}'), label: 'missing v' },
        { payload: Buffer.from(JSON.stringify({ v: 2, id: 'big', patch: { name: 'y'.repeat(64 * 1024) } })), label: 'over the size limit' },
        {
          payload: Buffer.from(
            JSON.stringify({
              v: 2,
              id: 'near',
              config: {
                v: 2,
                id: ID,
                mqtt: { url: 'mqtt://x' },
                roles: Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`r${i}`, { x: 1 }])),
              },
            }),
          ),
          label: 'many errors',
        },
        { payload: Buffer.alloc(0), label: 'empty' },
      ),
    },
  );
}

export function caseArb(port: number): fc.Arbitrary<FuzzCase> {
  return fc
    .tuple(topicArb, payloadArb(port))
    .map(([t, p]) => ({ topic: t.topic, expectsReply: isRequestTopic(t.topic), payload: p.payload, label: p.label }));
}

/** The device answers config/set and everything under cmd (the topic itself included). */
function isRequestTopic(topic: string): boolean {
  const rest = topic.slice(BASE.length + 1);
  return rest === 'config/set' || rest === 'cmd' || rest.startsWith('cmd/');
}

interface Rig {
  hub: RunningBroker;
  dir: string;
  runtime: Runtime;
  fuzzer: MqttClient;
  pinger: MqttClient;
  watcher: MqttClient;
  stop(): Promise<void>;
}

async function rig(trialMs: number): Promise<Rig> {
  const log = createLogger({ level: (process.env.HEARTH_TEST_LOG as 'debug') ?? 'error' });
  const hub = await startBroker({ host: '127.0.0.1', port: 0, allowAnonymous: true, log });
  const url = `mqtt://127.0.0.1:${hub.port}`;
  const dir = mkdtempSync(join(tmpdir(), 'hearth-fuzz-'));
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ v: 2, id: ID, mqtt: { url, reconnectMinMs: 50, reconnectMaxMs: 500 }, roles: {} }),
  );
  const runtime = await startRuntime({ roles: BUILT_IN_ROLES, stateDir: dir, log, brokerTrialMs: trialMs });
  const client = (name: string) => mqtt.connectAsync(url, { clientId: `${name}-${process.pid}`, reconnectPeriod: 100, protocolVersion: 4 });
  const [fuzzer, pinger, watcher] = await Promise.all([client('fuzzer'), client('pinger'), client('watcher')]);
  for (const c of [fuzzer, pinger, watcher]) (c.stream as unknown as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
  return {
    hub,
    dir,
    runtime,
    fuzzer,
    pinger,
    watcher,
    async stop() {
      await Promise.all([fuzzer, pinger, watcher].map((c) => c.endAsync(true)));
      await runtime.stop();
      await hub.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `cases` fuzz cases (seeded) and reports escapes; stops early after `maxEscapes`. */
export async function runFuzz(o: {
  cases: number;
  seed: number;
  pingBoundMs: number;
  trialMs?: number;
  maxEscapes?: number;
  onProgress?: (n: number) => void;
}): Promise<FuzzResult> {
  const r = await rig(o.trialMs ?? 200);
  const escapes: Escape[] = [];
  const pings: number[] = [];
  let okReplies = 0,
    trials = 0;
  try {
    // What the device publishes, as the watcher (a separate client) sees it.
    let status = '';
    let retainedConfig = '';
    const replies: Array<{ raw: Buffer; reply: Reply | undefined; at: number }> = [];
    let replyWaiter: (() => void) | undefined;
    r.watcher.on('message', (topic, raw) => {
      if (topic === `${BASE}/status`) status = raw.toString();
      else if (topic === `${BASE}/config`) retainedConfig = raw.toString();
      else if (topic === `${BASE}/reply`) {
        let reply: Reply | undefined;
        try {
          reply = JSON.parse(raw.toString()) as Reply;
        } catch {
          reply = undefined;
        }
        if (reply?.id?.startsWith('ping-')) return;
        replies.push({ raw, reply, at: performance.now() });
        replyWaiter?.();
      }
    });
    await r.watcher.subscribeAsync([`${BASE}/status`, `${BASE}/config`, `${BASE}/reply`], { qos: 1 });
    const pingReplies = new Map<string, () => void>();
    r.pinger.on('message', (_t, raw) => {
      try {
        const id = (JSON.parse(raw.toString()) as Reply).id;
        pingReplies.get(id)?.();
      } catch {
        /* not a reply */
      }
    });
    await r.pinger.subscribeAsync(`${BASE}/reply`, { qos: 1 });
    let pingSeq = 0;
    const ping = async (): Promise<number> => {
      const id = `ping-${++pingSeq}`;
      const t0 = performance.now();
      const got = new Promise<boolean>((resolve) => {
        const timer = setTimeout(
          () => {
            pingReplies.delete(id);
            resolve(false);
          },
          Math.max(o.pingBoundMs * 10, 3000),
        );
        pingReplies.set(id, () => {
          clearTimeout(timer);
          pingReplies.delete(id);
          resolve(true);
        });
      });
      r.pinger.publish(`${BASE}/cmd/device/ping`, JSON.stringify({ v: PROTOCOL_VERSION, id }), { qos: 1 });
      return (await got) ? performance.now() - t0 : Infinity;
    };
    const waitFor = async (pred: () => boolean, ms: number) => {
      const end = performance.now() + ms;
      while (!pred() && performance.now() < end)
        await new Promise<void>((res) => {
          replyWaiter = res;
          setTimeout(res, 20);
        });
      replyWaiter = undefined;
      return pred();
    };
    await waitFor(() => status === 'online' && retainedConfig !== '', 5000);
    const disk = () => readFileSync(join(r.dir, 'config.json'), 'utf8');

    const cases = fc.sample(caseArb(r.hub.port), { numRuns: o.cases, seed: o.seed });
    for (let step = 0; step < cases.length; step++) {
      const c = cases[step]!;
      const escape = (invariant: string, detail: string) =>
        escapes.push({ step, label: c.label, topic: c.topic.slice(0, 120), invariant, detail: detail.slice(0, 300) });
      const before = { disk: disk(), retained: retainedConfig, revision: r.runtime.config().revision };
      const n0 = replies.length;
      await r.fuzzer.publishAsync(c.topic, c.payload, { qos: 1 });
      let got: (typeof replies)[number] | undefined;
      if (c.expectsReply) {
        if (!(await waitFor(() => replies.length > n0, REPLY_MS + (o.trialMs ?? 200) * 2)))
          escape('one reply per request', `no reply within ${REPLY_MS} ms`);
        got = replies[n0];
        // A late second reply would be counted against the next step; give it a moment.
        if (got?.reply?.error?.code === 'apply-failed' && /broker settings/.test(got.reply.error.message)) trials++;
      } else {
        await new Promise((res) => setTimeout(res, 5));
        if (replies.length > n0) escape('no reply to a non-request', `got ${replies[n0]!.raw.toString().slice(0, 100)}`);
      }
      if (got) {
        if (got.raw.length > MAX_REPLY_BYTES) escape('bounded reply', `${got.raw.length} bytes`);
        if (!got.reply) escape('reply is JSON', got.raw.toString().slice(0, 100));
        if (got.reply?.ok) okReplies++;
      }
      // Retained config and file on disk change only after an ok reply that applied something.
      const applied =
        got?.reply?.ok === true &&
        !(got.reply.result as { unchanged?: boolean } | undefined)?.unchanged &&
        c.topic === `${BASE}/config/set`;
      if (applied) {
        await waitFor(() => retainedConfig !== before.retained, 2000);
        const rev = r.runtime.config().revision;
        if (rev !== before.revision + 1) escape('revision +1 after ok', `${before.revision} -> ${rev}`);
        if (JSON.parse(disk()).revision !== rev) escape('file on disk after ok', `disk ${JSON.parse(disk()).revision}, runtime ${rev}`);
      } else {
        if (disk() !== before.disk)
          escape(
            'file on disk unchanged without ok',
            `reply ${JSON.stringify(got?.reply?.error ?? got?.reply?.result ?? null).slice(0, 200)}`,
          );
        if (r.runtime.config().revision !== before.revision)
          escape('revision unchanged without ok', `${before.revision} -> ${r.runtime.config().revision}`);
      }
      // Alive and online, and another client's ping answers within its bound.
      if (!(await waitFor(() => status === 'online', 3000))) escape('device online', `status ${status}`);
      if (!applied && retainedConfig !== before.retained) escape('retained config unchanged without ok', 'changed');
      const ms = await ping();
      pings.push(ms);
      if (ms > o.pingBoundMs) escape('ping within bound', ms === Infinity ? 'no answer' : `${ms.toFixed(1)} ms`);
      if (escapes.length >= (o.maxEscapes ?? Infinity)) break;
      if (step % 500 === 499) o.onProgress?.(step + 1);
    }
    const sorted = pings.filter(Number.isFinite).sort((a, b) => a - b);
    return {
      cases: cases.length,
      escapes,
      okReplies,
      trials,
      pingMaxMs: pings.length ? Math.max(...pings) : 0,
      pingP99Ms: sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]! : 0,
    };
  } finally {
    await r.stop();
  }
}
