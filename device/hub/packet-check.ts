// MQTT 3.1.1 framing and the string rules the hub enforces before Aedes parses a packet. Pure.
// - FrameSplitter cuts a byte stream into whole control packets and refuses one whose declared
//   length is over the limit as soon as its fixed header is read (nothing of it is buffered).
// - checkPacket finds what the spec says a server must refuse in the strings of CONNECT,
//   PUBLISH, SUBSCRIBE and UNSUBSCRIBE: bytes that are not well-formed UTF-8 [MQTT-1.5.3-1] and
//   U+0000 [MQTT-1.5.3-2]; the server must then close the connection. (mqtt-packet decodes such
//   bytes as U+FFFD, so after parsing the damage can no longer be seen.)
import { isUtf8 } from 'node:buffer';

export const PUBLISH = 3;

export type Frame = { ok: true; type: number; packet: Buffer } | { ok: false; reason: string };

export class FrameSplitter {
  private buf: Buffer = Buffer.alloc(0);
  private failed = false;
  constructor(private readonly maxPacketBytes: number) {}

  /** Appends bytes; returns every packet now complete (and at most one refusal, after which nothing more). */
  push(chunk: Buffer): Frame[] {
    if (this.failed) return [];
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Frame[] = [];
    for (;;) {
      if (this.buf.length < 2) break;
      let len = 0,
        mul = 1,
        i = 1,
        done = false;
      for (; i < 5 && i < this.buf.length; i++) {
        const b = this.buf[i]!;
        len += (b & 0x7f) * mul;
        mul *= 128;
        if (!(b & 0x80)) {
          done = true;
          i++;
          break;
        }
      }
      if (!done) {
        if (i >= 5) {
          this.failed = true;
          out.push({ ok: false, reason: 'malformed remaining length' });
          break;
        }
        break; // the length is still arriving
      }
      const total = i + len;
      if (total > this.maxPacketBytes) {
        this.failed = true;
        out.push({ ok: false, reason: `a packet of ${total} bytes is over the hub's limit of ${this.maxPacketBytes}` });
        break;
      }
      if (this.buf.length < total) break;
      out.push({ ok: true, type: this.buf[0]! >> 4, packet: this.buf.subarray(0, total) });
      this.buf = this.buf.subarray(total);
    }
    return out;
  }
}

/** The reason a string field breaks MQTT 3.1.1, or undefined. */
function badString(b: Buffer, what: string): string | undefined {
  if (!isUtf8(b)) return `${what} is not well-formed UTF-8`;
  if (b.includes(0)) return `${what} contains U+0000`;
  return undefined;
}

/** Reads a length-prefixed string at `at`; undefined when the packet is too short (Aedes reports that itself). */
function str(p: Buffer, at: number): { value: Buffer; next: number } | undefined {
  if (at + 2 > p.length) return undefined;
  const n = p.readUInt16BE(at);
  if (at + 2 + n > p.length) return undefined;
  return { value: p.subarray(at + 2, at + 2 + n), next: at + 2 + n };
}

function bodyStart(p: Buffer): number {
  let i = 1;
  while (i < 5 && p[i]! & 0x80) i++;
  return i + 1;
}

/** What in this whole control packet MQTT 3.1.1 forbids, or undefined. */
export function checkPacket(type: number, p: Buffer): string | undefined {
  const at = bodyStart(p);
  if (type === PUBLISH) {
    const t = str(p, at);
    return t && badString(t.value, 'the topic');
  }
  if (type === 8 || type === 10) {
    // SUBSCRIBE, UNSUBSCRIBE: packet id, then filters (each followed by a QoS byte in SUBSCRIBE)
    let i = at + 2;
    while (i < p.length) {
      const f = str(p, i);
      if (!f) return undefined;
      const bad = badString(f.value, 'a topic filter');
      if (bad) return bad;
      i = f.next + (type === 8 ? 1 : 0);
    }
    return undefined;
  }
  if (type === 1) {
    // CONNECT: protocol name, level, flags, keepalive, client id, [will topic, will message], [username]
    const name = str(p, at);
    if (!name || name.next + 4 > p.length) return undefined;
    const flags = p[name.next + 1]!;
    const id = str(p, name.next + 4);
    if (!id) return undefined;
    let bad = badString(id.value, 'the client id');
    let i = id.next;
    if (!bad && flags & 0x04) {
      const wt = str(p, i);
      if (!wt) return undefined;
      bad = badString(wt.value, 'the will topic');
      const wm = str(p, wt.next);
      if (!wm) return bad;
      i = wm.next;
    }
    if (!bad && flags & 0x80) {
      const u = str(p, i);
      if (u) bad = badString(u.value, 'the user name');
    }
    return bad;
  }
  return undefined;
}
