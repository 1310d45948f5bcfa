// Requester lists (allow/deny): IPv4 addresses, CIDR blocks and MACs, compiled once so a match
// during an ARP storm is a few integer comparisons.
import { canonicalMac, ipToInt } from './waker-addr.ts';

export class RequesterList {
  private readonly macs = new Set<string>();
  private readonly nets: Array<{ base: number; mask: number }> = [];

  constructor(entries: readonly string[] = []) {
    for (const e of entries) {
      if (e.includes('.')) {
        const [ip, bits] = e.split('/');
        const n = bits === undefined ? 32 : Number(bits);
        if (!Number.isInteger(n) || n < 0 || n > 32) throw new Error(`"${e}": prefix length must be 0–32`);
        const mask = n === 0 ? 0 : (~0 << (32 - n)) >>> 0;
        this.nets.push({ base: (ipToInt(ip!) & mask) >>> 0, mask });
      } else {
        this.macs.add(canonicalMac(e));
      }
    }
  }

  get size(): number {
    return this.macs.size + this.nets.length;
  }

  /** True when the requester's IP or MAC (canonical lower-case) is on the list. */
  matches(ip: string, mac: string): boolean {
    if (this.macs.has(mac)) return true;
    if (this.nets.length === 0) return false;
    let n: number;
    try {
      n = ipToInt(ip);
    } catch {
      return false;
    }
    for (const x of this.nets) if ((n & x.mask) >>> 0 === x.base) return true;
    return false;
  }
}
