// UDP broadcast out of this host, for magic packets (port 9 or 7). Rules: `send()` resolves once
// the datagram is handed to the kernel (or rejects with the OS error); broadcast addresses are
// allowed; `close()` is safe to call twice. Broadcast needs no extra capability.
import type { EdgeFactory } from '../core/hal-overrides.ts';
export interface UdpBroadcast {
  /**
   * Optional: readies a destination so later sends to it go out without any deferred step (the
   * real adapter connects a socket to it; an unconnected dgram send waits for an address lookup
   * tick, behind whatever else the event loop runs first).
   */
  prepare?(address: string, port: number): Promise<void>;
  send(payload: Buffer, address: string, port: number): Promise<void>;
  close(): void;
}

declare module '../core/hal-overrides.ts' {
  interface HalOverrides {
    udpBroadcast?: EdgeFactory<Record<string, never>, UdpBroadcast>;
  }
}
