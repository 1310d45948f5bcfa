// NTP v4 packets (RFC 5905 §7.3), the 48-byte header only (extension fields and MACs are ignored
// on receipt, never sent). Timestamps cross this edge as Unix milliseconds (fractional): a double
// holds today's ~1.8·10¹² ms to ~0.4 µs, below anything a LAN exchange resolves.
//
// Rules:
// - parse() accepts any 48+ byte datagram with version 1–4 and returns its fields, or throws a
//   clear error; whether a reply is USABLE is a separate judgement (checkReply), because a server
//   reading requests and a client reading replies accept different packets.
// - NTP eras: a 32-bit seconds field wraps in 2036. Seconds with the top bit clear are read as
//   era 1 (2036–2104), as RFC 4330 §3 suggests; a zero timestamp stays 0 (means "not set").
// - A client never puts its own clock into the request: its transmit timestamp is a random
//   cookie the server echoes as the reply's origin, which is how a reply is matched to its request
//   and how a forged or stale reply is told apart (chrony does the same).

export const NTP_PACKET_BYTES = 48;
/** Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (Unix). */
const NTP_UNIX_S = 2_208_988_800;
const ERA_S = 2 ** 32;

export const Mode = { Client: 3, Server: 4 } as const;

export interface NtpPacket {
  /** Leap indicator: 0 none, 1/2 leap second pending, 3 clock unsynchronised. */
  leap: number;
  version: number;
  mode: number;
  /** 0 = kiss-o'-death, 1 primary, 2–15 secondary, 16 unsynchronised. */
  stratum: number;
  poll: number;
  precision: number;
  /** Root delay and dispersion, ms. */
  rootDelayMs: number;
  rootDispersionMs: number;
  /** Reference id: 4 ASCII characters at stratum 0/1 (a kiss code or source name), else an IPv4 address. */
  refId: string;
  referenceMs: number;
  /** Origin, receive and transmit timestamps as raw 64-bit values (the origin is matched raw). */
  origin: bigint;
  receive: bigint;
  transmit: bigint;
}

/** Unix ms → NTP 64-bit timestamp (0 stays 0). */
export function toNtp(unixMs: number): bigint {
  if (unixMs === 0) return 0n;
  const s = unixMs / 1000 + NTP_UNIX_S;
  const sec = Math.floor(s);
  const frac = Math.floor((s - sec) * ERA_S);
  return (BigInt(sec % ERA_S) << 32n) | BigInt(Math.min(frac, ERA_S - 1));
}

/** NTP 64-bit timestamp → Unix ms (fractional; 0 stays 0). */
export function fromNtp(ts: bigint): number {
  if (ts === 0n) return 0;
  const sec = Number(ts >> 32n),
    frac = Number(ts & 0xffffffffn);
  const era = sec < 0x80000000 ? 1 : 0;
  return (sec + era * ERA_S - NTP_UNIX_S) * 1000 + (frac * 1000) / ERA_S;
}

function shortMs(v: number): number {
  return (v / 65536) * 1000;
}

export function parseNtp(buf: Buffer): NtpPacket {
  if (buf.length < NTP_PACKET_BYTES) throw new Error(`NTP packet too short: ${buf.length} bytes (need ${NTP_PACKET_BYTES})`);
  const b0 = buf[0]!;
  const version = (b0 >> 3) & 7;
  if (version < 1 || version > 4) throw new Error(`NTP version ${version} not supported (1–4)`);
  const refRaw = buf.subarray(12, 16);
  const stratum = buf[1]!;
  const refId = stratum <= 1 ? refRaw.toString('latin1').replace(/\0+$/, '') : `${refRaw[0]}.${refRaw[1]}.${refRaw[2]}.${refRaw[3]}`;
  return {
    leap: b0 >> 6,
    version,
    mode: b0 & 7,
    stratum,
    poll: buf.readInt8(2),
    precision: buf.readInt8(3),
    rootDelayMs: shortMs(buf.readUInt32BE(4)),
    rootDispersionMs: shortMs(buf.readUInt32BE(8)),
    refId,
    referenceMs: fromNtp(buf.readBigUInt64BE(16)),
    origin: buf.readBigUInt64BE(24),
    receive: buf.readBigUInt64BE(32),
    transmit: buf.readBigUInt64BE(40),
  };
}

