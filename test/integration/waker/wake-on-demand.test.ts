// End to end on a namespace LAN: a client reaches for a sleeping host, the waker (a real hearth
// runtime, over MQTT) sends one magic packet, the host's WoL receiver brings it back, and the
// client's retry gets through.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { createLan, type Lan } from './lan.ts';
import { jsonChild, type JsonChild } from './child.ts';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const test = suite('waker on a namespace LAN');

let lan: Lan;
let waker: JsonChild;
let receiver: JsonChild;

function config(extra: Record<string, unknown> = {}) {
  return {
    hosts: [
      {
        name: 'theobromine',
        ip: lan.sleeper.ip,
        mac: lan.sleeper.mac,
        interface: lan.waker.iface,
        cooldownS: 20,
        wakeTimeoutS: 20,
        deny: ['10.78.0.1'],
        ...extra,
      },
    ],
    probe: { intervalS: 1, timeoutMs: 300, misses: 2 },
  };
}

const isEvent = (type: string) => (l: any) => /\/event\/waker$/.test(l.topic ?? '') && l.payload?.type === type;
const hostState = (state: string) => (l: any) => /\/state\/waker$/.test(l.topic ?? '') && l.payload?.detail?.hosts?.[0]?.state === state;
const count = (pred: (l: any) => boolean, from = 0) => waker.lines.slice(from).filter(pred).length;

async function startWaker(cfg = config()) {
  waker = jsonChild(lan.waker.ns.node(here('./waker-node.ts'), [JSON.stringify(cfg)], { stdio: ['pipe', 'pipe', 'pipe'] }), 'waker');
  await waker.waitFor((l) => hostState('asleep')(l) || hostState('awake')(l), 15_000);
}

function ping(timeoutS = 1): boolean {
  try {
    lan.client.ns.exec('ping', ['-c', '1', '-W', String(timeoutS), lan.sleeper.ip], { timeoutMs: (timeoutS + 5) * 1000 });
    return true;
  } catch {
    return false;
  }
}

test.before(async () => {
  lan = createLan();
  lan.sleep();
  receiver = jsonChild(
    lan.sleeper.ns.node(here('./wol-receiver.ts'), [lan.sleeper.iface, lan.sleeper.mac, `${lan.sleeper.ip}/24`, '-', '200']),
    'receiver',
  );
  await receiver.waitFor((l) => l.ready);
  await startWaker();
});

test.after(async () => {
  await waker?.kill();
  await receiver?.kill();
  lan?.delete();
});

test('the host starts asleep (no answer to ARP probes) and the state says so over MQTT', async () => {
  const st = await waker.waitFor(hostState('asleep'));
  const h = st.payload.detail.hosts[0];
  assert.is(h.name, 'theobromine');
  assert.is(h.seenAgoS, null);
  assert.is(count(isEvent('wake-sent')), 0);
});

test("ping → exactly one wake, the host comes back, the client's retry succeeds", async () => {
  const mark = waker.lines.length;
  let ok = false;
  for (let i = 0; i < 5 && !ok; i++) ok = ping(1);
  assert.ok(ok, 'a ping got through within 5 tries');
  assert.ok(lan.hasAddress(), 'the WoL receiver restored the address');
  const demand = await waker.waitFor(isEvent('demand'), 2_000, mark);
  assert.is(demand.payload.data.requesterIp, lan.client.ip);
  assert.is(demand.payload.data.requesterMac, lan.client.mac);
  const sent = await waker.waitFor(isEvent('wake-sent'), 2_000, mark);
  assert.equal(sent.payload.data.via, ['udp 10.78.0.255:9']);
  assert.match(sent.payload.message, /theobromine/);
  await waker.waitFor(isEvent('woke'), 5_000, mark);
  await waker.waitFor(hostState('awake'), 5_000, mark);
  assert.is(count(isEvent('wake-sent'), mark), 1, 'exactly one wake');
  await receiver.waitFor((l) => l.woke, 2_000);
  const magic = receiver.lines.filter((l) => l.magic);
  assert.ok(
    magic.length >= 1 && magic.every((l) => l.magic.valid && l.magic.len === 102),
    JSON.stringify(receiver.lines) + receiver.stderr,
  );
});

