// The real UDP stack: node:dgram. The receive time `at` is the Clock's now() read in the
// 'message' handler, the earliest point JavaScript sees a datagram (Node 20 exposes no kernel
// receive timestamp, SO_TIMESTAMP): it lags the wire by however long the event loop was busy.
// `send()` to an IPv4 literal reaches the kernel before it returns: the socket's lookup answers
// such an address at once, where node:dgram's default (dns.lookup) defers every send to the next
// tick, which put the sendmsg tens to hundreds of µs after a timestamp read just before `send()`.
// Port 0 ("any free port") is chosen from 49152–65535 by dynamic-port.ts, never among stream ports.
import dgram from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIPv4 } from 'node:net';
import type { Clock } from '../core/clock.ts';
import { isMulticastAddress, type UdpMessage, type UdpOpenOptions, type UdpSocket, type UdpStack } from './udp.ts';
import { openOnDynamicPort } from './dynamic-port.ts';

/** dgram's lookup: an IPv4 literal answered synchronously (so the send is too), names by dns.lookup. */
function syncLookup(host: string, opts: unknown, cb: (e: Error | null, address: string, family: number) => void): void {
  if (isIPv4(host)) {
    cb(null, host, 4);
    return;
  }
  dnsLookup(host, opts as never, cb as never);
}

export class RealUdpStack implements UdpStack {
  constructor(private readonly clock: Clock) {}

  open(o: UdpOpenOptions = {}): Promise<UdpSocket> {
    return o.port ? this.bind(o, o.port) : openOnDynamicPort((port) => this.bind(o, port));
  }

  private bind(o: UdpOpenOptions, port: number): Promise<UdpSocket> {
    const clock = this.clock;
    return new Promise((resolve, reject) => {
      const sock = dgram.createSocket({ type: 'udp4', reuseAddr: o.reuseAddr ?? false, lookup: syncLookup });
      const onMsg: Array<(m: UdpMessage) => void> = [];
      const onErr: Array<(e: Error) => void> = [];
      let open = false,
        closed = false,
        errors = 0;
      const fail = (e: Error) => {
        errors++;
        for (const f of onErr) f(e);
      };
      sock.on('message', (data, r) => {
        const at = clock.now();
        if (closed) return;
        const m: UdpMessage = { data, address: r.address, port: r.port, at };
        for (const f of onMsg) f(m);
      });
      sock.on('error', (e) => {
        if (!open) {
          try {
            sock.close();
          } catch {
            /* never bound */
          }
          reject(e);
        } else fail(e);
      });
      const address = o.address ?? '0.0.0.0';
      sock.bind({ port, address, exclusive: false }, () => {
        open = true;
        if (o.recvBufferBytes) {
          try {
            sock.setRecvBufferSize(o.recvBufferBytes);
          } catch {
            /* capped by the kernel */
          }
        }
        try {
          sock.setMulticastTTL(1);
          sock.setMulticastLoopback(true);
        } catch {
          /* unicast-only socket */
        }
        const bound = sock.address();
        resolve({
          address: isMulticastAddress(address) ? address : bound.address,
          port: bound.port,
          onMessage: (fn) => {
            onMsg.push(fn);
          },
          onError: (fn) => {
            onErr.push(fn);
          },
          send(data, port, to) {
            if (closed) return;
            try {
              sock.send(data, port, to, (e) => {
                if (e) fail(e);
              });
            } catch (e) {
              fail(e as Error);
            }
          },
          addMembership: (g, i) => sock.addMembership(g, i),
          dropMembership: (g, i) => sock.dropMembership(g, i),
          setMulticastInterface: (i) => sock.setMulticastInterface(i),
          setMulticastTTL: (t) => {
            sock.setMulticastTTL(t);
          },
          setMulticastLoopback: (on) => {
            sock.setMulticastLoopback(on);
          },
          errors: () => errors,
          close: () =>
            new Promise<void>((res) => {
              if (closed) {
                res();
                return;
              }
              closed = true;
              try {
                sock.close(() => res());
              } catch {
                res();
              }
            }),
        });
      });
    });
  }
}
