// ARP traffic generator for the waker benchmark, inside the client namespace: sends raw ARP
// requests through libpcap at a steady rate.
// argv: <iface> <rate/s> <seconds> <subnet prefix> [<sender ip> <sender mac> <target ip>]
// Without the last three, requests go from many made-up requesters (.100–.199) for addresses
// nobody watches (.200–.250): the background chatter of a busy LAN. With them, every request is
// that one sender asking for that one target (genuine demands).
import { openRealArpCapture } from '../../device/hal/arp-capture.real.ts';
import { buildArpFrame } from '../../device/waker/arp.ts';

const [iface, rateS, secondsS, prefix, sIp, sMac, tIp] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string?,
  string?,
  string?,
];
const rate = Number(rateS),
  seconds = Number(secondsS);
const cap = openRealArpCapture({ iface, etherTypes: [0x0806] });
const frames: Buffer[] = [];
if (sIp && sMac && tIp) frames.push(buildArpFrame({ op: 1, ethSrc: sMac, senderIp: sIp, targetIp: tIp }));
else
  for (let i = 0; i < 100; i++) {
    const mac = `02:55:00:00:00:${(i + 16).toString(16).padStart(2, '0')}`;
    frames.push(buildArpFrame({ op: 1, ethSrc: mac, senderIp: `${prefix}.${100 + i}`, targetIp: `${prefix}.${200 + (i % 51)}` }));
  }
const t0 = performance.now();
let sent = 0;
const tick = () => {
  const due = Math.min(rate * seconds, Math.floor(((performance.now() - t0) / 1000) * rate));
  while (sent < due) cap.send(frames[sent++ % frames.length]!);
  if (sent >= rate * seconds) {
    cap.close();
    process.stdout.write(JSON.stringify({ sent, seconds: (performance.now() - t0) / 1000 }) + '\n');
    return;
  }
  setTimeout(tick, 5);
};
tick();
