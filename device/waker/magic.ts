// Wake-on-LAN magic packets, built and checked exactly: 6 × 0xFF, then the target MAC 16 times
// (102 bytes), then an optional 4- or 6-byte SecureOn password. The same payload goes in a UDP
// broadcast (port 9 or 7) or directly in an Ethernet frame with EtherType 0x0842.
import { parseMac } from './addr.ts';

export const ETHERTYPE_WOL = 0x0842;
export const MAGIC_LENGTH = 102;

export function buildMagicPacket(mac: string | Buffer, password?: Buffer): Buffer {
  const m = typeof mac === 'string' ? parseMac(mac) : mac;
  if (m.length !== 6) throw new Error('a magic packet needs a 6-byte MAC');
  if (password && password.length !== 4 && password.length !== 6) throw new Error('a SecureOn password is 4 or 6 bytes');
  const out = Buffer.alloc(MAGIC_LENGTH + (password?.length ?? 0), 0xff);
  for (let i = 0; i < 16; i++) m.copy(out, 6 + i * 6);
  if (password) password.copy(out, MAGIC_LENGTH);
  return out;
}

export type MagicCheck = { ok: true; mac: Buffer; password?: Buffer } | { ok: false; reason: string };

/**
 * Checks a payload the way a NIC does, strictly: sync stream, 16 identical MAC copies, and
 * (when `expect` is given) the right MAC and password. Extra trailing bytes other than a 4/6
 * byte password are refused, so a truncated or padded packet is caught in tests.
 */
export function checkMagicPacket(payload: Uint8Array, expect?: { mac?: string; password?: Buffer }): MagicCheck {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const extra = buf.length - MAGIC_LENGTH;
  if (extra !== 0 && extra !== 4 && extra !== 6) return { ok: false, reason: `length ${buf.length} is not 102, 106 or 108` };
  for (let i = 0; i < 6; i++) if (buf[i] !== 0xff) return { ok: false, reason: `sync byte ${i} is not 0xff` };
  const mac = Buffer.from(buf.subarray(6, 12));
  for (let i = 1; i < 16; i++) {
    if (!buf.subarray(6 + i * 6, 12 + i * 6).equals(mac)) return { ok: false, reason: `MAC copy ${i + 1} differs from the first` };
  }
  const password = extra ? Buffer.from(buf.subarray(MAGIC_LENGTH)) : undefined;
  if (expect?.mac !== undefined && !mac.equals(parseMac(expect.mac))) return { ok: false, reason: 'MAC is not the expected one' };
  if (expect && 'password' in expect) {
    const want = expect.password;
    if (!want && password) return { ok: false, reason: 'unexpected SecureOn password' };
    if (want && (!password || !password.equals(want))) return { ok: false, reason: 'SecureOn password does not match' };
  }
  return password ? { ok: true, mac, password } : { ok: true, mac };
}

/** The raw Ethernet frame etherwake sends: broadcast destination, our MAC, EtherType 0x0842, magic payload. */
export function buildWolFrame(ourMac: string, payload: Buffer, dst = 'ff:ff:ff:ff:ff:ff'): Buffer {
  const f = Buffer.alloc(14 + payload.length);
  parseMac(dst).copy(f, 0);
  parseMac(ourMac).copy(f, 6);
  f.writeUInt16BE(ETHERTYPE_WOL, 12);
  payload.copy(f, 14);
  return f;
}

/** The magic payload inside an Ethernet frame with EtherType 0x0842, or undefined. */
export function wolPayloadOfFrame(frame: Uint8Array): Buffer | undefined {
  if (frame.length < 14 + MAGIC_LENGTH) return undefined;
  if (((frame[12]! << 8) | frame[13]!) !== ETHERTYPE_WOL) return undefined;
  // 14 + 102 bytes is above Ethernet's 60-byte minimum, so no padding is ever added.
  return Buffer.from(frame.subarray(14));
}
