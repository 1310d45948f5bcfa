// The hub's bounds, so that one client cannot take the broker or another client down:
// - a maximum packet size (refused at the fixed header, before anything is buffered);
// - the MQTT 3.1.1 string rules (packet-check.ts);
// - a per-connection publish rate, in messages and bytes per second (token buckets). A client over
//   its rate is not cut off: the hub stops reading its socket until tokens refill, so TCP
//   backpressure slows the sender and everyone else's messages keep flowing;
// - retained bytes per login (RetainedLedger), checked in authorizePublish.
// A refusal closes the connection: MQTT 3.1.1 has no reason code to send instead.
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { FrameSplitter, checkPacket, PUBLISH, type Frame } from './packet-check.ts';

export interface HubLimits {
  /** Largest control packet accepted (bytes, headers included). */
  maxPacketBytes: number;
  /** Publishes per second per connection, sustained, and the burst allowed above it. */
  messagesPerS: number;
  messageBurst: number;
  /** Publish bytes per second per connection, sustained (the burst is one second's worth, at least one packet). */
  bytesPerS: number;
  /** Retained bytes one login may hold on the hub. */
  retainedBytesPerLogin: number;
}

export const DEFAULT_LIMITS: HubLimits = {
  maxPacketBytes: 256 * 1024,
  messagesPerS: 100,
  messageBurst: 300,
  // 256 KiB/s: a client flooding 53 KB invalid configs reaches a device at ~5 per second, which
  // a Pi validates and refuses well within that second, so other clients' requests do not queue.
  bytesPerS: 256 * 1024,
  retainedBytesPerLogin: 1024 * 1024,
};

export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly ratePerS: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {
    this.tokens = burst;
    this.last = now();
  }
  /** Milliseconds until `n` tokens are there (0: now). */
  waitMs(n: number): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.ratePerS) / 1000);
    this.last = t;
    return this.tokens >= n ? 0 : ((n - this.tokens) * 1000) / this.ratePerS;
  }
  take(n: number): void {
    this.tokens -= n;
  }
}

export interface GateOptions {
  limits: HubLimits;
  now?: () => number;
  /** The connection broke a rule; the gate has closed it. */
  onRefuse(reason: string): void;
  /** The connection went over its rate (called at most once per 10 s per connection). */
  onThrottle?(waitMs: number): void;
}

export type GatedConnection = Duplex & { peer: string };

/** Wraps a client socket: Aedes reads only whole, checked packets, at most at the allowed rate. */
export function gateConnection(sock: Duplex, o: GateOptions): GatedConnection {
  const now = o.now ?? (() => performance.now());
  const L = o.limits;
  const splitter = new FrameSplitter(L.maxPacketBytes);
  const msgs = new TokenBucket(L.messagesPerS, L.messageBurst, now);
  const bytes = new TokenBucket(L.bytesPerS, Math.max(L.bytesPerS, L.maxPacketBytes), now);
  const held: Array<Frame & { ok: true }> = [];
  let timer: NodeJS.Timeout | undefined;
  let lastThrottle = -Infinity;
  let refused = false;

  const gate = new Duplex({
    read() {
      if (!timer) drain();
    },
    write(chunk, _enc, cb) {
      if (sock.destroyed) {
        cb();
        return;
      }
      sock.write(chunk, cb);
    },
    // Aedes writes a packet as several chunks (header, topic, payload) under cork: they reach the
    // socket as one write, not one system call each (under a flood that was the hub's top cost).
    writev(chunks, cb) {
      if (sock.destroyed) {
        cb();
        return;
      }
      sock.write(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk as Buffer)), cb);
    },
    final(cb) {
      sock.end();
      cb();
    },
    destroy(err, cb) {
      clearTimeout(timer);
      sock.destroy();
      cb(err);
    },
  }) as GatedConnection;
  const s = sock as Partial<Socket>;
  gate.peer = s.remoteAddress ? `${s.remoteAddress}:${s.remotePort}` : 'unknown';

  function refuse(reason: string): void {
    if (refused) return;
    refused = true;
    held.length = 0;
    o.onRefuse(reason);
    gate.destroy();
  }

  function drain(): void {
    while (held.length) {
      const f = held[0]!;
      if (f.type === PUBLISH) {
        const wait = Math.max(msgs.waitMs(1), bytes.waitMs(f.packet.length));
        if (wait > 0) {
          sock.pause();
          if (now() - lastThrottle > 10_000) {
            lastThrottle = now();
            o.onThrottle?.(wait);
          }
          timer = setTimeout(() => {
            timer = undefined;
            drain();
          }, Math.ceil(wait));
          return;
        }
        msgs.take(1);
        bytes.take(f.packet.length);
      }
      held.shift();
      if (!gate.push(f.packet)) {
        sock.pause();
        return;
      } // Aedes is behind: read() resumes
    }
    sock.resume();
  }

  sock.on('data', (chunk: Buffer) => {
    for (const f of splitter.push(chunk)) {
      if (!f.ok) {
        refuse(f.reason);
        return;
      }
      const bad = checkPacket(f.type, f.packet);
      if (bad) {
        refuse(bad);
        return;
      }
      held.push(f);
    }
    if (!timer) drain();
  });
  sock.on('end', () => gate.push(null));
  sock.on('error', (e) => gate.destroy(e));
  sock.on('close', () => {
    if (!gate.destroyed) gate.destroy();
  });
  return gate;
}

/** Who holds how many retained bytes on which topic; a topic's bytes belong to its last publisher. */
export class RetainedLedger {
  private readonly byTopic = new Map<string, { user: string; bytes: number }>();
  private readonly byUser = new Map<string, number>();

  used(user: string): number {
    return this.byUser.get(user) ?? 0;
  }

  /** True when `user` may retain `bytes` on `topic` within `limit` (clearing a topic always may). */
  allows(user: string, topic: string, bytes: number, limit: number): boolean {
    if (bytes === 0) return true;
    const cur = this.byTopic.get(topic);
    return this.used(user) - (cur?.user === user ? cur.bytes : 0) + bytes <= limit;
  }

  record(user: string, topic: string, bytes: number): void {
    const cur = this.byTopic.get(topic);
    if (cur) this.byUser.set(cur.user, this.used(cur.user) - cur.bytes);
    if (bytes === 0) {
      this.byTopic.delete(topic);
      return;
    }
    this.byTopic.set(topic, { user, bytes });
    this.byUser.set(user, this.used(user) + bytes);
  }
}
