// UDP multicast edges for audio: a receiver joined to one group:port, and a sender for RTP, RTCP
// and SAP. Rules:
// - A receiver binds the group address itself (Linux then delivers only that group's datagrams,
//   so two streams on one port in different groups never mix) with reuseAddr, so several players
//   (and PulseAudio) on one host can listen to the same stream.
// - Membership is taken on the given interface address (default: the kernel's choice); the
//   sender sets TTL (default 1: never leaves the LAN), the outgoing interface and loopback on
//   (a player on the same host hears its own device's stream).
// - Socket errors after open are reported through onError, never thrown at the caller.
import dgram from 'node:dgram';
import { networkInterfaces } from 'node:os';

export interface Datagram {
  data: Buffer;
  from: string;
  port: number;
}

export interface MulticastReceiver {
  readonly group: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  group: string;
  port: number;
  /** Interface address to join on. */
  iface?: string;
  onMessage(d: Datagram): void;
  onError?(e: Error): void;
  /** Kernel receive buffer (default 1 MiB, so a scheduling hiccup does not drop a burst). */
  recvBufferBytes?: number;
}

function isMulticast(addr: string): boolean {
  const first = Number(addr.split('.')[0]);
  return first >= 224 && first <= 239;
}

export function openReceiver(o: ReceiverOptions): Promise<MulticastReceiver> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    let open = false;
    sock.on('error', (e) => {
      if (!open) {
        sock.close();
        reject(e);
      } else o.onError?.(e);
    });
    sock.on('message', (data, r) => o.onMessage({ data, from: r.address, port: r.port }));
    const mc = isMulticast(o.group);
    sock.bind({ port: o.port, address: mc ? o.group : (o.iface ?? '0.0.0.0'), exclusive: false }, () => {
      try {
        if (mc) sock.addMembership(o.group, o.iface);
        try {
          sock.setRecvBufferSize(o.recvBufferBytes ?? 1 << 20);
        } catch {
          /* capped by the kernel */
        }
      } catch (e) {
        sock.close();
        reject(e);
        return;
      }
      open = true;
      resolve({
        group: o.group,
        port: o.port,
        close: () =>
          new Promise<void>((res) => {
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

export interface MulticastSender {
  /** The address datagrams leave from (the SAP/SDP origin). */
  readonly address: string;
  send(data: Uint8Array, group: string, port: number): void;
  close(): Promise<void>;
  /** Datagrams the kernel refused (counted, not thrown). */
  errors(): number;
}

export interface SenderOptions {
  iface?: string;
  ttl?: number;
  onError?(e: Error): void;
}

/** The first non-internal IPv4 address, else 127.0.0.1 (the origin advertised in SAP/SDP). */
export function defaultAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

export function openSender(o: SenderOptions = {}): Promise<MulticastSender> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    let open = false;
    let errors = 0;
    sock.on('error', (e) => {
      if (!open) {
        sock.close();
        reject(e);
      } else {
        errors++;
        o.onError?.(e);
      }
    });
    sock.bind({ port: 0, address: o.iface ?? '0.0.0.0' }, () => {
      try {
        sock.setMulticastTTL(o.ttl ?? 1);
        sock.setMulticastLoopback(true);
        if (o.iface) sock.setMulticastInterface(o.iface);
      } catch (e) {
        sock.close();
        reject(e);
        return;
      }
      open = true;
      resolve({
        address: o.iface ?? defaultAddress(),
        send(data, group, port) {
          sock.send(data, port, group, (e) => {
            if (e) {
              errors++;
              o.onError?.(e);
            }
          });
        },
        close: () =>
          new Promise<void>((res) => {
            try {
              sock.close(() => res());
            } catch {
              res();
            }
          }),
        errors: () => errors,
      });
    });
  });
}
