// Raw Ethernet frames on one interface: passive capture of chosen EtherTypes (ARP for demand and
// liveness) and sending of raw frames (ARP probes, 0x0842 magic packets).
//
// Rules every adapter keeps (the contract suite in test/integration/waker checks them):
// - `open()` captures only frames whose EtherType is in `etherTypes` (untagged Ethernet II).
// - Every matching frame on the wire is delivered, in wire order, including frames other
//   programs on this host send (the kernel's own ARP, another capture's sends), but not frames
//   sent through this same adapter (Linux never loops a packet socket's sends back to it).
// - The Buffer handed to a frame handler is valid only during the call (the real adapter reuses
//   one buffer); copy it to keep it.
// - Capture is promiscuous: ARP requests are broadcast anyway, but a requester's unicast ARP
//   re-check of a stale entry reaches us only this way when the switch floods it.
// - `send()` puts one complete frame (≥ 14 bytes; the NIC pads short ones) on the wire, or throws.
// - `close()` stops delivery at once and is safe to call twice.
// Needs CAP_NET_RAW (capture and send) and CAP_NET_ADMIN (promiscuous mode); see docs/waker.md.
import type { EdgeFactory } from '../core/hal-overrides.ts';

export interface ArpCaptureOptions {
  iface: string;
  /** EtherTypes to capture (default [0x0806], ARP). */
  etherTypes?: readonly number[];
}

export interface ArpCapture {
  readonly iface: string;
  /** This interface's MAC, lower-case colon form. */
  readonly mac: string;
  /** This interface's first IPv4 address and netmask, if it has one. */
  readonly ipv4: { address: string; netmask: string } | undefined;
  onFrame(handler: (frame: Buffer) => void): void;
  send(frame: Buffer): void;
  close(): void;
}

declare module '../core/hal-overrides.ts' {
  interface HalOverrides {
    arpCapture?: EdgeFactory<ArpCaptureOptions, ArpCapture>;
  }
}

/** The BPF filter for a set of EtherTypes ("ether proto 0x0806 or ether proto 0x0842"). */
export function bpfForEtherTypes(types: readonly number[]): string {
  return types.map((t) => `ether proto 0x${t.toString(16).padStart(4, '0')}`).join(' or ');
}