test('while awake: more pings wake nothing', async () => {
  const mark = waker.lines.length;
  assert.ok(ping(1));
  lan.client.ns.exec('ip', ['neigh', 'flush', 'dev', lan.client.iface]);
  assert.ok(ping(1));
  await new Promise((r) => setTimeout(r, 500));
  assert.is(count(isEvent('wake-sent'), mark), 0);
});

test('asleep again → a TCP connect wakes it once (after the cooldown), and the retry connects', async () => {
  const server = lan.sleeper.ns.spawn('sh', [
    '-c',
    'exec python3 -c "import socket;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind((\'0.0.0.0\',8022));s.listen(5);\nwhile True: c,_=s.accept(); c.close()"',
  ]);
  try {
    lan.sleep();
    lan.client.ns.exec('ip', ['neigh', 'flush', 'dev', lan.client.iface]);
    const mark = waker.lines.length;
    await waker.waitFor(hostState('asleep'), 10_000, mark);
    // The first wake was < 20 s ago: wait out the cooldown so this demand is a fresh one.
    const firstWakeAt = Date.parse(waker.lines.find(isEvent('wake-sent')).payload.ts);
    await new Promise((r) => setTimeout(r, Math.max(0, firstWakeAt + 20_500 - Date.now())));
    const mark2 = waker.lines.length;
    let ok = false;
    for (let i = 0; i < 5 && !ok; i++) {
      try {
        lan.client.ns.exec('python3', ['-c', `import socket;socket.create_connection(('${lan.sleeper.ip}',8022),timeout=1).close()`]);
        ok = true;
      } catch {
        /* retry */
      }
    }
    assert.ok(ok, 'TCP connect succeeded on a retry');
    await waker.waitFor(isEvent('woke'), 5_000, mark2);
    assert.is(count(isEvent('wake-sent'), mark2), 1);
  } finally {
    server.kill('SIGKILL');
  }
});

test('commands over MQTT: wake a configured host; unknown host, missing args and bad config are refused clearly', async () => {
  const ok = await waker.request({ cmd: { action: 'wake', args: { host: 'theobromine' } } });
  assert.is(ok.ok, true);
  assert.equal(ok.result.via, ['udp 10.78.0.255:9']);
  const unknown = await waker.request({ cmd: { action: 'wake', args: { host: 'nosuch' } } });
  assert.is(unknown.ok, false);
  assert.is(unknown.error.code, 'not-found');
  assert.match(unknown.error.message, /no host "nosuch"/);
  const missing = await waker.request({ cmd: { action: 'wake', args: {} } });
  assert.is(missing.ok, false);
  assert.is(missing.error.code, 'invalid');
  const badMac = await waker.request({
    configSet: { patch: { roles: { waker: { hosts: [{ ...config().hosts[0], mac: 'zz:11:22:33:44:55' }] } } } },
  });
  assert.is(badMac.ok, false);
  assert.ok(
    badMac.error.details.some((d: any) => /\/roles\/waker\/hosts\/0\/mac$/.test(d.path)),
    JSON.stringify(badMac.error),
  );
  const badIp = await waker.request({
    configSet: { patch: { roles: { waker: { hosts: [{ ...config().hosts[0], ip: '10.78.0.256' }] } } } },
  });
  assert.is(badIp.ok, false);
  assert.ok(
    badIp.error.details.some((d: any) => /hosts\/0\/ip$/.test(d.path)),
    JSON.stringify(badIp.error),
  );
  const status = await waker.request({ cmd: { action: 'status' } });
  assert.is(status.result.hosts[0].name, 'theobromine');
});

test('the published config redacts a SecureOn password', async () => {
  const r = await waker.request({
    configSet: { patch: { roles: { waker: { hosts: [{ ...config().hosts[0], secureOn: '01:02:03:04' }] } } } },
  });
  assert.is(r.ok, true, JSON.stringify(r));
  const cfg = await waker.waitFor(
    (l) => /\/config$/.test(l.topic ?? '') && l.payload?.config?.roles?.waker?.hosts?.[0]?.secureOn !== undefined,
  );
  assert.is(cfg.payload.config.roles.waker.hosts[0].secureOn, '***');
});

test.run();
