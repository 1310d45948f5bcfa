// Real raw-frame adapter: libpcap through the `cap` package (immediate mode, so a frame is
// handed over as soon as it arrives rather than when a kernel block fills).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { ArpCapture, ArpCaptureOptions } from './arp-capture.ts';
import { bpfForEtherTypes } from './arp-capture.ts';

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): void;
  send(buffer: Buffer, nBytes?: number): void;
  on(ev: 'packet', fn: (nbytes: number, truncated: boolean) => void): void;
  removeAllListeners(ev?: string): void;
}

const require = createRequire(import.meta.url);

/**
 * Every Cap ever opened, kept reachable for the life of the process. `cap` 0.2.1 (the latest) gives
 * its native Pcap a Nan::AsyncResource whose destructor calls into Node (EmitAsyncDestroy); when
 * V8 collects a Cap object that destructor runs inside the GC's weak callback and the process
 * dies of SIGSEGV (seen in `node::AsyncWrap::EmitDestroy` from `Pcap::~Pcap`, in about one run
 * in three of the contract suite, which opens and closes many captures). A capture that is never
 * collected never runs it. The cost is the Cap and its 64 KiB frame buffer (kept too: the native
 * side holds a raw pointer to it) per capture ever opened: the waker opens one per interface,
 * again only when its config changes.
 */
const neverCollected = new Set<CapHandle>();

/**
 * Kernel ring size. `cap` fixes the snapshot length at 65 535 bytes and libpcap's immediate mode
 * uses one ring slot of that size per frame, so a 1 MB ring holds only 16 frames: a burst longer
 * than that arriving while the event loop is busy is dropped (measured: 16 of 20 back-to-back
 * frames). 8 MB gives 128 slots, enough for a 1,000 ARP/s storm over a 100 ms event-loop stall.
 */
export const RING_BYTES = 8 << 20;

function interfaceMac(iface: string): string {
  try {
    return readFileSync(`/sys/class/net/${iface}/address`, 'utf8').trim().toLowerCase();
  } catch {
    const mac = networkInterfaces()[iface]?.[0]?.mac;
    if (!mac) throw new Error(`interface ${iface} does not exist`);
    return mac.toLowerCase();
  }
}

export function openRealArpCapture(opts: ArpCaptureOptions): ArpCapture {
  const { Cap } = require('cap') as { Cap: new () => CapHandle };
  const mac = interfaceMac(opts.iface);
  const v4 = networkInterfaces()[opts.iface]?.find((a) => a.family === 'IPv4');
  const cap = new Cap();
  neverCollected.add(cap);
  const buffer = Buffer.alloc(65_535);
  let handler: ((frame: Buffer) => void) | undefined;
  let closed = false;
  const link = cap.open(opts.iface, bpfForEtherTypes(opts.etherTypes ?? [0x0806]), RING_BYTES, buffer);
  if (link !== 'ETHERNET') {
    cap.close();
    throw new Error(`interface ${opts.iface} has link type ${link}; the waker needs Ethernet`);
  }
  cap.on('packet', (nbytes) => {
    if (closed || !handler) return;
    handler(buffer.subarray(0, nbytes));
  });
  return {
    iface: opts.iface,
    mac,
    ipv4: v4 ? { address: v4.address, netmask: v4.netmask } : undefined,
    onFrame(h) {
      handler = h;
    },
    send(frame) {
      if (closed) throw new Error(`capture on ${opts.iface} is closed`);
      if (frame.length < 14) throw new Error('a frame needs at least 14 bytes');
      cap.send(frame, frame.length);
    },
    close() {
      if (closed) return;
      closed = true;
      handler = undefined;
      cap.removeAllListeners('packet');
      cap.close();
    },
  };
}
