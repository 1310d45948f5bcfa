// The waker role in virtual time over a simulated wire: a scripted sleeping host that answers
// ARP probes only while awake and wakes a few (virtual) seconds after a valid magic packet.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dispatchCommand } from '../../../device/core/requests.ts';
import { VirtualClock } from '../../../device/core/clock.ts';
import { memoryLogger } from '../../../device/core/log.ts';
import type { RoleLink } from '../../../device/core/role.ts';
import { SimWire } from '../../../device/hal/arp-capture.sim.ts';
import { SimUdpBroadcast } from '../../../device/hal/udp-broadcast.sim.ts';
import { createWakerRole } from '../../../device/waker/role.ts';
import { buildArpFrame, parseArpFrame, ARP_REPLY, ARP_REQUEST } from '../../../device/waker/arp.ts';
import { checkMagicPacket, wolPayloadOfFrame } from '../../../device/waker/magic.ts';
import { parseSecureOn } from '../../../device/waker/addr.ts';
import { ProtocolError } from '../../../protocol/envelope.ts';
import { assertValid } from '../../../protocol/validate.ts';
import { redact, normalizeConfig } from '../../../protocol/config.ts';
import { wakerSpec, type WakerConfig, type WakerState } from '../../../protocol/roles/waker.ts';

const WAKER_MAC = '02:00:00:00:00:01';
const HOST = { name: 'theobromine', ip: '10.0.0.20', mac: '02:00:00:00:00:20', interface: 'eth0' };
const CLIENT = { ip: '10.0.0.58', mac: '02:00:00:00:00:58' };
const ROUTER = { ip: '10.0.0.1', mac: '02:00:00:00:00:fe' };

function memoryLink() {
  const events: Array<{ type: string; message: string; data?: Record<string, unknown> }> = [];
  const states: WakerState[] = [];
  const link: RoleLink = {
    publishState: (d) => states.push(structuredClone(d) as WakerState),
    publishEvent: (type, message, data) => events.push({ type, message, data }),
    publishStream: () => {},
    watchStreams: () => () => {},
    sendCommand: async () => {
      throw new Error('not used by the waker');
    },
    connected: true,
  };
  return { link, events, states };
}

/** The scripted host: answers probes and ARP requests for its IP while awake; wakes `wakeMs` after a valid magic packet. */
function sleepingHost(wire: SimWire, udp: SimUdpBroadcast, clock: VirtualClock, password?: Buffer, wakeMs = 3_000) {
  const h = { awake: false, wakes: 0, pending: false };
  const wakeUp = (payload: Buffer) => {
    if (!checkMagicPacket(payload, { mac: HOST.mac, password }).ok || h.awake || h.pending) return;
    h.pending = true;
    clock.setTimeout(() => {
      h.awake = true;
      h.pending = false;
      h.wakes++;
    }, wakeMs);
  };
  udp.onSend((payload) => wakeUp(payload));
  wire.onSent((frame) => {
    const wol = wolPayloadOfFrame(frame);
    if (wol) {
      wakeUp(wol);
      return;
    }
    const p = parseArpFrame(frame);
    if (h.awake && p && p.op === ARP_REQUEST && p.targetIp === HOST.ip) {
      wire.inject(
        buildArpFrame({
          op: ARP_REPLY,
          ethSrc: HOST.mac,
          ethDst: p.senderMac,
          senderIp: HOST.ip,
          targetMac: p.senderMac,
          targetIp: p.senderIp,
        }),
      );
    }
  });
  return h;
}

const flush = async (wire: SimWire) => {
  for (let i = 0; i < 5; i++) {
    await wire.settle();
    await new Promise((r) => setImmediate(r));
  }
};

