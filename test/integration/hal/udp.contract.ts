// The one contract suite every UdpStack passes (the rules in device/hal/udp.ts): the real stack in
// a network namespace (udp-real.test.ts), the simulated network in virtual time (udp-sim.test.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Clock } from '../../../device/core/clock.ts';
import type { UdpMessage, UdpStack } from '../../../device/hal/udp.ts';

export interface UdpHarness {
  name: string;
  /** The stack under test, its host's clock and its unicast address. */
  stack: UdpStack;
  clock: Clock;
  addr: string;
  /** Another host on the same LAN (may be the same stack on the real adapter) and its address. */
  peer: UdpStack;
  peerAddr: string;
  /** Resolves once datagrams sent so far have been delivered (real: a short wait; sim: time advances). */
  settle(): Promise<void>;
}

export function udpContract(h: UdpHarness): void {
  const test = suite(`UdpStack contract: ${h.name}`);
  const collect = (arr: UdpMessage[]) => (m: UdpMessage) => arr.push(m);

  test('port 0 binds a free port; unicast arrives byte-exact with its sender and a receive time', async () => {
    const a = await h.stack.open({ address: h.addr });
    const b = await h.peer.open({ address: h.peerAddr });
    assert.ok((a.port > 0 && b.port > 0 && a.port !== b.port) || h.addr !== h.peerAddr);
    const got: UdpMessage[] = [];
    a.onMessage(collect(got));
    const before = h.clock.now();
    for (let i = 0; i < 10; i++) b.send(Buffer.from([i, 1, 2, 3]), a.port, h.addr);
    await h.settle();
    const after = h.clock.now();
    assert.is(got.length, 10);
    got.sort((x, y) => x.data[0]! - y.data[0]!); // UDP may reorder (the simulated jitter does)
    got.forEach((m, i) => {
      assert.ok(m.data.equals(Buffer.from([i, 1, 2, 3])), `datagram ${i}`);
      assert.is(m.address, h.peerAddr);
      assert.is(m.port, b.port);
      assert.ok(m.at >= before && m.at <= after, `receive time ${m.at} within [${before}, ${after}]`);
    });
    await a.close();
    await b.close();
  });

  test('a reply to the sender address and port comes back', async () => {
    const srv = await h.stack.open({ address: h.addr });
    srv.onMessage((m) => srv.send(Buffer.concat([Buffer.from('re:'), m.data]), m.port, m.address));
    const cli = await h.peer.open({});
    const got: string[] = [];
    cli.onMessage((m) => got.push(m.data.toString()));
    cli.send(Buffer.from('ping'), srv.port, h.addr);
    await h.settle();
    await h.settle();
    assert.equal(got, ['re:ping']);
    await srv.close();
    await cli.close();
  });

  test('a bound port is refused without reuseAddr, shared with it', async () => {
    const a = await h.stack.open({ address: h.addr });
    let err: (Error & { code?: string }) | undefined;
    try {
      const x = await h.stack.open({ address: h.addr, port: a.port });
      await x.close();
    } catch (e) {
      err = e as Error;
    }
    assert.is(err?.code, 'EADDRINUSE');
    await a.close();
    const r1 = await h.stack.open({ port: a.port, reuseAddr: true });
    const r2 = await h.stack.open({ port: a.port, reuseAddr: true });
    assert.is(r2.port, r1.port);
    await r1.close();
    await r2.close();
  });

  test('multicast: a socket bound to its group hears only that group, the sending host included', async () => {
    const port = 46000 + Math.floor(Math.random() * 500) * 2;
    const g1 = '239.255.77.1',
      g2 = '239.255.77.2';
    const r1 = await h.stack.open({ address: g1, port, reuseAddr: true });
    const r2 = await h.stack.open({ address: g2, port, reuseAddr: true });
    r1.addMembership(g1, h.addr);
    r2.addMembership(g2, h.addr);
    const got1: UdpMessage[] = [],
      got2: UdpMessage[] = [];
    r1.onMessage(collect(got1));
    r2.onMessage(collect(got2));
    const tx = await h.stack.open({ address: h.addr });
    tx.setMulticastInterface(h.addr);
    for (let i = 0; i < 5; i++) tx.send(Buffer.from([1, i]), port, g1);
    tx.send(Buffer.from([2, 0]), port, g2);
    await h.settle();
    assert.is(got1.length, 5);
    assert.is(got2.length, 1);
    assert.ok(got2[0]!.data.equals(Buffer.from([2, 0])));
    await r1.close();
    await r2.close();
    await tx.close();
  });

  test('send errors are counted, never thrown; close is idempotent and ends delivery', async () => {
    const a = await h.stack.open({ address: h.addr });
    const errs: Error[] = [];
    a.onError((e) => errs.push(e));
    assert.not.throws(() => a.send(Buffer.from([1]), 0, h.peerAddr));
    await h.settle();
    assert.is(a.errors(), 1);
    assert.is(errs.length, 1);
    const b = await h.peer.open({});
    const got: UdpMessage[] = [];
    a.onMessage(collect(got));
    const port = a.port;
    await a.close();
    await a.close();
    b.send(Buffer.from([9]), port, h.addr);
    await h.settle();
    assert.is(got.length, 0);
    await b.close();
  });

  test.run();
}
