// Real UDP broadcast: one dgram socket with SO_BROADCAST, bound to an ephemeral port. The
// destination decides the interface: a directed broadcast (10.0.0.255) leaves through the
// interface of that subnet, which is why the waker sends to the interface's directed broadcast
// rather than 255.255.255.255 (that one follows the default route).
import { createSocket, type Socket } from 'node:dgram';
import type { UdpBroadcast } from './udp-broadcast.ts';

export async function openRealUdpBroadcast(): Promise<UdpBroadcast> {
  const sock: Socket = createSocket({ type: 'udp4' });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, () => { sock.off('error', reject); resolve(); });
  });
  sock.setBroadcast(true);
  sock.on('error', () => { /* send errors reach send()'s callback; nothing else to report */ });
  let closed = false;
  return {
    send(payload, address, port) {
      return new Promise((resolve, reject) => {
        if (closed) { reject(new Error('UDP broadcast socket is closed')); return; }
        sock.send(payload, port, address, (err) => (err ? reject(err) : resolve()));
      });
    },
    close() {
      if (closed) return;
      closed = true;
      sock.close();
    },
  };
}
