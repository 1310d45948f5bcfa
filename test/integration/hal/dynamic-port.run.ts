// Opens the runtime's "any port" UDP sockets (what the house-clock client and the NTP server's
// port 0 ask of the real UDP stack, and the waker's broadcast sockets) and prints their local
// ports as JSON; started inside a namespace by dynamic-port.test.ts, which sets its kernel range.
import { RealClock } from '../../../device/core/clock.ts';
import { RealUdpStack } from '../../../device/hal/udp.real.ts';
import { openRealUdpBroadcast } from '../../../device/hal/udp-broadcast.real.ts';

const stack = new RealUdpStack(new RealClock());
// One at a time, a failure recorded (the kernel's range here has room for two sockets only).
const socks = [];
const ports: Array<number | string> = [];
for (let i = 0; i < 20; i++) {
  try {
    const s = await stack.open({});
    socks.push(s);
    ports.push(s.port);
  } catch (e) {
    ports.push(String((e as NodeJS.ErrnoException).code));
  }
}
// The broadcast adapter hides its sockets: a prepared destination's connected socket is found by
// the port its datagram comes from, at a receiver of ours.
const rx = await stack.open({ address: '127.0.0.1', port: 46200 });
let broadcast: number | string;
try {
  const bcast = await openRealUdpBroadcast();
  const from = new Promise<number>((resolve) => rx.onMessage((m) => resolve(m.port)));
  await bcast.prepare!('127.0.0.1', 46200);
  await bcast.send(Buffer.from('hi'), '127.0.0.1', 46200);
  broadcast = await from;
  bcast.close();
} catch (e) {
  broadcast = String((e as NodeJS.ErrnoException).code);
}
console.log(JSON.stringify({ stack: ports, broadcast }));
for (const s of [...socks, rx]) await s.close();
