// The waker under benchmark, inside the waker namespace: the role with the real raw capture and
// UDP socket and an in-memory link (no broker, so the process's CPU is the waker's own).
// Prints {ready}, then one JSON line per event. argv: <role config JSON> [etherwake]
// In "etherwake" mode every raw 0x0842 send is replaced by spawning `etherwake -i <if> <mac>`,
// the way the classic ARP-watch scripts wake a host; everything before the send is identical.
import { execFile } from 'node:child_process';
import { createInterface } from 'node:readline';
import { RealClock } from '../../device/core/clock.ts';
import { createLogger } from '../../device/core/log.ts';
import { openRealArpCapture } from '../../device/hal/arp-capture.real.ts';
import type { ArpCaptureOptions } from '../../device/hal/arp-capture.ts';
import { createWakerRole } from '../../device/waker/role.ts';
import { formatMac } from '../../device/waker/addr.ts';

const cfg = JSON.parse(process.argv[2]!);
const etherwake = process.argv[3] === 'etherwake';
const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');

const arpCapture = (opts: ArpCaptureOptions) => {
  const real = openRealArpCapture(opts);
  if (!etherwake) return real;
  return {
    ...real,
    iface: real.iface,
    mac: real.mac,
    ipv4: real.ipv4,
    onFrame: real.onFrame,
    close: real.close,
    send(frame: Buffer) {
      if (frame.readUInt16BE(12) !== 0x0842) {
        real.send(frame);
        return;
      }
      execFile('etherwake', ['-i', opts.iface, formatMac(frame, 20)], () => {});
    },
  };
};

const role = createWakerRole({
  device: { id: 'bench', baseTopic: 'hearth', stateDir: '/nonexistent' },
  config: cfg,
  clock: new RealClock(),
  log: createLogger({ level: 'warn', format: 'json', sink: { write: (l) => process.stderr.write(l) } }),
  link: {
    publishState: (d) => out({ state: d }),
    publishEvent: (type, message) => {
      out({ event: type, message });
    },
    publishStream: () => {},
    watchStreams: () => () => {},
    sendCommand: async () => {
      throw new Error('unused');
    },
    connected: true,
  },
  hal: { arpCapture },
  fail: (e) => {
    process.stderr.write(`failed: ${e.message}\n`);
    process.exit(1);
  },
});
await role.start();
out({ ready: true, pid: process.pid });
// Stdin: one JSON line per request {tag}; answered with the role's counters (frames seen etc.).
createInterface({ input: process.stdin }).on('line', (line) => {
  const { tag } = JSON.parse(line) as { tag: string };
  out({ tag, reply: role.telemetry!() });
});
process.on('SIGTERM', async () => {
  await role.stop();
  process.exit(0);
});
