// The one contract suite every ArpCapture adapter passes (the rules in device/hal/arp-capture.ts).
// A harness gives the adapter under test and a peer on the same wire: the peer sends frames "from
// another machine" and reports what it received.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ArpCapture, ArpCaptureOptions } from '../../../device/hal/arp-capture.ts';
import { buildArpFrame, parseArpFrame } from '../../../device/waker/arp.ts';
import { buildMagicPacket, buildWolFrame } from '../../../device/waker/magic.ts';

export interface CaptureHarness {
  name: string;
  iface: string;
  open(opts: ArpCaptureOptions): ArpCapture;
  peer: { mac: string; send(frame: Buffer): void; received(): Buffer[] };
  /** Resolves once frames sent so far have been delivered. */
  settle(): Promise<void>;
  /** Closes the peer after the suite (a live pcap handle keeps the process running). */
  cleanup?(): void;
}

export function arpCaptureContract(h: CaptureHarness): void {
  const test = suite(`ArpCapture contract: ${h.name}`);
  const req = (i: number) => buildArpFrame({ op: 1, ethSrc: h.peer.mac, senderIp: `10.9.0.${i}`, targetIp: '10.9.0.250' });

  test('exposes the interface MAC in canonical form', () => {
    const c = h.open({ iface: h.iface });
    assert.match(c.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    assert.is(c.iface, h.iface);
    c.close();
  });

  test('delivers ARP frames from the wire byte-exact and in order', async () => {
    const c = h.open({ iface: h.iface });
    const got: Buffer[] = [];
    c.onFrame((f) => got.push(Buffer.from(f)));
    for (let i = 1; i <= 20; i++) h.peer.send(req(i));
    await h.settle();
    const mine = got.filter((f) => parseArpFrame(f)?.senderMac === h.peer.mac);
    assert.is(mine.length, 20);
    mine.forEach((f, i) => assert.ok(f.subarray(0, 42).equals(req(i + 1)), `frame ${i + 1}`));
    c.close();
  });

  test('captures only the EtherTypes asked for', async () => {
    const wol = buildWolFrame(h.peer.mac, buildMagicPacket('02:00:00:00:00:20'));
    const ipv4 = Buffer.concat([
      Buffer.from('ffffffffffff', 'hex'),
      Buffer.from(h.peer.mac.replace(/:/g, ''), 'hex'),
      Buffer.from('0800', 'hex'),
      Buffer.alloc(46),
    ]);
    const arpOnly = h.open({ iface: h.iface });
    const both = h.open({ iface: h.iface, etherTypes: [0x0806, 0x0842] });
    const a: number[] = [],
      b: number[] = [];
    arpOnly.onFrame((f) => a.push(f.readUInt16BE(12)));
    both.onFrame((f) => b.push(f.readUInt16BE(12)));
    h.peer.send(wol);
    h.peer.send(ipv4);
    h.peer.send(req(1));
    await h.settle();
    assert.equal(a, [0x0806]);
    assert.equal([...b].sort(), [0x0806, 0x0842]);
    arpOnly.close();
    both.close();
  });

  test('send puts a frame on the wire; another capture on the interface sees it, the sender does not', async () => {
    const c = h.open({ iface: h.iface });
    const other = h.open({ iface: h.iface });
    const own: Buffer[] = [],
      seen: Buffer[] = [];
    c.onFrame((f) => own.push(Buffer.from(f)));
    other.onFrame((f) => seen.push(Buffer.from(f)));
    const before = h.peer.received().length;
    const probe = buildArpFrame({ op: 1, ethSrc: c.mac, senderIp: '0.0.0.0', targetIp: '10.9.0.7' });
    c.send(probe);
    await h.settle();
    const atPeer = h.peer
      .received()
      .slice(before)
      .filter((f) => f.subarray(0, 42).equals(probe));
    assert.is(atPeer.length, 1, 'the peer got it once');
    assert.is(seen.filter((f) => f.subarray(0, 42).equals(probe)).length, 1, 'another capture on the same interface got it');
    assert.is(own.filter((f) => f.subarray(0, 42).equals(probe)).length, 0, 'not looped back to its sender');
    assert.throws(() => c.send(Buffer.alloc(10)), /14 bytes/);
    c.close();
    other.close();
  });

  test('a burst of 100 back-to-back frames arrives whole', async () => {
    const c = h.open({ iface: h.iface });
    let n = 0;
    c.onFrame((f) => {
      if (parseArpFrame(f)?.targetIp === '10.9.0.251') n++;
    });
    for (let i = 1; i <= 100; i++)
      h.peer.send(buildArpFrame({ op: 1, ethSrc: h.peer.mac, senderIp: `10.9.1.${i}`, targetIp: '10.9.0.251' }));
    await h.settle();
    assert.is(n, 100);
    c.close();
  });

  test('close stops delivery at once, is idempotent, and send after close throws', async () => {
    const c = h.open({ iface: h.iface });
    let n = 0;
    c.onFrame(() => n++);
    c.close();
    c.close();
    h.peer.send(req(3));
    await h.settle();
    assert.is(n, 0);
    assert.throws(() => c.send(req(4)), /closed/);
  });

  test.after(() => h.cleanup?.());
  test.run();
}
