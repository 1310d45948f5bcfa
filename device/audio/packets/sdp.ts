// SDP (RFC 4566) for L16 multicast streams, through `sdp-transform`: parse what PulseAudio,
// PipeWire, ffmpeg and GStreamer announce into a StreamFormat plus group and port, and build the
// description of our own source.
//
// Rules:
// - parseSdp never throws. It picks the first audio m= line with a non-zero port and a playable
//   payload (rtpmap L16 1–2 channels, or static PT 10/11). A media-level c= wins over the session
//   one; "224.0.0.56/1" yields group 224.0.0.56 and ttl 1.
// - The text is limited to 64 KiB (a SAP datagram cannot carry more).
import sdpTransform from 'sdp-transform';
import type { StreamFormat } from '../types.ts';
import { formatFromRtpmap, staticFormat } from './formats.ts';

export interface SdpStream {
  /** s= (the session name players choose streams by). */
  name: string;
  origin: { username: string; sessionId: string; sessionVersion: number; address: string };
  /** Destination (multicast group or unicast address) from c=, without the /ttl suffix. */
  group: string;
  port: number;
  ttl: number | null;
  format: StreamFormat;
  ptime: number | null;
  /** i= when present. */
  info: string | null;
}

export type SdpParseResult = { ok: true; stream: SdpStream } | { ok: false; reason: string };

export const MAX_SDP_BYTES = 65536;

function splitAddress(ip: string): { addr: string; ttl: number | null } {
  const parts = ip.split('/');
  const ttl = parts.length > 1 ? Number(parts[1]) : NaN;
  return { addr: parts[0]!, ttl: Number.isInteger(ttl) && ttl >= 0 && ttl <= 255 ? ttl : null };
}

function pickFormat(media: sdpTransform.MediaDescription): StreamFormat | null {
  const pts = String(media.payloads ?? '')
    .trim()
    .split(/\s+/)
    .filter((x) => x !== '')
    .map(Number);
  for (const pt of pts) {
    if (!Number.isInteger(pt) || pt < 0 || pt > 127) continue;
    const map = (media.rtp ?? []).find((r) => r.payload === pt);
    const f = map ? formatFromRtpmap(pt, String(map.codec ?? ''), map.rate, map.encoding) : staticFormat(pt);
    if (f) return f;
  }
  return null;
}

export function parseSdp(text: string): SdpParseResult {
  if (typeof text !== 'string') return { ok: false, reason: 'not text' };
  if (text.length > MAX_SDP_BYTES) return { ok: false, reason: 'too large' };
  let s: sdpTransform.SessionDescription;
  try {
    s = sdpTransform.parse(text);
  } catch (e) {
    return { ok: false, reason: `unparsable: ${(e as Error).message}` };
  }
  if (!s || !Array.isArray(s.media)) return { ok: false, reason: 'no media' };
  if (s.version !== 0) return { ok: false, reason: 'missing v=0' };
  for (const m of s.media) {
    if (!m || m.type !== 'audio' || !Number.isInteger(m.port) || m.port <= 0 || m.port > 65535) continue;
    if (!/^RTP\/AVP/.test(String(m.protocol ?? ''))) continue;
    const format = pickFormat(m);
    if (!format) continue;
    const conn = m.connection ?? s.connection;
    if (!conn || typeof conn.ip !== 'string' || conn.ip === '') return { ok: false, reason: 'no connection address (c=)' };
    const { addr, ttl } = splitAddress(conn.ip);
    const o = s.origin;
    return {
      ok: true,
      stream: {
        name: typeof s.name === 'string' ? s.name : '',
        origin: {
          username: String(o?.username ?? '-'),
          sessionId: String(o?.sessionId ?? ''),
          sessionVersion: Number(o?.sessionVersion ?? 0) || 0,
          address: String(o?.address ?? ''),
        },
        group: addr,
        port: m.port,
        ttl,
        format,
        ptime: typeof m.ptime === 'number' && Number.isFinite(m.ptime) ? m.ptime : null,
        info: typeof s.description === 'string' ? s.description : null,
      },
    };
  }
  return { ok: false, reason: 'no playable L16 audio stream' };
}

export interface SdpBuildOptions {
  name: string;
  /** Our address (o= and the SAP origin). */
  originAddress: string;
  sessionId: string | number;
  sessionVersion?: number;
  username?: string;
  group: string;
  port: number;
  ttl?: number;
  format: StreamFormat;
  ptime?: number;
  info?: string;
}

/** The SDP for one of our L16 streams (CRLF line ends, as RFC 4566 asks). */
export function buildSdp(o: SdpBuildOptions): string {
  const multicast = /^(22[4-9]|23\d)\./.test(o.group);
  const desc: sdpTransform.SessionDescription = {
    version: 0,
    origin: {
      username: o.username ?? '-',
      sessionId: o.sessionId,
      sessionVersion: o.sessionVersion ?? 0,
      netType: 'IN',
      ipVer: 4,
      address: o.originAddress,
    },
    name: o.name,
    ...(o.info ? { description: o.info } : {}),
    connection: { version: 4, ip: multicast ? `${o.group}/${o.ttl ?? 1}` : o.group },
    timing: { start: 0, stop: 0 },
    media: [
      {
        type: 'audio',
        port: o.port,
        protocol: 'RTP/AVP',
        payloads: String(o.format.payloadType),
        rtp: [{ payload: o.format.payloadType, codec: 'L16', rate: o.format.rate, encoding: o.format.channels }],
        fmtp: [],
        direction: 'recvonly',
        ...(o.ptime ? { ptime: o.ptime } : {}),
      },
    ],
  };
  return sdpTransform.write(desc).replace(/\r?\n/g, '\r\n');
}
