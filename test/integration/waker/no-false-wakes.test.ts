// Adversarial ARP on a namespace LAN, sent by a real tool (arping) on a real wire: nothing but a
// genuine request wakes the host, and an ARP storm gets one wake per cooldown. The sleeping
// host's receiver never wakes here, so every magic packet the waker sends stays countable.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { createLan, type Lan } from './lan.ts';
import { jsonChild, type JsonChild } from './child.ts';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const test = suite('waker: no false wakes, cooldown under a storm');

let lan: Lan;
let receiver: JsonChild;
let waker: JsonChild | undefined;

const isEvent = (type: string) => (l: any) => /\/event\/waker$/.test(l.topic ?? '') && l.payload?.type === type;
const hostState = (state: string) => (l: any) => /\/state\/waker$/.test(l.topic ?? '') && l.payload?.detail?.hosts?.[0]?.state === state;
const wakes = (from = 0) => waker!.lines.slice(from).filter(isEvent('wake-sent')).length;
const magics = () => receiver.lines.filter((l) => l.magic).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startWaker(cooldownS: number) {
  await waker?.kill();
  const cfg = {
    hosts: [
      {
        name: 'theobromine',
        ip: lan.sleeper.ip,
        mac: lan.sleeper.mac,
        interface: lan.waker.iface,
        cooldownS,
        wakeTimeoutS: 600,
        deny: ['10.78.0.1'],
      },
    ],
    deny: ['02:77:00:00:00:66'],
    probe: { intervalS: 1, timeoutMs: 300, misses: 2 },
  };
  waker = jsonChild(lan.waker.ns.node(here('./waker-node.ts'), [JSON.stringify(cfg)], { stdio: ['pipe', 'pipe', 'pipe'] }), 'waker');
  await waker.waitFor(hostState('asleep'), 15_000);
}

/** arping from a namespace; it exits non-zero when nothing answers, which is expected here. */
function arping(where: 'client' | 'sleeper', args: string[]): void {
  const h = lan[where];
  try {
    h.ns.exec('arping', ['-q', '-i', h.iface, ...args], { timeoutMs: 30_000 });
  } catch {
    /* no replies */
  }
}

test.before(async () => {
  lan = createLan();
  lan.sleep();
  receiver = jsonChild(
    lan.sleeper.ns.node(here('./wol-receiver.ts'), [lan.sleeper.iface, lan.sleeper.mac, `${lan.sleeper.ip}/24`, '-', '0', 'never']),
    'receiver',
  );
  await receiver.waitFor((l) => l.ready);
});

test.after(async () => {
  await waker?.kill();
  await receiver?.kill();
  lan?.delete();
});

test('no wake from probes, gratuitous ARP, replies, deny-listed requesters (IP and MAC), or the host itself', async () => {
  await startWaker(0); // no cooldown: any request taken for a demand would wake at once
  const target = lan.sleeper.ip;
  arping('client', ['-c', '3', '-w', '1', '-0', target]); // RFC 5227 probe, sender 0.0.0.0
  arping('client', ['-c', '3', '-w', '1', '-U', '-S', target, target]); // gratuitous, claiming the host's IP
  arping('client', ['-c', '3', '-w', '1', '-P', '-S', lan.client.ip, target]); // ARP replies
  arping('client', ['-c', '3', '-w', '1', '-S', '10.78.0.1', target]); // deny-listed IP (host list)
  arping('client', ['-c', '3', '-w', '1', '-S', '10.78.0.66', '-s', '02:77:00:00:00:66', '-p', target]); // deny-listed MAC (global list)
  arping('client', ['-c', '3', '-w', '1', '-S', lan.client.ip, '10.78.0.21']); // a host nobody watches
  await sleep(500);
  assert.is(wakes(), 0, 'no wake-sent event');
  assert.is(magics(), 0, 'no magic packet on the wire');
  // The host's own ARP (it announces itself): not a demand, but a sign of life.
  arping('sleeper', ['-c', '1', '-w', '1', '-U', '-S', target, target]);
  await waker!.waitFor(hostState('awake'), 3_000);
  assert.is(wakes(), 0);
  // ...and it is asleep again after two unanswered probes.
  await waker!.waitFor(hostState('asleep'), 5_000, waker!.lines.length);
  // Control: a genuine request does wake it, so the zero above is not a deaf waker.
  arping('client', ['-c', '1', '-w', '1', '-S', lan.client.ip, target]);
  await waker!.waitFor(isEvent('wake-sent'), 3_000);
  await receiver.waitFor((l) => l.magic?.valid, 3_000);
  assert.is(wakes(), 1);
});

test('ARP storm (arping at ~100/s for 3 s, many requesters): one wake per cooldown', async () => {
  await startWaker(30);
  const before = magics();
  const arpBefore = receiver.lines.filter((l) => l.arpRequests).at(-1)?.arpRequests ?? 0;
  const mark = waker!.lines.length;
  const storms = [0, 1, 2].map((i) =>
    lan.client.ns.spawn('arping', ['-q', '-i', lan.client.iface, '-c', '100', '-W', '0.03', '-S', `10.78.0.${100 + i}`, lan.sleeper.ip]),
  );
  await Promise.all(storms.map((p) => new Promise((r) => p.once('exit', r))));
  await sleep(500);
  assert.is(wakes(mark), 1, 'one wake-sent for ~300 requests within the cooldown');
  assert.is(magics() - before, 1, 'one magic packet on the wire');
  const seen = receiver.lines.filter((l) => l.arpRequests).at(-1)?.arpRequests ?? 0;
  assert.ok(seen - arpBefore >= 250, `the storm reached the wire (${seen - arpBefore} requests)`);
});

test.run();
