// The simulated network against the UdpStack contract (two hosts, in virtual time), then the
// simulation's own knobs: host clocks, per-direction links, loss, bursts, a stepped wall clock.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../../device/core/clock.ts';
import { SimNetwork } from '../../../device/hal/udp.sim.ts';
import { udpContract } from '../../integration/hal/udp.contract.ts';

{
  const base = new VirtualClock(0);
  const net = new SimNetwork(base, { seed: 3 });
  const a = net.addHost({ address: '10.0.0.1', ppm: 150, offsetMs: 2500 });
  const b = net.addHost({ address: '10.0.0.2', ppm: -80 });
  net.setLink('10.0.0.2', '10.0.0.1', { delayMs: 0.3, jitterMs: 0.5 });
  udpContract({
    name: 'simulated network',
    stack: a.udp,
    clock: a.clock,
    addr: a.address,
    peer: b.udp,
    peerAddr: b.address,
    settle: async () => {
      base.advance(20);
      await Promise.resolve();
    },
  });
}

test('host clocks run at their own rate and offset; a wall step leaves now() alone', () => {
  const base = new VirtualClock(0);
  const net = new SimNetwork(base);
  const h = net.addHost({ address: '10.0.0.1', ppm: 200, offsetMs: -3000 });
  const m0 = h.clock.now();
  assert.ok(Math.abs(h.clock.wallErrorMs() + 3000) < 1e-9);
  base.advance(1000_000);
  assert.ok(Math.abs(h.clock.now() - m0 - 1000_200) < 1e-6, 'monotonic 200 ppm fast');
  assert.ok(Math.abs(h.clock.wallErrorMs() - (-3000 + 200)) < 1e-6, 'wall drifts with the crystal');
  h.clock.stepWall(5000);
  assert.ok(Math.abs(h.clock.wallErrorMs() - 2200) < 1e-6);
  assert.ok(Math.abs(h.clock.now() - m0 - 1000_200) < 1e-6);
  let fired = -1;
  h.clock.setTimeout(() => {
    fired = h.clock.now();
  }, 1000);
  const t = h.clock.now();
  base.advance(2000);
  assert.ok(Math.abs(fired - t - 1000) < 1e-6, 'a timer runs in host time');
});

test('links: per-direction delay, loss and bursts; a down link delivers nothing', async () => {
  const base = new VirtualClock(0);
  const net = new SimNetwork(base, { seed: 9 });
  const a = net.addHost({ address: '10.0.0.1' }),
    b = net.addHost({ address: '10.0.0.2' });
  net.setLink('10.0.0.1', '10.0.0.2', { delayMs: 5, loss: 0.5 });
  net.setLink('10.0.0.2', '10.0.0.1', { delayMs: 1, burst: { everyMs: 100, durationMs: 10, extraMs: 30 } });
  const sa = await a.udp.open({}),
    sb = await b.udp.open({});
  const atB: number[] = [],
    atA: number[] = [];
  sb.onMessage((m) => atB.push(m.at - b.clock.now()));
  const sentAt: number[] = [];
  sa.onMessage((m) => atA.push(base.now() - sentAt[m.data[0]!]!));
  for (let i = 0; i < 400; i++) {
    sa.send(Buffer.from([i & 255]), sb.port, b.address);
    base.advance(1);
  }
  base.advance(50);
  assert.ok(atB.length > 150 && atB.length < 250, `about half lost (${atB.length} of 400 arrived)`);
  for (let i = 0; i < 100; i++) {
    sentAt.push(base.now());
    sb.send(Buffer.from([i]), sa.port, a.address);
    base.advance(1);
  }
  base.advance(50);
  const d = atA;
  assert.is(d.length, 100);
  assert.is(d.filter((x) => Math.abs(x - 31) < 1e-6).length, 10, 'the burst window adds 30 ms');
  assert.is(d.filter((x) => Math.abs(x - 1) < 1e-6).length, 90);
  net.setLink('10.0.0.2', '10.0.0.1', { down: true });
  sb.send(Buffer.from([0]), sa.port, a.address);
  base.advance(100);
  assert.is(atA.length, 100);
});

test('multicast reaches every host that joined, not the others', async () => {
  const base = new VirtualClock(0);
  const net = new SimNetwork(base);
  const hosts = [1, 2, 3, 4].map((i) => net.addHost({ address: `10.0.0.${i}` }));
  const got = [0, 0, 0, 0];
  for (const [i, h] of hosts.slice(1).entries()) {
    const s = await h.udp.open({ address: '239.1.2.3', port: 5004, reuseAddr: true });
    if (i < 2) s.addMembership('239.1.2.3');
    s.onMessage(() => got[i + 1]!++);
  }
  const tx = await hosts[0]!.udp.open({});
  tx.send(Buffer.from([1]), 5004, '239.1.2.3');
  base.advance(5);
  assert.equal(got, [0, 1, 1, 0]);
});

test.run();
