// RTCP (RFC 3550 §6): compound packet parse (sender reports and BYE are what a player uses) and
// build (SR + SDES CNAME, BYE) for our source.
//
// Rules:
// - parseRtcp never throws. A compound packet is walked packet by packet; each header's length is
//   checked against what is left. A bad first packet fails the whole datagram; trouble after at
//   least one good packet ends the walk and keeps what was read (reason in `trailingError`).
// - NTP timestamps (seconds since 1900 + 32-bit fraction) convert to wall milliseconds since
//   1970. SRs are only useful from a sender whose wall clock is disciplined like ours and whose
//   RTP↔NTP pairing is its packets' clock; engine/timing.ts checks both against arrivals before trusting.

export const NTP_UNIX_OFFSET_S = 2_208_988_800;

export interface SenderReport {
  ssrc: number;
  ntpSeconds: number;
  ntpFraction: number;
  /** The NTP timestamp as Unix wall milliseconds (fractional). */
  wallMs: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
}

export interface RtcpParsed {
  senderReports: SenderReport[];
  /** SSRCs that said goodbye. */
  byes: number[];
  /** CNAMEs from SDES, by SSRC. */
  cnames: Array<{ ssrc: number; cname: string }>;
  /** Packet types seen, in order. */
  types: number[];
  trailingError: string | null;
}

export type RtcpParseResult = { ok: true; rtcp: RtcpParsed } | { ok: false; reason: string };

export function ntpToWallMs(seconds: number, fraction: number): number {
  return (seconds - NTP_UNIX_OFFSET_S) * 1000 + (fraction / 4294967296) * 1000;
}

export function wallMsToNtp(wallMs: number): { seconds: number; fraction: number } {
  const totalS = wallMs / 1000 + NTP_UNIX_OFFSET_S;
  let seconds = Math.floor(totalS);
  let fraction = Math.round((totalS - seconds) * 4294967296);
  if (fraction >= 4294967296) {
    seconds += 1;
    fraction -= 4294967296;
  }
  return { seconds: seconds >>> 0, fraction: fraction >>> 0 };
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function parseRtcp(buf: Uint8Array): RtcpParseResult {
  const out: RtcpParsed = { senderReports: [], byes: [], cnames: [], types: [], trailingError: null };
  let off = 0;
  while (off < buf.length) {
    const fail = (reason: string): RtcpParseResult => {
      if (out.types.length === 0) return { ok: false, reason };
      out.trailingError = reason;
      return { ok: true, rtcp: out };
    };
    if (buf.length - off < 4) return fail('short-header');
    const b0 = buf[off]!;
    if (b0 >> 6 !== 2) return fail('bad-version');
    const count = b0 & 0x1f;
    const pt = buf[off + 1]!;
    if (pt < 192 || pt > 223) return fail('not-rtcp');
    const bytes = (((buf[off + 2]! << 8) | buf[off + 3]!) + 1) * 4;
    if (off + bytes > buf.length) return fail('short-packet');
    let end = off + bytes;
    if (b0 & 0x20) {
      const pad = buf[end - 1]!;
      if (pad === 0 || end - pad < off + 4) return fail('bad-padding');
      end -= pad;
    }
    const body = off + 4;
    if (pt === 200) {
      if (end - body < 24 + count * 24) return fail('short-sr');
      const ntpSeconds = u32(buf, body + 4);
      const ntpFraction = u32(buf, body + 8);
      out.senderReports.push({
        ssrc: u32(buf, body),
        ntpSeconds,
        ntpFraction,
        wallMs: ntpToWallMs(ntpSeconds, ntpFraction),
        rtpTimestamp: u32(buf, body + 12),
        packetCount: u32(buf, body + 16),
        octetCount: u32(buf, body + 20),
      });
    } else if (pt === 203) {
      if (end - body < count * 4) return fail('short-bye');
      for (let i = 0; i < count; i++) out.byes.push(u32(buf, body + i * 4));
    } else if (pt === 202) {
      // SDES chunks: SSRC, then items (type, length, text) until a zero type, padded to 32 bits.
      let p = body;
      for (let c = 0; c < count; c++) {
        if (end - p < 4) return fail('short-sdes');
        const ssrc = u32(buf, p);
        p += 4;
        for (;;) {
          if (p >= end) return fail('short-sdes');
          const type = buf[p]!;
          if (type === 0) {
            p = (p + 4) & ~3;
            break;
          }
          if (p + 2 > end || p + 2 + buf[p + 1]! > end) return fail('short-sdes');
          const len = buf[p + 1]!;
          if (type === 1) out.cnames.push({ ssrc, cname: Buffer.from(buf.subarray(p + 2, p + 2 + len)).toString('utf8') });
          p += 2 + len;
        }
      }
    }
    out.types.push(pt);
    off += bytes;
  }
  if (out.types.length === 0) return { ok: false, reason: 'empty' };
  return { ok: true, rtcp: out };
}

export interface SrFields {
  ssrc: number;
  wallMs: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
  /** SDES CNAME to append (RFC 3550 requires one in every compound packet). */
  cname?: string;
}

function sdes(ssrc: number, cname: string): Buffer {
  const text = Buffer.from(cname, 'utf8').subarray(0, 255);
  const items = 4 + 2 + text.length + 1; // ssrc, CNAME item, end
  const len = Math.ceil(items / 4) * 4;
  const out = Buffer.alloc(4 + len);
  out[0] = 0x81;
  out[1] = 202;
  out.writeUInt16BE(len / 4, 2);
  out.writeUInt32BE(ssrc >>> 0, 4);
  out[8] = 1;
  out[9] = text.length;
  out.set(text, 10);
  return out;
}

/** Builds an SR (no report blocks) followed by SDES CNAME when given. */
export function buildSenderReport(f: SrFields): Buffer {
  const sr = Buffer.alloc(28);
  sr[0] = 0x80;
  sr[1] = 200;
  sr.writeUInt16BE(6, 2);
  sr.writeUInt32BE(f.ssrc >>> 0, 4);
  const ntp = wallMsToNtp(f.wallMs);
  sr.writeUInt32BE(ntp.seconds, 8);
  sr.writeUInt32BE(ntp.fraction, 12);
  sr.writeUInt32BE(f.rtpTimestamp >>> 0, 16);
  sr.writeUInt32BE(f.packetCount >>> 0, 20);
  sr.writeUInt32BE(f.octetCount >>> 0, 24);
  return f.cname === undefined ? sr : Buffer.concat([sr, sdes(f.ssrc, f.cname)]);
}

/** Builds a BYE for one SSRC, preceded by an empty SR as RFC 3550 wants compound packets to start. */
export function buildBye(f: Omit<SrFields, 'cname'>): Buffer {
  const bye = Buffer.alloc(8);
  bye[0] = 0x81;
  bye[1] = 203;
  bye.writeUInt16BE(1, 2);
  bye.writeUInt32BE(f.ssrc >>> 0, 4);
  return Buffer.concat([buildSenderReport(f), bye]);
}
