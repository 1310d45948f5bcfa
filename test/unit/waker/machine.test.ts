// The waker's machine alone, in virtual time: ARP frames in, decisions and events out, with the
// exact instants the rules give (probe every 5 s, answer window 500 ms, probes every second while
// waking, two misses for sleep, cooldown 10 s, wake timeout 30 s). No capture and no socket: the
// test plays the wire and the role.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../../device/core/clock.ts';
import { WakerMachine, type WakerOutput } from '../../../device/waker/machine.ts';
import { buildArpFrame, buildArpProbe, ARP_REPLY, ARP_REQUEST } from '../../../device/waker/arp.ts';
import type { WakerHost } from '../../../protocol/roles/waker.ts';

const BOX = '02:00:00:00:00:01';
const NAS: WakerHost = { name: 'nas', ip: '10.0.0.20', mac: '02:00:00:00:00:20', interface: 'eth0', cooldownS: 10, wakeTimeoutS: 30 };
const PC: WakerHost = { name: 'pc', ip: '10.0.0.21', mac: '02:00:00:00:00:21', interface: 'eth0', deny: ['10.0.0.1'] };
const CLIENT = { ip: '10.0.0.58', mac: '02:00:00:00:00:58' };

function rig(hosts: WakerHost[] = [NAS, PC]) {
  const clock = new VirtualClock();
  const probes: Array<{ host: string; at: number }> = [];
  const events: Array<{ type: string; at: number; level: string; message: string; data: Record<string, unknown> }> = [];
  const logs: string[] = [];
  let changes = 0;
  const out: WakerOutput = {
    probe: (host) => {
      probes.push({ host, at: clock.now() });
    },
    event: (type, level, message, data) => {
      events.push({ type, at: clock.now(), level, message, data: data as Record<string, unknown> });
    },
    log: (_level, message) => {
      logs.push(message);
    },
    changed: () => {
      changes++;
    },
  };
  const m = new WakerMachine(clock, { hosts, boxMacs: [BOX], probe: { intervalS: 5, timeoutMs: 500, misses: 2 } }, out);
  const request = (from: { ip: string; mac: string }, targetIp = NAS.ip) =>
    m.frame(buildArpFrame({ op: ARP_REQUEST, ethSrc: from.mac, senderIp: from.ip, targetIp }));
  /** The host answers the box's probe (an ARP reply from its own IP). */
  const answer = (h: WakerHost) =>
    m.frame(buildArpFrame({ op: ARP_REPLY, ethSrc: h.mac, ethDst: BOX, senderIp: h.ip, targetMac: BOX, targetIp: '0.0.0.0' }));
  const states = (host: string) =>
    events.filter((e) => e.type === 'state' && e.data.host === host).map((e) => `${e.at} ${e.data.from}→${e.data.to}`);
  return { clock, m, probes, events, logs, request, answer, states, changes: () => changes };
}

test('asleep after the first unanswered probe; a request wakes it at once; the next frames of the storm meet the cooldown', () => {
  const r = rig();
  assert.is(r.request(CLIENT), undefined, 'nothing before start');
  r.m.start();
  assert.equal(
    r.probes.map((p) => `${p.at} ${p.host}`),
    ['0 nas', '0 pc'],
  );
  r.clock.advance(499);
  assert.equal(r.states('nas'), []);
  r.clock.advance(1);
  assert.equal(r.states('nas'), ['500 unknown→asleep']);
  r.clock.advance(1500);
  const order = r.request(CLIENT);
  assert.equal(order && { host: order.host, reason: order.reason, requester: order.packet?.senderIp }, {
    host: 'nas',
    reason: 'arp',
    requester: CLIENT.ip,
  });
  assert.equal(r.states('nas'), ['500 unknown→asleep', '2000 asleep→waking']);
  assert.equal(r.events.find((e) => e.type === 'demand')!.data, {
    host: 'nas',
    requesterIp: CLIENT.ip,
    requesterMac: CLIENT.mac,
    reason: 'arp',
  });
  for (let i = 0; i < 50; i++) assert.is(r.request(CLIENT), undefined);
  r.clock.advance(9_999);
  assert.is(r.request(CLIENT), undefined, 'still in the 10 s cooldown');
  assert.is(r.m.telemetry().ignored_cooldown, 51);
  assert.is(r.m.telemetry().demands, 1);
});

