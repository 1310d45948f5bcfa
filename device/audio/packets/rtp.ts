// RTP (RFC 3550 §5.1) fixed header: parse and build.
//
// Rules:
// - parseRtp never throws, whatever the bytes: it returns either a packet or a reason. Every
//   length (CSRC list, extension header, padding) is checked against the datagram before use.
// - The payload is a view into the datagram (no copy); a caller that keeps it beyond the
//   datagram's life copies it.
// - Version must be 2. Padding: the last octet counts the padding octets, including itself; it
//   must be ≥ 1 and leave the header intact. An empty payload is valid RTP (a caller that needs
//   audio decides); RTCP packet types 200..204 on the RTP port are refused (RFC 5761 §4).

export interface RtpPacket {
  version: 2;
  padding: boolean;
  extension: boolean;
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  csrc: number[];
  /** Header extension (RFC 3550 §5.3.1), when present: profile word and the data words. */
  extensionProfile: number | null;
  extensionData: Uint8Array | null;
  payload: Uint8Array;
}

export type RtpParseError = 'short-header' | 'bad-version' | 'short-csrc' | 'short-extension' | 'bad-padding' | 'rtcp-on-rtp-port';

export type RtpParseResult = { ok: true; packet: RtpPacket } | { ok: false; reason: RtpParseError };

export const RTP_HEADER_BYTES = 12;

export function parseRtp(buf: Uint8Array): RtpParseResult {
  const len = buf.length;
  if (len < RTP_HEADER_BYTES) return { ok: false, reason: 'short-header' };
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  if (b0 >> 6 !== 2) return { ok: false, reason: 'bad-version' };
  const padding = (b0 & 0x20) !== 0;
  const extension = (b0 & 0x10) !== 0;
  const cc = b0 & 0x0f;
  const marker = (b1 & 0x80) !== 0;
  const payloadType = b1 & 0x7f;
  // RTCP SR/RR/SDES/BYE/APP (200..204) read as marker + PT 72..76 (RFC 5761 §4).
  if (marker && payloadType >= 72 && payloadType <= 76) return { ok: false, reason: 'rtcp-on-rtp-port' };
  const sequence = (buf[2]! << 8) | buf[3]!;
  const timestamp = ((buf[4]! << 24) | (buf[5]! << 16) | (buf[6]! << 8) | buf[7]!) >>> 0;
  const ssrc = ((buf[8]! << 24) | (buf[9]! << 16) | (buf[10]! << 8) | buf[11]!) >>> 0;
  let off = RTP_HEADER_BYTES;
  if (off + cc * 4 > len) return { ok: false, reason: 'short-csrc' };
  const csrc: number[] = [];
  for (let i = 0; i < cc; i++, off += 4) {
    csrc.push(((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0);
  }
  let extensionProfile: number | null = null;
  let extensionData: Uint8Array | null = null;
  if (extension) {
    if (off + 4 > len) return { ok: false, reason: 'short-extension' };
    extensionProfile = (buf[off]! << 8) | buf[off + 1]!;
    const words = (buf[off + 2]! << 8) | buf[off + 3]!;
    off += 4;
    if (off + words * 4 > len) return { ok: false, reason: 'short-extension' };
    extensionData = buf.subarray(off, off + words * 4);
    off += words * 4;
  }
  let end = len;
  if (padding) {
    const pad = buf[len - 1]!;
    if (pad === 0 || end - pad < off) return { ok: false, reason: 'bad-padding' };
    end -= pad;
  }
  return {
    ok: true,
    packet: {
      version: 2,
      padding,
      extension,
      marker,
      payloadType,
      sequence,
      timestamp,
      ssrc,
      csrc,
      extensionProfile,
      extensionData,
      payload: buf.subarray(off, end),
    },
  };
}

export interface RtpBuildFields {
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  marker?: boolean;
  csrc?: number[];
  extension?: { profile: number; data: Uint8Array };
  /** Padding octets to append (1..255), for tests and block-aligned senders. */
  padding?: number;
}

/** Builds one RTP datagram. Values are masked to their field widths; extension data is zero-padded to 32 bits. */
export function buildRtp(f: RtpBuildFields, payload: Uint8Array): Buffer {
  const csrc = (f.csrc ?? []).slice(0, 15);
  const extWords = f.extension ? Math.ceil(f.extension.data.length / 4) : 0;
  const pad = f.padding ? Math.min(255, Math.max(1, f.padding | 0)) : 0;
  const headerLen = RTP_HEADER_BYTES + csrc.length * 4 + (f.extension ? 4 + extWords * 4 : 0);
  const out = Buffer.alloc(headerLen + payload.length + pad);
  out[0] = 0x80 | (pad ? 0x20 : 0) | (f.extension ? 0x10 : 0) | csrc.length;
  out[1] = (f.marker ? 0x80 : 0) | (f.payloadType & 0x7f);
  out.writeUInt16BE(f.sequence & 0xffff, 2);
  out.writeUInt32BE(f.timestamp >>> 0, 4);
  out.writeUInt32BE(f.ssrc >>> 0, 8);
  let off = RTP_HEADER_BYTES;
  for (const c of csrc) {
    out.writeUInt32BE(c >>> 0, off);
    off += 4;
  }
  if (f.extension) {
    out.writeUInt16BE(f.extension.profile & 0xffff, off);
    out.writeUInt16BE(extWords, off + 2);
    out.set(f.extension.data, off + 4);
    off += 4 + extWords * 4;
  }
  out.set(payload, off);
  if (pad) out[out.length - 1] = pad;
  return out;
}