async function setup(config: Partial<WakerConfig> & { hosts?: WakerConfig['hosts'] } = {}, password?: Buffer) {
  const clock = new VirtualClock();
  const wire = new SimWire();
  const udp = new SimUdpBroadcast();
  const log = memoryLogger();
  const { link, events, states } = memoryLink();
  const host = sleepingHost(wire, udp, clock, password);
  const cfg: WakerConfig = assertValid(
    wakerSpec.config,
    { hosts: [{ ...HOST, cooldownS: 10, wakeTimeoutS: 30 }], probe: { intervalS: 5, timeoutMs: 500 }, ...config },
    'config',
  );
  const role = createWakerRole({
    device: { id: 'waker1', baseTopic: 'hearth', stateDir: '/nonexistent' },
    config: cfg,
    clock,
    log,
    link,
    fail: (e) => {
      throw e;
    },
    hal: { arpCapture: wire.factory(WAKER_MAC, { address: '10.0.0.2', netmask: '255.255.255.0' }), udpBroadcast: () => udp },
  });
  await role.start();
  // Client ARPs for the host (what `ping 10.0.0.20` does first).
  const arpFrom = (who: { ip: string; mac: string }, over: Partial<Parameters<typeof buildArpFrame>[0]> = {}) =>
    wire.inject(buildArpFrame({ op: ARP_REQUEST, ethSrc: who.mac, senderIp: who.ip, targetIp: HOST.ip, ...over }));
  const advance = async (ms: number) => {
    for (let t = 0; t < ms; t += 100) {
      clock.advance(Math.min(100, ms - t));
      await flush(wire);
    }
  };
  await flush(wire);
  return { clock, wire, udp, log, events, states, host, role, arpFrom, advance };
}

const wakes = (events: Array<{ type: string }>) => events.filter((e) => e.type === 'wake-sent').length;

test('an ARP request for the sleeping host → one magic packet, the host wakes, woke reported', async () => {
  const t = await setup();
  await t.advance(600); // first probe unanswered → asleep
  assert.is(t.states.at(-1)!.hosts[0]!.state, 'asleep');
  t.arpFrom(CLIENT);
  await t.advance(10);
  assert.is(t.udp.sent.length, 1);
  const d = t.udp.sent[0]!;
  assert.is(d.address, '10.0.0.255');
  assert.is(d.port, 9);
  assert.ok(checkMagicPacket(d.payload, { mac: HOST.mac, password: undefined }).ok);
  assert.ok(
    t.log.lines.some((l) => l.msg === 'Waking theobromine (ARP request from 10.0.0.58)'),
    'a line a person can read',
  );
  const demand = t.events.find((e) => e.type === 'demand')!;
  assert.equal({ ip: demand.data!.requesterIp, mac: demand.data!.requesterMac }, { ip: CLIENT.ip, mac: CLIENT.mac });
  assert.is(wakes(t.events), 1);
  assert.is(t.states.at(-1)!.hosts[0]!.state, 'waking');
  await t.advance(4_000);
  assert.is(t.host.awake, true);
  const woke = t.events.find((e) => e.type === 'woke')!;
  assert.ok(woke, 'woke event');
  assert.ok((woke.data!.wakeMs as number) >= 3_000 && (woke.data!.wakeMs as number) <= 4_000, `wakeMs ${woke.data!.wakeMs}`);
  const st = t.states.at(-1)!.hosts[0]!;
  assert.is(st.state, 'awake');
  assert.is(st.wakes, 1);
  assert.equal(st.lastWake && { reason: st.lastWake.reason, requester: st.lastWake.requester }, { reason: 'arp', requester: CLIENT.ip });
  // Awake now: more requests wake nothing.
  t.arpFrom(CLIENT);
  await t.advance(100);
  assert.is(t.udp.sent.length, 1);
  await t.role.stop();
  await t.role.stop();
  assert.is(t.clock.pending(), 0, 'stop leaves no timer behind');
});

test('ARP storm: one wake per cooldown, never more', async () => {
  const t = await setup({ hosts: [{ ...HOST, cooldownS: 10, wakeTimeoutS: 3600 }] });
  t.host.awake = false;
  // A host that never wakes (wrong NIC setting): the storm goes on.
  t.udp.onSend(() => {});
  (t.host as { pending: boolean }).pending = true; // blocks the scripted wake-up
  await t.advance(600);
  for (let i = 0; i < 500; i++) t.arpFrom({ ip: `10.0.0.${100 + (i % 50)}`, mac: CLIENT.mac });
  await t.advance(100);
  assert.is(wakes(t.events), 1, 'one wake for 500 requests');
  for (let s = 0; s < 9; s++) {
    for (let i = 0; i < 50; i++) t.arpFrom(CLIENT);
    await t.advance(1_000);
  }
  assert.is(wakes(t.events), 1, 'still one within the 10 s cooldown');
  await t.advance(1_000);
  t.arpFrom(CLIENT);
  await t.advance(100);
  assert.is(wakes(t.events), 2, 'a demand after the cooldown wakes again (the host is still down)');
  await t.role.stop();
});

