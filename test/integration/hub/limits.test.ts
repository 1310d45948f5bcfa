// The hub's bounds on real sockets (issue 12): the embedded hub refuses a packet over its size
// limit (a 100 MB publish was accepted), closes a connection whose topic MQTT 3.1.1 forbids
// (invalid UTF-8, U+0000: both were accepted), refuses retained bytes over a login's share,
// slows a client over its rate without losing its messages, and logs a client-id takeover with
// both addresses. Raw packets are written by hand where mqtt.js would not send them.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { startBroker, type RunningBroker } from '../../../device/hub/broker.ts';
import { createLogger } from '../../../device/core/log.ts';

type Ev = { type: string; clientId?: string; message: string };
interface Ctx {
  hub: RunningBroker;
  url: string;
  events: Ev[];
  watcher: MqttClient;
  seen: string[];
}
const s = suite<Ctx>('hub limits', {} as Ctx);

s.before(async (c) => {
  c.events = [];
  c.hub = await startBroker({
    host: '127.0.0.1',
    port: 0,
    allowAnonymous: true,
    log: createLogger({ level: 'error' }),
    limits: { maxPacketBytes: 100 * 1024, retainedBytesPerLogin: 8 * 1024, messagesPerS: 200, messageBurst: 50 },
    onSecurityEvent: (e) => c.events.push(e),
  });
  c.url = `mqtt://127.0.0.1:${c.hub.port}`;
  c.seen = [];
  c.watcher = await mqtt.connectAsync(c.url, { clientId: 'watcher', reconnectPeriod: 0 });
  c.watcher.on('message', (topic) => c.seen.push(topic));
  await c.watcher.subscribeAsync('#');
});
s.after(async (c) => {
  await c.watcher?.endAsync(true);
  await c.hub?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const str = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
function packet(type: number, body: Buffer): Buffer {
  const len: number[] = [];
  let n = body.length;
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n) d |= 0x80;
    len.push(d);
  } while (n);
  return Buffer.concat([Buffer.from([type, ...len]), body]);
}
const CONNECT = (id: string) => packet(0x10, Buffer.concat([str(Buffer.from('MQTT')), Buffer.from([4, 2, 0, 30]), str(Buffer.from(id))]));
const PUBLISH = (topic: Buffer, payload: Buffer) => packet(0x30, Buffer.concat([str(topic), payload]));

/** Opens a raw connection, sends CONNECT, then `then`; resolves when the hub closes it (or after ms with "open"). */
async function raw(c: Ctx, id: string, then: Buffer, ms = 2000): Promise<'closed' | 'open'> {
  const sock: Socket = connect(c.hub.port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.on('error', () => {});
  sock.resume(); // read the CONNACK, or 'close' waits for it
  sock.write(CONNECT(id));
  await sleep(100);
  sock.write(then);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      sock.destroy();
      resolve('open');
    }, ms);
    sock.once('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
  });
}

s('a publish over the packet limit closes the connection and reaches no one', async (c) => {
  assert.is(await raw(c, 'big', PUBLISH(Buffer.from('x/big'), Buffer.alloc(200 * 1024, 1))), 'closed');
  assert.not.ok(c.seen.includes('x/big'));
  assert.ok(
    c.events.some((e) => e.type === 'refused' && /over the hub's limit of 102400/.test(e.message)),
    JSON.stringify(c.events),
  );
  // Just under the limit goes through.
  assert.is(await raw(c, 'under', PUBLISH(Buffer.from('x/under'), Buffer.alloc(90 * 1024, 1)), 500), 'open');
  await sleep(100);
  assert.ok(c.seen.includes('x/under'));
});

s('a topic with invalid UTF-8 or U+0000 closes the connection [MQTT-1.5.3-1/2]', async (c) => {
  assert.is(await raw(c, 'u8', PUBLISH(Buffer.from([0x78, 0x2f, 0xff, 0xfe]), Buffer.from('a'))), 'closed');
  assert.is(await raw(c, 'nul', PUBLISH(Buffer.from('x/\u0000nul'), Buffer.from('a'))), 'closed');
  assert.ok(c.events.some((e) => /not well-formed UTF-8/.test(e.message)));
  assert.ok(c.events.some((e) => /U\+0000/.test(e.message)));
  assert.not.ok(
    c.seen.some((x) => x.includes('\uFFFD') || x.includes('\u0000')),
    JSON.stringify(c.seen),
  );
});

s("retained bytes beyond a login's share are refused; clearing makes room", async (c) => {
  const p = await mqtt.connectAsync(c.url, { clientId: 'retainer', username: 'retainer', reconnectPeriod: 0 });
  p.on('error', () => {});
  await p.publishAsync('r/a', Buffer.alloc(5 * 1024), { retain: true, qos: 1 });
  await p.publishAsync('r/a', Buffer.alloc(6 * 1024), { retain: true, qos: 1 }); // replaces: 6 KiB held
  const closed = new Promise<void>((r) => p.once('close', () => r()));
  p.publish('r/b', Buffer.alloc(4 * 1024), { retain: true, qos: 0 });
  await closed;
  assert.ok(
    c.events.some((e) => e.type === 'refused' && /holds 6144 retained bytes and may hold 8192/.test(e.message)),
    JSON.stringify(c.events.at(-1)),
  );
  const q = await mqtt.connectAsync(c.url, { clientId: 'retainer2', username: 'retainer', reconnectPeriod: 0 });
  await q.publishAsync('r/a', '', { retain: true, qos: 1 });
  await q.publishAsync('r/b', Buffer.alloc(4 * 1024), { retain: true, qos: 1 });
  await q.endAsync();
});

s('a client over its rate is slowed, and loses nothing', async (c) => {
  const f = await mqtt.connectAsync(c.url, { clientId: 'flooder', reconnectPeriod: 0 });
  const before = c.seen.filter((x) => x === 'flood/x').length;
  const t0 = performance.now();
  for (let i = 0; i < 250; i++) f.publish('flood/x', String(i), { qos: 0 });
  while (c.seen.filter((x) => x === 'flood/x').length - before < 250) {
    if (performance.now() - t0 > 10_000) assert.unreachable('messages were lost');
    await sleep(20);
  }
  const ms = performance.now() - t0;
  // 50 at once, then 200 at 200/s: about a second, not the ~20 ms it takes unthrottled.
  assert.ok(ms > 700, `250 messages took ${ms} ms`);
  assert.ok(c.events.some((e) => e.type === 'throttled'));
  await f.endAsync();
});

s('a takeover is logged with both addresses', async (c) => {
  const a = await mqtt.connectAsync(c.url, { clientId: 'twin', reconnectPeriod: 0 });
  a.on('error', () => {});
  const b = await mqtt.connectAsync(c.url, { clientId: 'twin', reconnectPeriod: 0 });
  const ev = c.events.find((e) => e.type === 'takeover');
  assert.ok(ev, JSON.stringify(c.events));
  assert.is(ev!.clientId, 'twin');
  const ports = [...ev!.message.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
  assert.is(ports.length, 2, ev!.message);
  assert.equal(ports.sort(), [(a.stream as Socket).localPort!, (b.stream as Socket).localPort!].sort());
  await b.endAsync();
});

s.run();