test('waking: probed every second; the first answer is a woke with the wake time; two misses in a row are sleep', () => {
  const r = rig([NAS]);
  r.m.start();
  r.clock.advance(2000);
  const order = r.request(CLIENT)!;
  r.m.sent(order, ['udp 10.0.0.255:9'], []);
  assert.equal(
    r.events.filter((e) => e.type === 'wake-sent').map((e) => e.data),
    [{ host: 'nas', reason: 'arp', via: ['udp 10.0.0.255:9'], requesterIp: CLIENT.ip, requesterMac: CLIENT.mac }],
  );
  r.clock.advance(3300);
  assert.equal(
    r.probes.map((p) => p.at),
    [0, 3000, 4000, 5000],
    'one probe a second while waking',
  );
  r.answer(NAS);
  const woke = r.events.find((e) => e.type === 'woke')!;
  assert.equal(
    { at: woke.at, wakeMs: woke.data.wakeMs, message: woke.message },
    { at: 5300, wakeMs: 3300, message: 'nas woke 3.3 s after the wake' },
  );
  // Awake: back to a probe every 5 s from the answer on; the first miss is forgiven, the second is sleep.
  r.clock.advance(10_499);
  assert.equal(r.probes.map((p) => p.at).slice(4), [10_300, 15_300]);
  assert.equal(r.states('nas').at(-1), '5300 waking→awake');
  r.clock.advance(1);
  assert.equal(r.states('nas').at(-1), '15800 awake→asleep');
  assert.match(r.events.at(-1)!.message, /no answer to probes/);
  assert.equal(r.m.snapshot()[0]!.seenAgoS, 10.5);
  assert.equal(r.m.telemetry(), { frames: 2, demands: 1, wakes: 1, sendErrors: 0, hostsAwake: 0 });
});

test('a wake nobody answers fails after the wake timeout; a wake by command ignores the cooldown; unknown hosts are refused', () => {
  const r = rig([NAS]);
  r.m.start();
  r.clock.advance(1000);
  const first = r.m.wake('nas')!;
  assert.equal({ host: first.host, reason: first.reason, packet: first.packet }, { host: 'nas', reason: 'command', packet: undefined });
  r.m.sent(first, ['udp 10.0.0.255:9'], ['ethernet: no such device']);
  assert.is(r.m.telemetry().sendErrors, 1, 'a way that failed is counted');
  assert.ok(r.m.wake('nas'), 'again at once: a command is not held by the cooldown');
  assert.is(r.m.wake('toaster'), undefined);
  r.clock.advance(29_999);
  assert.is(r.events.filter((e) => e.type === 'wake-failed').length, 0);
  r.clock.advance(1);
  const failed = r.events.find((e) => e.type === 'wake-failed')!;
  assert.equal(
    { at: failed.at, data: failed.data, level: failed.level },
    { at: 31_000, data: { host: 'nas', timeoutS: 30 }, level: 'warn' },
  );
  assert.equal(r.states('nas').at(-1), '31000 waking→asleep');
  r.m.sendFailed(r.m.wake('nas')!, new Error('network unreachable'));
  assert.equal(r.events.at(-1)!.data, { host: 'nas', reason: 'command' });
  assert.is(r.events.at(-1)!.type, 'wake-failed');
});

test("ARP rules: the host's own ARP is life, not demand; probes, gratuitous ARP, the box's own ARP and denied requesters wake nothing", () => {
  const r = rig();
  r.m.start();
  r.clock.advance(600);
  const quiet = [
    buildArpFrame({ op: ARP_REQUEST, ethSrc: NAS.mac, senderIp: NAS.ip, targetIp: NAS.ip }),
    buildArpProbe(CLIENT.mac, NAS.ip),
    buildArpFrame({ op: ARP_REQUEST, ethSrc: BOX, senderIp: '10.0.0.2', targetIp: PC.ip }),
    buildArpFrame({ op: ARP_REQUEST, ethSrc: '02:00:00:00:00:fe', senderIp: '10.0.0.1', targetIp: PC.ip }),
  ];
  for (const f of quiet) assert.is(r.m.frame(f), undefined);
  const t = r.m.telemetry();
  assert.equal([t.ignored_gratuitous, t.ignored_probe, t.ignored_waker_box, t.ignored_denied, t.demands], [1, 1, 1, 1, 0]);
  assert.equal(r.states('nas'), ['500 unknown→asleep', '600 asleep→awake'], "the host's own gratuitous ARP showed it alive");
  assert.equal(r.states('pc'), ['500 unknown→asleep']);
});

test('a request for a host thought awake but silent lately makes an urgent probe; unanswered, the host is asleep and the retry wakes it', () => {
  const r = rig([NAS]);
  r.m.start();
  r.answer(NAS);
  r.clock.advance(2000);
  assert.is(r.request(CLIENT), undefined, 'awake: no wake');
  assert.equal(
    r.probes.map((p) => p.at),
    [0, 2000],
    'silent 2 s (> the 500 ms window): probed now',
  );
  r.clock.advance(500);
  assert.equal(r.states('nas').at(-1), '2500 awake→asleep', 'one urgent miss is enough');
  const order = r.request(CLIENT);
  assert.is(order?.host, 'nas', "the requester's next ARP retry wakes it");
});

test('stopped: no probe, no event, frames ignored; a late send result is counted but not announced', () => {
  const r = rig([NAS]);
  r.m.start();
  r.clock.advance(600);
  const order = r.request(CLIENT)!;
  const before = { events: r.events.length, probes: r.probes.length, changes: r.changes() };
  r.m.stop();
  r.m.sent(order, ['udp 10.0.0.255:9'], []);
  assert.is(r.request(CLIENT), undefined);
  r.clock.advance(60_000);
  assert.equal({ events: r.events.length, probes: r.probes.length, changes: r.changes() }, before);
  assert.is(r.m.telemetry().wakes, 1);
  assert.is(r.clock.pending(), 0, 'no timer left');
});

test.run();