test('the waker box\'s own ARP wakes nobody by default; ownArp "wake" makes it a demand', async () => {
  const t = await setup();
  await t.advance(600);
  t.arpFrom({ ip: '10.0.0.2', mac: WAKER_MAC });
  await t.advance(100);
  assert.is(t.udp.sent.length, 0);
  assert.is(t.role.telemetry!().ignored_waker_box, 1);
  await t.role.stop();
  const w = await setup({ ownArp: 'wake' });
  await w.advance(600);
  w.arpFrom({ ip: '10.0.0.2', mac: WAKER_MAC });
  await w.advance(100);
  assert.is(w.udp.sent.length, 1);
  await w.role.stop();
});

test("no wake from the host's own ARP, gratuitous ARP, probes, replies, deny-listed requesters, or before the first probe", async () => {
  const t = await setup({ deny: [ROUTER.ip], hosts: [{ ...HOST, cooldownS: 0, deny: ['02:00:00:00:00:66'] }] });
  t.arpFrom(CLIENT); // before the first probe has timed out: state unknown
  await t.advance(600);
  assert.is(t.states.at(-1)!.hosts[0]!.state, 'asleep');
  t.arpFrom({ ip: '10.0.0.99', mac: HOST.mac }); // the host's own
  t.arpFrom({ ip: HOST.ip, mac: '02:00:00:00:00:77' }); // gratuitous
  t.arpFrom({ ip: '0.0.0.0', mac: '02:00:00:00:00:78' }); // probe
  t.arpFrom(CLIENT, { op: ARP_REPLY }); // reply
  t.arpFrom(ROUTER); // globally denied (IP)
  t.arpFrom({ ip: '10.0.0.66', mac: '02:00:00:00:00:66' }); // host-denied (MAC)
  t.arpFrom(CLIENT, { targetIp: '10.0.0.21' }); // not watched
  await t.advance(100);
  assert.is(t.udp.sent.length, 0);
  assert.is(wakes(t.events), 0);
  const tel = t.role.telemetry!();
  assert.is(tel.wakes, 0);
  assert.ok(
    tel.ignored_own! >= 1 && tel.ignored_gratuitous! >= 1 && tel.ignored_denied === 2 && tel.ignored_unknown === 1,
    JSON.stringify(tel),
  );
  assert.is(t.states.at(-1)!.hosts[0]!.state, 'asleep');
  // The host announcing itself (gratuitous ARP from its own MAC and IP) is no demand, but it is life.
  t.arpFrom({ ip: HOST.ip, mac: HOST.mac });
  await t.advance(100);
  assert.is(t.udp.sent.length, 0);
  assert.is(t.states.at(-1)!.hosts[0]!.state, 'awake');
  await t.role.stop();
});

test('raw Ethernet (0x0842) with a SecureOn password, UDP off', async () => {
  const pw = parseSecureOn('a1:b2:c3:d4:e5:f6');
  const t = await setup({ hosts: [{ ...HOST, udp: false, rawEthernet: true, secureOn: 'a1:b2:c3:d4:e5:f6' }] }, pw);
  await t.advance(600);
  t.arpFrom(CLIENT);
  await t.advance(10);
  const frames = t.wire.sent.map((s) => wolPayloadOfFrame(s.frame)).filter(Boolean) as Buffer[];
  assert.is(frames.length, 1);
  assert.is(frames[0]!.length, 108);
  assert.ok(checkMagicPacket(frames[0]!, { mac: HOST.mac, password: pw }).ok);
  assert.is(t.udp.sent.length, 0);
  const sent = t.wire.sent.find((s) => wolPayloadOfFrame(s.frame))!.frame;
  assert.is(sent.subarray(6, 12).toString('hex'), '020000000001', 'sent from the waker interface MAC');
  await t.advance(4_000);
  assert.is(t.host.awake, true);
  await t.role.stop();
});

