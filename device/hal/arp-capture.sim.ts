// Simulated wire for raw frames: a hub every attached port sees (like a switch flooding
// broadcast), with a scriptable device side. Tests attach the waker's port, then play hosts:
// `inject()` puts a frame on the wire as if another machine sent it; `onSent()` watches frames
// the ports send (to answer a probe, or "wake" when a magic packet arrives).
// Delivery is asynchronous (a microtask per frame, in order), as the real capture's is, so a
// handler that sends never re-enters another handler.
import type { ArpCapture, ArpCaptureOptions } from './arp-capture.ts';

interface Port {
  iface: string;
  types: Set<number>;
  deliver: (f: Buffer) => void;
  closed: boolean;
}

export class SimWire {
  private readonly ports = new Set<Port>();
  private readonly sentListeners: Array<(frame: Buffer, from: string) => void> = [];
  /** Every frame any port sent, in order (copies). */
  readonly sent: Array<{ frame: Buffer; from: string }> = [];
  private queue: Promise<void> = Promise.resolve();

  /** An adapter factory: `hal.arpCapture = wire.factory(mac, ipv4?)`. */
  factory(mac: string, ipv4?: { address: string; netmask: string }) {
    return (opts: ArpCaptureOptions): ArpCapture => this.attach(opts, mac, ipv4);
  }

  attach(opts: ArpCaptureOptions, mac: string, ipv4?: { address: string; netmask: string }): ArpCapture {
    let handler: ((f: Buffer) => void) | undefined;
    const port: Port = {
      iface: opts.iface,
      types: new Set(opts.etherTypes ?? [0x0806]),
      deliver: (f) => {
        if (!port.closed && handler) handler(f);
      },
      closed: false,
    };
    this.ports.add(port);
    return {
      iface: opts.iface,
      mac: mac.toLowerCase(),
      ipv4,
      onFrame: (h) => {
        handler = h;
      },
      send: (frame) => {
        if (port.closed) throw new Error(`capture on ${opts.iface} is closed`);
        if (frame.length < 14) throw new Error('a frame needs at least 14 bytes');
        const copy = Buffer.from(frame);
        this.sent.push({ frame: copy, from: opts.iface });
        for (const l of this.sentListeners) l(copy, opts.iface);
        this.inject(copy, port);
      },
      close: () => {
        port.closed = true;
        this.ports.delete(port);
      },
    };
  }

  /** Puts a frame on the wire: every open port capturing its EtherType gets it (except its sender). */
  inject(frame: Buffer, from?: Port): void {
    const copy = Buffer.from(frame);
    const type = copy.length >= 14 ? copy.readUInt16BE(12) : -1;
    this.queue = this.queue.then(() => {
      for (const p of [...this.ports]) if (p !== from && p.types.has(type)) p.deliver(Buffer.from(copy));
    });
  }

  /** Watches frames sent by the ports (the device side of the script). */
  onSent(fn: (frame: Buffer, from: string) => void): void {
    this.sentListeners.push(fn);
  }

  /** Resolves when every frame injected so far has been delivered. */
  async settle(): Promise<void> {
    let q: Promise<void>;
    do {
      q = this.queue;
      await q;
    } while (q !== this.queue);
  }
}
