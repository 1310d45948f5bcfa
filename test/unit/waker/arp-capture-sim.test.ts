// The simulated raw-frame wire passes the same contract as the libpcap adapter.
import { SimWire } from '../../../device/hal/arp-capture.sim.ts';
import { arpCaptureContract } from '../../integration/waker/arp-capture.contract.ts';

const wire = new SimWire();
const peerMac = '02:00:00:00:00:99';
const peer = wire.attach({ iface: 'peer0', etherTypes: [0x0806, 0x0842, 0x0800] }, peerMac);
const received: Buffer[] = [];
peer.onFrame((f) => received.push(Buffer.from(f)));

arpCaptureContract({
  name: 'sim',
  iface: 'eth0',
  open: (opts) => wire.attach(opts, '02:00:00:00:00:01'),
  peer: { mac: peerMac, send: (f) => peer.send(f), received: () => received },
  settle: () => wire.settle(),
});
