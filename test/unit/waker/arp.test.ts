import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseArpFrame, buildArpFrame, buildArpProbe, isGratuitous, isProbe, ARP_REQUEST, ARP_REPLY } from '../../../device/waker/arp.ts';
import { directedBroadcast, ipToInt, intToIp } from '../../../device/waker/addr.ts';

// A who-has captured by tcpdump (from the cap README): 192.168.1.199 asks for 192.168.1.200,
// padded to 60 bytes on the wire.
const GOLDEN_REQUEST = Buffer.from(
  'ffffffffffff848f69b73d9208060001080006040001848f69b73d92c0a801c7000000000000c0a801c8' + '00'.repeat(18),
  'hex',
);
const GOLDEN_REPLY = Buffer.from('848f69b73d9274ea3aa3e669080600010800060400027' + '4ea3aa3e669c0a801c8848f69b73d92c0a801c7', 'hex');

test('parses a captured ARP request (with Ethernet padding)', () => {
  const p = parseArpFrame(GOLDEN_REQUEST)!;
  assert.equal(p, {
    ethDst: 'ff:ff:ff:ff:ff:ff',
    ethSrc: '84:8f:69:b7:3d:92',
    op: ARP_REQUEST,
    senderMac: '84:8f:69:b7:3d:92',
    senderIp: '192.168.1.199',
    targetMac: '00:00:00:00:00:00',
    targetIp: '192.168.1.200',
  });
});

test('parses a captured ARP reply', () => {
  const p = parseArpFrame(GOLDEN_REPLY)!;
  assert.is(p.op, ARP_REPLY);
  assert.is(p.senderMac, '74:ea:3a:a3:e6:69');
  assert.is(p.senderIp, '192.168.1.200');
  assert.is(p.targetIp, '192.168.1.199');
});

test('parses an 802.1Q-tagged ARP frame', () => {
  const tagged = Buffer.concat([GOLDEN_REQUEST.subarray(0, 12), Buffer.from('81000064', 'hex'), GOLDEN_REQUEST.subarray(12)]);
  assert.is(parseArpFrame(tagged)!.targetIp, '192.168.1.200');
});

test('anything that is not IPv4-over-Ethernet ARP parses to undefined', () => {
  assert.is(parseArpFrame(Buffer.alloc(0)), undefined);
  assert.is(parseArpFrame(GOLDEN_REQUEST.subarray(0, 41)), undefined);
  const ipv4 = Buffer.from(GOLDEN_REQUEST);
  ipv4[13] = 0x00; // EtherType 0x0800
  assert.is(parseArpFrame(ipv4), undefined);
  const ipv6Arp = Buffer.from(GOLDEN_REQUEST);
  ipv6Arp[16] = 0x86;
  ipv6Arp[17] = 0xdd;
  assert.is(parseArpFrame(ipv6Arp), undefined);
  const badLen = Buffer.from(GOLDEN_REQUEST);
  badLen[19] = 16;
  assert.is(parseArpFrame(badLen), undefined);
});

test('build → parse round trip; probe has sender 0.0.0.0 and is broadcast', () => {
  const f = buildArpFrame({ op: ARP_REQUEST, ethSrc: '02:00:00:00:00:09', senderIp: '10.1.2.3', targetIp: '10.1.2.4' });
  assert.is(f.length, 42);
  assert.equal(parseArpFrame(f), {
    ethDst: 'ff:ff:ff:ff:ff:ff',
    ethSrc: '02:00:00:00:00:09',
    op: 1,
    senderMac: '02:00:00:00:00:09',
    senderIp: '10.1.2.3',
    targetMac: '00:00:00:00:00:00',
    targetIp: '10.1.2.4',
  });
  const probe = parseArpFrame(buildArpProbe('02:00:00:00:00:09', '10.1.2.4'))!;
  assert.ok(isProbe(probe));
  assert.not.ok(isGratuitous(probe));
  const garp = parseArpFrame(buildArpFrame({ op: ARP_REQUEST, ethSrc: '02:00:00:00:00:09', senderIp: '10.1.2.4', targetIp: '10.1.2.4' }))!;
  assert.ok(isGratuitous(garp));
  assert.is(
    GOLDEN_REQUEST.subarray(0, 42).equals(
      buildArpFrame({ op: 1, ethSrc: '84:8f:69:b7:3d:92', senderIp: '192.168.1.199', targetIp: '192.168.1.200' }),
    ),
    true,
  );
});

test('address helpers', () => {
  assert.is(ipToInt('255.255.255.255'), 0xffffffff);
  assert.is(intToIp(ipToInt('10.77.0.3')), '10.77.0.3');
  assert.throws(() => ipToInt('10.0.0.256'));
  assert.is(directedBroadcast('10.77.0.5', '255.255.255.0'), '10.77.0.255');
  assert.is(directedBroadcast('192.168.4.9', '255.255.252.0'), '192.168.7.255');
});

test.run();
