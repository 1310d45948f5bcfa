// Runs the UdpStack contract against the real stack; started inside a namespace by udp-real.test.ts
// (multicast on loopback needs the namespace's route). The peer is the same stack on 127.0.0.1.
import { RealClock } from '../../../device/core/clock.ts';
import { RealUdpStack } from '../../../device/hal/udp.real.ts';
import { udpContract } from './udp.contract.ts';

const clock = new RealClock();
const stack = new RealUdpStack(clock);
udpContract({
  name: 'node:dgram',
  stack,
  clock,
  addr: '127.0.0.1',
  peer: stack,
  peerAddr: '127.0.0.1',
  settle: () => new Promise((r) => setTimeout(r, 100)),
});
