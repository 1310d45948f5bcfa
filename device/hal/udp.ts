// UDP/IPv4 sockets, the network edge of the house clock and of audio. One interface, a real
// adapter (node:dgram, udp.real.ts) and a simulated network in virtual time (udp.sim.ts: hosts
// with their own clocks, links with delay, jitter, loss and bursts per direction, multicast
// groups), both held to one contract suite (test/integration/hal/udp.contract.ts).
//
// Rules every adapter keeps:
// - `open()` binds before it resolves; a port already bound by a socket without `reuseAddr` (on
//   either side) rejects with an error whose `code` is 'EADDRINUSE'. Port 0 picks a free port,
//   readable as `port` afterwards.
// - Binding a multicast group address delivers only datagrams sent to that group (Linux); binding
//   0.0.0.0 delivers unicast to any local address and multicast of groups joined on the host.
// - Every received datagram carries `at`: the receiving host's monotonic time (its Clock.now(), ms)
//   when the adapter got it. On the real adapter that is read in JavaScript when the event loop
//   gets to the datagram, so it is LATE by the loop's delay, never early: consumers that pair it
//   with a remote timestamp must filter for the least-delayed exchanges.
// - `send()` never throws for network reasons: a datagram the stack refuses is counted in
//   `errors()` and reported through onError. Datagrams may be lost, delayed or reordered.
// - Multicast: TTL 1 and loopback on by default (a receiver on the sending host hears it).
// - `close()` is safe to call twice; nothing is delivered after it.
import type { EdgeFactory } from '../core/hal-overrides.ts';
export interface UdpMessage {
  data: Buffer;
  /** Sender's address and port. */
  address: string;
  port: number;
  /** Receiving host's monotonic ms (Clock.now()) when the datagram reached the adapter. */
  at: number;
}

export interface UdpOpenOptions {
  /** Local address to bind: a unicast address of this host, '0.0.0.0' (default) or a multicast group. */
  address?: string;
  /** Local port; 0 (default) picks a free one. */
  port?: number;
  /** Lets several sockets on the host share the port (players of one stream, PulseAudio beside us). */
  reuseAddr?: boolean;
  /** Kernel receive buffer in bytes (the real adapter asks for it; capped by the kernel). */
  recvBufferBytes?: number;
}

export interface UdpSocket {
  /** Bound local address and port. */
  readonly address: string;
  readonly port: number;
  onMessage(fn: (m: UdpMessage) => void): void;
  onError(fn: (e: Error) => void): void;
  send(data: Uint8Array, port: number, address: string): void;
  /** Joins `group` on the interface with address `iface` (default: the stack's choice). */
  addMembership(group: string, iface?: string): void;
  dropMembership(group: string, iface?: string): void;
  /** Outgoing interface (by its address) for multicast sends. */
  setMulticastInterface(iface: string): void;
  setMulticastTTL(ttl: number): void;
  setMulticastLoopback(on: boolean): void;
  /** Datagrams the stack refused to send. */
  errors(): number;
  close(): Promise<void>;
}

/** One host's UDP stack. */
export interface UdpStack {
  open(o?: UdpOpenOptions): Promise<UdpSocket>;
}

export function isMulticastAddress(addr: string): boolean {
  const first = Number(addr.split('.')[0]);
  return first >= 224 && first <= 239;
}

declare module '../core/hal-overrides.ts' {
  interface HalOverrides {
    /** The UDP stack roles open sockets on (default: the real one, on the runtime's clock). */
    udp?: EdgeFactory<Record<string, never>, UdpStack>;
  }
}
