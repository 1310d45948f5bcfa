// Address helpers shared by the waker's parsers and policy: MACs and IPv4 addresses as bytes,
// numbers and canonical strings. Canonical MAC form is lower-case with colons, so comparisons
// are plain string equality everywhere else.

/** Parses "aa:bb:cc:dd:ee:ff" or "aa-bb-cc-dd-ee-ff" into 6 bytes; throws on anything else. */
export function parseMac(mac: string): Buffer {
  if (!/^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$/.test(mac)) throw new Error(`"${mac}" is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  return Buffer.from(mac.split(/[:-]/).map((h) => parseInt(h, 16)));
}

/** Lower-case colon form of 6 bytes at `offset`. */
export function formatMac(buf: Uint8Array, offset = 0): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(buf[offset + i]!.toString(16).padStart(2, '0'));
  return parts.join(':');
}

export function canonicalMac(mac: string): string {
  return formatMac(parseMac(mac));
}

/** Dotted IPv4 → unsigned 32-bit number; throws on anything else. */
export function ipToInt(ip: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) throw new Error(`"${ip}" is not an IPv4 address`);
  const b = m.slice(1).map(Number);
  if (b.some((x) => x > 255)) throw new Error(`"${ip}" is not an IPv4 address`);
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

export function intToIp(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function formatIp(buf: Uint8Array, offset = 0): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

/** The directed broadcast address of an interface address and netmask (10.0.0.5 + /24 → 10.0.0.255). */
export function directedBroadcast(ip: string, netmask: string): string {
  const mask = ipToInt(netmask);
  return intToIp((ipToInt(ip) & mask) | (~mask >>> 0));
}

/**
 * SecureOn password bytes: 6 hex bytes, 4 hex bytes, or 4 bytes written as a dotted quad
 * (etherwake's "-p" accepts the same forms).
 */
export function parseSecureOn(s: string): Buffer {
  if (/^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$/.test(s) || /^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){3}$/.test(s)) {
    return Buffer.from(s.split(/[:-]/).map((h) => parseInt(h, 16)));
  }
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) {
    const n = ipToInt(s);
    return Buffer.from([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  }
  throw new Error('SecureOn password must be 6 bytes (aa:bb:cc:dd:ee:ff) or 4 bytes (a1:b2:c3:d4 or 1.2.3.4)');
}
