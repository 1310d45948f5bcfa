// Real UDP broadcast with SO_BROADCAST. The destination decides the interface: a directed
// broadcast (10.0.0.255) leaves through the interface of that subnet, which is why the waker
// sends to the interface's directed broadcast rather than 255.255.255.255 (that one follows the
// default route). A prepared destination gets its own connected socket: Node sends on a
// connected socket at once, while an unconnected send first waits a tick for an address lookup.
// Their local ports come from 49152–65535 (dynamic-port.ts), never among stream ports.
import { createSocket, type Socket } from 'node:dgram';
import type { UdpBroadcast } from './udp-broadcast.ts';
import { openOnDynamicPort } from './dynamic-port.ts';

function openSocket(connectTo?: { address: string; port: number }): Promise<Socket> {
  return openOnDynamicPort((port) => openSocketOn(port, connectTo));
}

function openSocketOn(port: number, connectTo?: { address: string; port: number }): Promise<Socket> {
  const sock = createSocket({ type: 'udp4' });
  return new Promise((resolve, reject) => {
    const failed = (e: Error) => {
      try {
        sock.close();
      } catch {
        /* never bound */
      }
      reject(e);
    };
    sock.once('error', failed);
    sock.bind(port, () => {
      sock.setBroadcast(true);
      const done = () => {
        sock.off('error', failed);
        sock.on('error', () => {
          /* send errors reach send()'s callback */
        });
        resolve(sock);
      };
      if (connectTo) sock.connect(connectTo.port, connectTo.address, done);
      else done();
    });
  });
}

export async function openRealUdpBroadcast(): Promise<UdpBroadcast> {
  const plain = await openSocket();
  const connected = new Map<string, Socket>();
  let closed = false;
  const cb = (resolve: () => void, reject: (e: Error) => void) => (err: Error | null) => (err ? reject(err) : resolve());
  return {
    async prepare(address, port) {
      const key = `${address}:${port}`;
      if (closed || connected.has(key)) return;
      const s = await openSocket({ address, port });
      if (closed) {
        s.close();
        return;
      }
      connected.set(key, s);
    },
    send(payload, address, port) {
      return new Promise((resolve, reject) => {
        if (closed) {
          reject(new Error('UDP broadcast socket is closed'));
          return;
        }
        const s = connected.get(`${address}:${port}`);
        if (s) s.send(payload, cb(resolve, reject));
        else plain.send(payload, port, address, cb(resolve, reject));
      });
    },
    close() {
      if (closed) return;
      closed = true;
      plain.close();
      for (const s of connected.values()) s.close();
      connected.clear();
    },
  };
}