export interface NtpFields {
  leap?: number;
  version?: number;
  mode: number;
  stratum?: number;
  poll?: number;
  precision?: number;
  rootDelayMs?: number;
  rootDispersionMs?: number;
  /** 4 ASCII characters, or an IPv4 address (stratum ≥ 2). */
  refId?: string;
  referenceMs?: number;
  origin?: bigint;
  receive?: bigint;
  transmit?: bigint;
}

export function buildNtp(f: NtpFields): Buffer {
  const b = Buffer.alloc(NTP_PACKET_BYTES);
  b[0] = ((f.leap ?? 0) << 6) | ((f.version ?? 4) << 3) | f.mode;
  b[1] = f.stratum ?? 0;
  b.writeInt8(f.poll ?? 0, 2);
  b.writeInt8(f.precision ?? -20, 3);
  const short = (ms: number) => Math.min(0xffffffff, Math.max(0, Math.round((ms / 1000) * 65536)));
  b.writeUInt32BE(short(f.rootDelayMs ?? 0), 4);
  b.writeUInt32BE(short(f.rootDispersionMs ?? 0), 8);
  const ref = f.refId ?? '';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ref))
    ref.split('.').forEach((o, i) => {
      b[12 + i] = Number(o) & 255;
    });
  else b.write(ref.slice(0, 4), 12, 'latin1');
  b.writeBigUInt64BE(toNtp(f.referenceMs ?? 0), 16);
  b.writeBigUInt64BE(f.origin ?? 0n, 24);
  b.writeBigUInt64BE(f.receive ?? 0n, 32);
  b.writeBigUInt64BE(f.transmit ?? 0n, 40);
  return b;
}

/** A client request carrying `cookie` as its transmit timestamp. */
export function buildRequest(cookie: bigint): Buffer {
  return buildNtp({ mode: Mode.Client, version: 4, transmit: cookie, precision: 0 });
}

/** Why a reply is not used; each reason is counted by the client. */
export type ReplyFault = 'malformed' | 'not-server' | 'unexpected' | 'kiss' | 'unsynchronised' | 'bad-timestamps';

export type CheckedReply =
  | { ok: true; t2: number; t3: number; stratum: number; rootDelayMs: number; rootDispersionMs: number }
  | { ok: false; fault: ReplyFault; detail: string };

/**
 * Judges a reply to the request whose cookie was `cookie` (RFC 5905 §8 "packet sanity tests"):
 * a server-mode packet echoing the cookie, not a kiss-o'-death, synchronised (leap ≠ 3, stratum
 * 1–15), with receive and transmit set and transmit ≥ receive within a second.
 */
export function checkReply(buf: Buffer, cookie: bigint): CheckedReply {
  let p: NtpPacket;
  try {
    p = parseNtp(buf);
  } catch (e) {
    return { ok: false, fault: 'malformed', detail: (e as Error).message };
  }
  if (p.mode !== Mode.Server) return { ok: false, fault: 'not-server', detail: `mode ${p.mode}` };
  if (p.origin !== cookie) return { ok: false, fault: 'unexpected', detail: 'origin does not echo our request' };
  if (p.stratum === 0) return { ok: false, fault: 'kiss', detail: `kiss-o'-death ${p.refId}` };
  if (p.leap === 3 || p.stratum > 15) return { ok: false, fault: 'unsynchronised', detail: `leap ${p.leap}, stratum ${p.stratum}` };
  const t2 = fromNtp(p.receive),
    t3 = fromNtp(p.transmit);
  if (t2 === 0 || t3 === 0) return { ok: false, fault: 'bad-timestamps', detail: 'receive or transmit timestamp not set' };
  if (!(t3 >= t2 && t3 - t2 < 1000))
    return { ok: false, fault: 'bad-timestamps', detail: `transmit − receive = ${(t3 - t2).toFixed(3)} ms` };
  return { ok: true, t2, t3, stratum: p.stratum, rootDelayMs: p.rootDelayMs, rootDispersionMs: p.rootDispersionMs };
}