test('commands: wake a configured host (even in cooldown), refuse unknown hosts and actions, status', async () => {
  const t = await setup({
    hosts: [
      { ...HOST, port: 7 },
      { name: 'caffeine', ip: '10.0.0.21', mac: '02:00:00:00:00:21', interface: 'eth0' },
    ],
  });
  await t.advance(600);
  const r = (await dispatchCommand(wakerSpec, t.role, 'wake', { host: 'theobromine' })) as { via: string[]; state: string };
  assert.equal(r.via, ['udp 10.0.0.255:7']);
  assert.is(r.state, 'waking');
  assert.ok(t.log.lines.some((l) => l.msg === 'Waking theobromine (command)'));
  await dispatchCommand(wakerSpec, t.role, 'wake', { host: 'theobromine' });
  assert.is(t.udp.sent.length, 2, 'a command ignores the cooldown');
  try {
    await dispatchCommand(wakerSpec, t.role, 'wake', { host: 'nosuch' });
    assert.unreachable('should refuse');
  } catch (e) {
    assert.instance(e, ProtocolError);
    assert.is((e as ProtocolError).code, 'not-found');
    assert.match((e as Error).message, /no host "nosuch".*configured: theobromine, caffeine/);
  }
  try {
    await dispatchCommand(wakerSpec, t.role, 'explode', {});
    assert.unreachable();
  } catch (e) {
    assert.is((e as ProtocolError).code, 'unknown-command');
  }
  const st = (await dispatchCommand(wakerSpec, t.role, 'status', {})) as WakerState;
  assert.equal(
    st.hosts.map((h) => h.name),
    ['theobromine', 'caffeine'],
  );
  assert.equal(st.interfaces, [{ name: 'eth0', mac: WAKER_MAC, broadcast: '10.0.0.255' }]);
  assert.is(st.hosts[1]!.seenAgoS, null);
  t.udp.failWith = new Error('EPERM');
  try {
    await dispatchCommand(wakerSpec, t.role, 'wake', { host: 'caffeine' });
    assert.unreachable();
  } catch (e) {
    assert.is((e as ProtocolError).code, 'failed');
  }
  assert.ok(t.events.some((e) => e.type === 'wake-failed' && /EPERM/.test(e.message)));
  await t.role.stop();
});

test("bad config: malformed MAC/IP refused by the schema with paths; duplicates and impossible MACs by the spec's checks", async () => {
  const bad = { hosts: [{ ...HOST, mac: '00:11:22:33:44', ip: '10.0.0.300' }] };
  try {
    assertValid(wakerSpec.config, bad, 'config');
    assert.unreachable();
  } catch (e) {
    const paths = (e as ProtocolError).details!.map((d) => d.path);
    assert.ok(paths.includes('/hosts/0/mac') && paths.includes('/hosts/0/ip'), paths.join());
  }
  try {
    assertValid(wakerSpec.config, { hosts: [{ ...HOST, port: 8 }] });
    assert.unreachable();
  } catch (e) {
    assert.ok((e as ProtocolError).details!.some((d) => d.path === '/hosts/0/port'));
  }
  const dup = { hosts: [HOST, { ...HOST, mac: '01:00:5e:00:00:01' }] };
  const device = { v: 2, id: 'w', mqtt: { url: 'mqtt://x' }, roles: { waker: dup } };
  try {
    normalizeConfig(device);
    assert.unreachable();
  } catch (e) {
    const err = e as ProtocolError;
    assert.is(err.code, 'invalid');
    assert.equal(
      err.details!.map((d) => d.path),
      ['/roles/waker/hosts/1/name', '/roles/waker/hosts/1/ip', '/roles/waker/hosts/1/mac'],
    );
  }
  const t = await setup();
  assert.is(await t.role.apply(assertValid(wakerSpec.config, { hosts: [HOST] })), 'restart');
  await t.role.stop();
});

test('the SecureOn password is redacted when the config is published', () => {
  const cfg = { hosts: [{ ...HOST, secureOn: 'a1:b2:c3:d4' }] };
  assert.is((redact(cfg).hosts[0] as { secureOn: string }).secureOn, '***');
});

test.run();
