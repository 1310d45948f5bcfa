// Simulated UDP broadcast: records every datagram and lets a test react to it (a simulated NIC
// that wakes on a valid magic packet), or fail sends to exercise error paths.
import type { UdpBroadcast } from './udp-broadcast.ts';

export class SimUdpBroadcast implements UdpBroadcast {
  readonly sent: Array<{ payload: Buffer; address: string; port: number }> = [];
  private readonly listeners: Array<(payload: Buffer, address: string, port: number) => void> = [];
  /** When set, send() rejects with this error. */
  failWith: Error | undefined;
  closed = false;

  async send(payload: Buffer, address: string, port: number): Promise<void> {
    if (this.closed) throw new Error('UDP broadcast socket is closed');
    if (this.failWith) throw this.failWith;
    const copy = Buffer.from(payload);
    this.sent.push({ payload: copy, address, port });
    for (const l of this.listeners) queueMicrotask(() => l(copy, address, port));
  }

  onSend(fn: (payload: Buffer, address: string, port: number) => void): void {
    this.listeners.push(fn);
  }

  close(): void {
    this.closed = true;
  }
}
