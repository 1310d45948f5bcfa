// L16 stream formats: the static payload types of RFC 3551 and dynamic ones described by an SDP
// rtpmap ("L16/48000/2"). L16 is 16-bit signed big-endian, interleaved by channel.
//
// Rules: only L16 with 1 or 2 channels at 8..192 kHz is playable here; anything else yields null
// so the caller can say why it refuses. A missing channel count in an rtpmap means 1 (RFC 4566).
import type { StreamFormat } from '../types.ts';

export const STATIC_FORMATS: Readonly<Record<number, StreamFormat>> = {
  10: { encoding: 'L16', rate: 44100, channels: 2, payloadType: 10 },
  11: { encoding: 'L16', rate: 44100, channels: 1, payloadType: 11 },
};

export const MIN_RATE = 8000;
export const MAX_RATE = 192000;

export function staticFormat(pt: number): StreamFormat | null {
  return STATIC_FORMATS[pt] ?? null;
}

/** A format from an rtpmap's parts (e.g. from sdp-transform: codec "L16", rate 48000, encoding 2). */
export function formatFromRtpmap(pt: number, codec: string, rate: number | undefined, channels: number | undefined): StreamFormat | null {
  if (!Number.isInteger(pt) || pt < 0 || pt > 127) return null;
  if (codec.toUpperCase() !== 'L16') return null;
  if (rate === undefined || !Number.isInteger(rate) || rate < MIN_RATE || rate > MAX_RATE) return null;
  const ch = channels ?? 1;
  if (ch !== 1 && ch !== 2) return null;
  return { encoding: 'L16', rate, channels: ch, payloadType: pt };
}

/** Parses "L16/48000/2" (an rtpmap's encoding part). */
export function formatFromRtpmapText(pt: number, text: string): StreamFormat | null {
  const m = /^\s*([A-Za-z0-9_-]+)\/(\d+)(?:\/(\d+))?\s*$/.exec(text);
  if (!m) return null;
  return formatFromRtpmap(pt, m[1]!, Number(m[2]), m[3] === undefined ? undefined : Number(m[3]));
}

/** The format for a packet's PT given what is known (announced format wins, else static PTs). */
export function formatForPayloadType(pt: number, known: StreamFormat | null | undefined): StreamFormat | null {
  if (known && known.payloadType === pt) return known;
  if (known) return null;
  return staticFormat(pt);
}

export function bytesPerFrame(f: StreamFormat): number {
  return 2 * f.channels;
}

export function sameFormat(a: StreamFormat | null | undefined, b: StreamFormat | null | undefined): boolean {
  if (!a || !b) return a === b;
  return a.rate === b.rate && a.channels === b.channels && a.payloadType === b.payloadType && a.encoding === b.encoding;
}

export function formatText(f: StreamFormat): string {
  return `L16/${f.rate}/${f.channels} pt ${f.payloadType}`;
}
