// The sleeping host's "NIC": runs inside the sleeper namespace, watches raw frames (it has no
// address while asleep, so it cannot rely on the IP stack), and when a valid magic packet for
// its MAC arrives (UDP port 9/7 or EtherType 0x0842, with the right SecureOn password if one is
// set) it brings the address back after an optional delay. Prints one JSON line per magic packet.
// argv: <iface> <mac> <ip/prefix> [password] [delayMs] [never]
import { execFileSync } from 'node:child_process';
import { openRealArpCapture } from '../../../device/hal/arp-capture.real.ts';
import { checkMagicPacket, wolPayloadOfFrame } from '../../../device/waker/magic.ts';
import { parseSecureOn } from '../../../device/waker/addr.ts';
import { parseArpFrame } from '../../../device/waker/arp.ts';

const [iface, mac, cidr, pw, delay, never] = process.argv.slice(2) as [string, string, string, string?, string?, string?];
const password = pw && pw !== '-' ? parseSecureOn(pw) : undefined;
const delayMs = Number(delay ?? 0);
let pending = false;

function magicOf(frame: Buffer): { payload: Buffer; via: string } | undefined {
  const wol = wolPayloadOfFrame(frame);
  if (wol) return { payload: wol, via: 'ethernet' };
  if (frame.readUInt16BE(12) !== 0x0800) return undefined;
  const ihl = (frame[14]! & 0x0f) * 4;
  if (frame[23] !== 17) return undefined;
  const udp = 14 + ihl;
  const port = frame.readUInt16BE(udp + 2);
  if (port !== 9 && port !== 7) return undefined;
  const len = frame.readUInt16BE(udp + 4);
  return { payload: frame.subarray(udp + 8, udp + len), via: `udp:${port}` };
}

function hasAddress(): boolean {
  return execFileSync('ip', ['-4', 'addr', 'show', 'dev', iface], { encoding: 'utf8' }).includes(cidr.split('/')[0] + '/');
}

const ownIp = cidr.split('/')[0];
const cap = openRealArpCapture({ iface, etherTypes: [0x0842, 0x0800, 0x0806] });
let arpRequests = 0;
cap.onFrame((frame) => {
  const arp = parseArpFrame(frame);
  if (arp) {
    // Counted so storm tests can show the storm really reached the wire.
    if (arp.op === 1 && arp.targetIp === ownIp) process.stdout.write(JSON.stringify({ arpRequests: ++arpRequests }) + '\n');
    return;
  }
  const m = magicOf(frame);
  if (!m) return;
  const check = checkMagicPacket(m.payload, { mac, password });
  process.stdout.write(
    JSON.stringify({ magic: { via: m.via, valid: check.ok, reason: check.ok ? undefined : check.reason, len: m.payload.length } }) + '\n',
  );
  if (!check.ok || pending || never === 'never' || hasAddress()) return;
  pending = true;
  setTimeout(() => {
    pending = false;
    if (!hasAddress()) execFileSync('ip', ['addr', 'add', cidr, 'dev', iface]);
    process.stdout.write(JSON.stringify({ woke: true }) + '\n');
  }, delayMs);
});
process.stdout.write(JSON.stringify({ ready: true }) + '\n');
process.on('SIGTERM', () => {
  cap.close();
  process.exit(0);
});
