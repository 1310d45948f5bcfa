// SAP (RFC 2974) announcement and deletion packets carrying SDP, as PulseAudio, PipeWire and
// our own source send them to 224.0.0.56:9875 (or the stream group's :9875).
//
// Rules:
// - parseSap never throws. Version must be 1; encrypted or compressed packets are refused (we hold
//   no keys, and zlib payloads are not sent by any peer we serve). IPv4 and IPv6 origins parse.
// - The optional payload type ("application/sdp\0") may be absent: then the payload must begin
//   with "v=0" (RFC 2974 §3). Other payload types are refused.
// - A session is identified by (origin, hash); a deletion carries the same pair (and usually just
//   the o= line of the SDP).
export const SAP_GROUP = '224.0.0.56';
export const SAP_PORT = 9875;
export const SDP_MIME = 'application/sdp';

export interface SapMessage {
  type: 'announce' | 'delete';
  hash: number;
  /** Originating source address as text. */
  origin: string;
  ipv6: boolean;
  payloadType: string;
  sdp: string;
}

export type SapParseResult = { ok: true; message: SapMessage } | { ok: false; reason: string };

function ipv6Text(b: Uint8Array, off: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(((b[off + i]! << 8) | b[off + i + 1]!).toString(16));
  return parts.join(':');
}

export function parseSap(buf: Uint8Array): SapParseResult {
  if (buf.length < 8) return { ok: false, reason: 'short' };
  const b0 = buf[0]!;
  if (b0 >> 5 !== 1) return { ok: false, reason: 'bad-version' };
  const ipv6 = (b0 & 0x10) !== 0;
  const type = b0 & 0x04 ? 'delete' : 'announce';
  if (b0 & 0x02) return { ok: false, reason: 'encrypted' };
  if (b0 & 0x01) return { ok: false, reason: 'compressed' };
  const authWords = buf[1]!;
  const hash = (buf[2]! << 8) | buf[3]!;
  let off = 4;
  const addrLen = ipv6 ? 16 : 4;
  if (buf.length < off + addrLen) return { ok: false, reason: 'short-origin' };
  const origin = ipv6 ? ipv6Text(buf, off) : `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
  off += addrLen + authWords * 4;
  if (off > buf.length) return { ok: false, reason: 'short-auth' };
  const rest = buf.subarray(off);
  let payloadType = SDP_MIME;
  let body = rest;
  const startsWithV0 = rest.length >= 3 && rest[0] === 0x76 && rest[1] === 0x3d && rest[2] === 0x30;
  if (!startsWithV0) {
    const nul = rest.indexOf(0);
    if (nul < 0 || nul > 255) {
      // Deletions may carry a bare o= line with no payload type.
      if (type === 'delete' && rest.length >= 2 && rest[0] === 0x6f && rest[1] === 0x3d) body = rest;
      else return { ok: false, reason: 'no-payload-type' };
    } else {
      payloadType = Buffer.from(rest.subarray(0, nul)).toString('latin1').trim().toLowerCase();
      body = rest.subarray(nul + 1);
    }
  }
  if (payloadType !== SDP_MIME) return { ok: false, reason: 'not-sdp' };
  const sdp = Buffer.from(body).toString('utf8').replace(/\0+$/, '');
  return { ok: true, message: { type, hash, origin, ipv6, payloadType, sdp } };
}

/** A 16-bit message id hash for an SDP text (FNV-1a folded; never 0, which RFC 2974 reserves). */
export function sapHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const folded = ((h >>> 16) ^ (h & 0xffff)) & 0xffff;
  return folded === 0 ? 1 : folded;
}

export interface SapBuildOptions {
  type: 'announce' | 'delete';
  /** IPv4 dotted quad of the announcer. */
  origin: string;
  sdp: string;
  /** Defaults to sapHash(sdp); a deletion must reuse its announcement's hash. */
  hash?: number;
}

export function buildSap(o: SapBuildOptions): Buffer {
  const octets = o.origin.split('.').map(Number);
  if (octets.length !== 4 || octets.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) {
    throw new RangeError(`SAP origin must be an IPv4 address, got "${o.origin}"`);
  }
  const head = Buffer.alloc(8);
  head[0] = 0x20 | (o.type === 'delete' ? 0x04 : 0);
  head[1] = 0;
  head.writeUInt16BE((o.hash ?? sapHash(o.sdp)) & 0xffff, 2);
  for (let i = 0; i < 4; i++) head[4 + i] = octets[i]!;
  return Buffer.concat([head, Buffer.from(`${SDP_MIME}\0`, 'latin1'), Buffer.from(o.sdp, 'utf8')]);
}
