// Runs the ArpCapture contract against the libpcap adapter; started inside a namespace by
// arp-capture-real.test.ts. argv: <iface under test> <peer iface>
import { openRealArpCapture } from '../../../device/hal/arp-capture.real.ts';
import { arpCaptureContract } from './arp-capture.contract.ts';

const [iface, peerIface] = process.argv.slice(2) as [string, string];
const peer = openRealArpCapture({ iface: peerIface, etherTypes: [0x0806, 0x0842, 0x0800] });
const received: Buffer[] = [];
peer.onFrame((f) => received.push(Buffer.from(f)));

arpCaptureContract({
  name: 'libpcap (cap)',
  iface,
  open: (opts) => openRealArpCapture(opts),
  peer: { mac: peer.mac, send: (f) => peer.send(f), received: () => received },
  settle: () => new Promise((r) => setTimeout(r, 150)),
  cleanup: () => peer.close(),
});
