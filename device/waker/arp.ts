// ARP over Ethernet, parsed from raw captured frames and built for liveness probes. Only what
// the waker needs: Ethernet II (optionally one 802.1Q tag), ARP for IPv4 over Ethernet
// (htype 1, ptype 0x0800, hlen 6, plen 4). Anything else parses to undefined, never throws:
// the capture sees whatever the wire carries.
import { formatIp, formatMac, ipToInt, parseMac } from './addr.ts';

export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

export interface ArpPacket {
  /** Ethernet source and destination (lower-case colon form). */
  ethSrc: string;
  ethDst: string;
  op: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

/** Parses one Ethernet frame; undefined when it is not a well-formed IPv4-over-Ethernet ARP packet. */
export function parseArpFrame(frame: Uint8Array): ArpPacket | undefined {
  if (frame.length < 14) return undefined;
  let off = 12;
  let type = (frame[off]! << 8) | frame[off + 1]!;
  if (type === ETHERTYPE_VLAN) {
    if (frame.length < 18) return undefined;
    off += 4;
    type = (frame[off]! << 8) | frame[off + 1]!;
  }
  if (type !== ETHERTYPE_ARP) return undefined;
  const a = off + 2;
  if (frame.length < a + 28) return undefined;
  const htype = (frame[a]! << 8) | frame[a + 1]!;
  const ptype = (frame[a + 2]! << 8) | frame[a + 3]!;
  if (htype !== 1 || ptype !== 0x0800 || frame[a + 4] !== 6 || frame[a + 5] !== 4) return undefined;
  return {
    ethDst: formatMac(frame, 0),
    ethSrc: formatMac(frame, 6),
    op: (frame[a + 6]! << 8) | frame[a + 7]!,
    senderMac: formatMac(frame, a + 8),
    senderIp: formatIp(frame, a + 14),
    targetMac: formatMac(frame, a + 18),
    targetIp: formatIp(frame, a + 24),
  };
}

export interface ArpFrameFields {
  op: number;
  ethSrc: string;
  ethDst?: string;
  senderMac?: string;
  senderIp: string;
  targetMac?: string;
  targetIp: string;
}

/** Builds a 42-byte Ethernet + ARP frame (the NIC pads it to 60). */
export function buildArpFrame(f: ArpFrameFields): Buffer {
  const b = Buffer.alloc(42);
  parseMac(f.ethDst ?? 'ff:ff:ff:ff:ff:ff').copy(b, 0);
  parseMac(f.ethSrc).copy(b, 6);
  b.writeUInt16BE(ETHERTYPE_ARP, 12);
  b.writeUInt16BE(1, 14);
  b.writeUInt16BE(0x0800, 16);
  b[18] = 6;
  b[19] = 4;
  b.writeUInt16BE(f.op, 20);
  parseMac(f.senderMac ?? f.ethSrc).copy(b, 22);
  b.writeUInt32BE(ipToInt(f.senderIp), 28);
  parseMac(f.targetMac ?? '00:00:00:00:00:00').copy(b, 32);
  b.writeUInt32BE(ipToInt(f.targetIp), 38);
  return b;
}

/**
 * The liveness probe: an RFC 5227 ARP probe (sender IP 0.0.0.0) for `ip`, broadcast from our
 * MAC. Hosts answer it like any request, and because its sender is 0.0.0.0 it can never look
 * like a demand to this or any other waker, nor poison anyone's ARP cache.
 */
export function buildArpProbe(ourMac: string, ip: string): Buffer {
  return buildArpFrame({ op: ARP_REQUEST, ethSrc: ourMac, senderIp: '0.0.0.0', targetIp: ip });
}

/** Gratuitous ARP: the sender announces its own address (sender IP equals target IP). */
export function isGratuitous(p: ArpPacket): boolean {
  return p.senderIp === p.targetIp;
}

/** ARP probe (RFC 5227): a request whose sender IP is 0.0.0.0. */
export function isProbe(p: ArpPacket): boolean {
  return p.senderIp === '0.0.0.0';
}
