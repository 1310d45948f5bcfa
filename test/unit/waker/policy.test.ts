import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WakePolicy, type Verdict } from '../../../device/waker/policy.ts';
import { RequesterList } from '../../../device/waker/requesters.ts';
import { ARP_REPLY, ARP_REQUEST, type ArpPacket } from '../../../device/waker/arp.ts';
import type { HostState } from '../../../protocol/roles/waker.ts';

const HOST = { name: 'theobromine', ip: '192.168.1.20', mac: '00:1A:2B:3C:4D:5E', cooldownS: 30 };
const CLIENT = { ip: '192.168.1.58', mac: '02:00:00:00:00:58' };

function req(over: Partial<ArpPacket> = {}): ArpPacket {
  return {
    ethDst: 'ff:ff:ff:ff:ff:ff',
    ethSrc: CLIENT.mac,
    op: ARP_REQUEST,
    senderMac: CLIENT.mac,
    senderIp: CLIENT.ip,
    targetMac: '00:00:00:00:00:00',
    targetIp: HOST.ip,
    ...over,
  };
}

function decide(policy: WakePolicy, p: ArpPacket, state: HostState = 'asleep', lastWakeAt?: number, now = 100_000): Verdict {
  return policy.decide(p, () => ({ state, lastWakeAt }), now).verdict;
}

test('an ARP request for a sleeping watched host from an ordinary requester is a demand', () => {
  const p = new WakePolicy([HOST]);
  assert.equal(
    p.decide(req(), () => ({ state: 'asleep', lastWakeAt: undefined }), 0),
    { verdict: 'wake', host: 'theobromine' },
  );
});

test("not demands: replies, other IPs, probes, gratuitous ARP, the host's own ARP", () => {
  const p = new WakePolicy([HOST]);
  assert.is(decide(p, req({ op: ARP_REPLY })), 'not-request');
  assert.is(decide(p, req({ targetIp: '192.168.1.21' })), 'not-watched');
  assert.is(decide(p, req({ senderIp: '0.0.0.0' })), 'probe');
  assert.is(decide(p, req({ senderIp: HOST.ip })), 'gratuitous');
  assert.is(decide(p, req({ senderMac: '00:1a:2b:3c:4d:5e', ethSrc: '00:1a:2b:3c:4d:5e', senderIp: '192.168.1.77' })), 'own');
  // The host's MAC on the Ethernet header alone is enough (a forged ARP sender field changes nothing).
  assert.is(decide(p, req({ ethSrc: '00:1a:2b:3c:4d:5e' })), 'own');
});

test('only while asleep (or waking past the cooldown): not while awake or not yet probed', () => {
  const p = new WakePolicy([HOST]);
  assert.is(decide(p, req(), 'awake'), 'awake');
  assert.is(decide(p, req(), 'unknown'), 'unknown');
  assert.is(decide(p, req(), 'waking', 100_000 - 31_000), 'wake');
  assert.is(decide(p, req(), 'waking', 100_000 - 1_000), 'cooldown');
});

test('cooldown: ignored for cooldownS after a wake, then a demand again', () => {
  const p = new WakePolicy([HOST]);
  assert.is(decide(p, req(), 'asleep', 0, 29_999), 'cooldown');
  assert.is(decide(p, req(), 'asleep', 0, 30_000), 'wake');
  const noCool = new WakePolicy([{ ...HOST, cooldownS: 0 }]);
  assert.is(decide(noCool, req(), 'asleep', 0, 0), 'wake');
  const dflt = new WakePolicy([{ name: 'h', ip: HOST.ip, mac: HOST.mac }]);
  assert.is(decide(dflt, req(), 'asleep', 0, 29_000), 'cooldown', 'default cooldown is 30 s');
});

test('deny lists (per host and global; IP, CIDR, MAC) win over allow lists', () => {
  const p = new WakePolicy([{ ...HOST, deny: ['192.168.1.1'], allow: ['192.168.1.0/24'] }], ['02:00:00:00:00:99']);
  assert.is(decide(p, req({ senderIp: '192.168.1.1' })), 'denied');
  assert.is(decide(p, req({ senderMac: '02:00:00:00:00:99' })), 'denied');
  assert.is(decide(p, req()), 'wake');
  assert.is(decide(p, req({ senderIp: '10.0.0.5' })), 'not-allowed');
  const byNet = new WakePolicy([{ ...HOST, deny: ['192.168.1.0/26'] }]);
  assert.is(decide(byNet, req({ senderIp: '192.168.1.63' })), 'denied');
  assert.is(decide(byNet, req({ senderIp: '192.168.1.64' })), 'wake');
});

test('allow list by MAC', () => {
  const p = new WakePolicy([{ ...HOST, allow: ['02-00-00-00-00-58'] }]);
  assert.is(decide(p, req()), 'wake');
  assert.is(decide(p, req({ senderMac: '02:00:00:00:00:59', ethSrc: '02:00:00:00:00:59' })), 'not-allowed');
});

test('requester lists: /0 matches all, /32 one, bad entries throw', () => {
  assert.ok(new RequesterList(['0.0.0.0/0']).matches('8.8.8.8', 'aa:aa:aa:aa:aa:aa'));
  assert.ok(new RequesterList(['10.0.0.1/32']).matches('10.0.0.1', ''));
  assert.not.ok(new RequesterList(['10.0.0.1/32']).matches('10.0.0.2', ''));
  assert.throws(() => new RequesterList(['10.0.0.1/33']));
  assert.throws(() => new RequesterList(['nonsense']));
});

test('several hosts: each request is judged against its own target', () => {
  const p = new WakePolicy([HOST, { name: 'other', ip: '192.168.1.30', mac: '00:00:00:00:00:31', deny: [CLIENT.ip] }]);
  assert.is(decide(p, req()), 'wake');
  assert.equal(
    p.decide(req({ targetIp: '192.168.1.30' }), () => ({ state: 'asleep', lastWakeAt: undefined }), 0),
    { verdict: 'denied', host: 'other' },
  );
});

test('ARP sent by the waker box itself (its interface MAC) wakes nobody unless ownArp is "wake"', () => {
  const BOX = '02:00:00:00:00:01';
  const fromBox = req({ ethSrc: BOX, senderMac: BOX, senderIp: '192.168.1.2' });
  assert.is(decide(new WakePolicy([HOST], [], { macs: [BOX.toUpperCase()], ownArp: 'ignore' }), fromBox), 'waker-box');
  assert.is(decide(new WakePolicy([HOST]), fromBox), 'wake', 'no MACs given: nothing is the box');
  assert.is(decide(new WakePolicy([HOST], [], { macs: [BOX], ownArp: 'wake' }), fromBox), 'wake');
  assert.is(decide(new WakePolicy([HOST], [], { macs: [BOX], ownArp: 'ignore' }), req()), 'wake', 'other requesters still wake');
});

test.run();
