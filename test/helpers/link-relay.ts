// One device's network link, impaired in user space in each direction separately (this kernel
// has no netem; TESTING.md). Runs inside a namespace; usage:
//   node --import tsx link-relay.ts '<json spec>'
// spec: { seed, up: Profile, down: Profile, links: Link[] }
//   Profile: { delayMs?, jitterMs?, lossPct?, burst?: { everyMs, lengthMs, extraMs } }
//     each datagram (or TCP chunk) waits delayMs + U(0, jitterMs), plus extraMs while a burst is on
//     (bursts start at random, on average every everyMs, and last lengthMs: a Wi-Fi link queueing);
//     loss drops datagrams (TCP chunks are never dropped: TCP would retransmit; not modelled).
//   Link: { kind: 'multicast', from, to, ports: number[] }  datagrams on group `from` re-sent to group `to` ("down": toward the device)
//       | { kind: 'udp', listen, target }   a unicast port (127.0.0.1:listen) forwarded to 127.0.0.1:target; "up" is device → target
//       | { kind: 'tcp', listen, target }   the same for TCP connections, order kept per direction
// A direction whose delays stay under 2 ms (the wired profile) keeps them to ~20 µs by polling the
// hrtime clock (setImmediate): Node's timers round up to whole milliseconds, which would swamp a
// 0.2 ms jitter. Longer delays (Wi-Fi-like) go by timers alone: their jitter dwarfs the rounding,
// and polling for every packet would cost a core.
// Prints "ready" once listening; on SIGUSR2 and on SIGTERM one JSON line of counts per link and
// direction ({ "0:up": { packets, dropped, bytes }, ... }): the queries on the wire, counted here.
import dgram from 'node:dgram';
import net from 'node:net';

interface Profile {
  delayMs?: number;
  jitterMs?: number;
  lossPct?: number;
  burst?: { everyMs: number; lengthMs: number; extraMs: number };
}
type Link =
  | { kind: 'multicast'; from: string; to: string; ports: number[] }
  | { kind: 'udp'; listen: number; target: number }
  | { kind: 'tcp'; listen: number; target: number };
const spec = JSON.parse(process.argv[2]!) as { seed: number; up: Profile; down: Profile; links: Link[] };

let seed = spec.seed >>> 0 || 1;
/** xorshift32, seeded: the same impairment for the same seed and traffic. */
function rnd(): number {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 0x100000000;
}
const nowMs = () => performance.now();

/** One direction: its profile, its burst schedule, its FIFO of due sends. */
class Direction {
  private burstUntil = -Infinity;
  private nextBurst: number;
  private lastDue = 0;
  readonly precise: boolean;
  constructor(
    private readonly p: Profile,
    private readonly ordered: boolean,
  ) {
    this.precise = (p.delayMs ?? 0) + (p.jitterMs ?? 0) < 2 && !p.burst;
    this.nextBurst = p.burst ? nowMs() + rnd() * 2 * p.burst.everyMs : Infinity;
  }
  drop(): boolean {
    return (this.p.lossPct ?? 0) > 0 && rnd() * 100 < this.p.lossPct!;
  }
  /** When a unit handed over now leaves. */
  due(): number {
    const t = nowMs();
    if (this.p.burst && t >= this.nextBurst) {
      this.burstUntil = this.nextBurst + this.p.burst.lengthMs;
      this.nextBurst += this.p.burst.lengthMs + rnd() * 2 * this.p.burst.everyMs;
    }
    let d = t + (this.p.delayMs ?? 0) + rnd() * (this.p.jitterMs ?? 0) + (t < this.burstUntil ? this.p.burst!.extraMs : 0);
    if (this.ordered) d = Math.max(d, this.lastDue); // a byte stream keeps its order
    this.lastDue = d;
    return d;
  }
}

/** Runs fn at `due` (performance.now() ms): to within tens of µs when `precise`, else by a timer. */
function at(due: number, fn: () => void, precise: boolean): void {
  const wait = due - nowMs();
  if (!precise) {
    setTimeout(fn, Math.max(0, wait));
    return;
  }
  if (wait > 2) {
    setTimeout(() => at(due, fn, true), wait - 1.5);
    return;
  }
  const spin = () => {
    if (nowMs() >= due) fn();
    else setImmediate(spin);
  };
  spin();
}

const counts: Record<string, { packets: number; dropped: number; bytes: number }> = {};
const count = (k: string) => (counts[k] ??= { packets: 0, dropped: 0, bytes: 0 });
let pending = spec.links.length;
const ready = () => {
  if (--pending === 0) process.stdout.write('ready\n');
};

spec.links.forEach((link, i) => {
  const up = new Direction(spec.up, link.kind === 'tcp'),
    down = new Direction(spec.down, link.kind === 'tcp');
  if (link.kind === 'multicast') {
    const out = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    out.bind(0, '127.0.0.1', () => {
      out.setMulticastTTL(1);
      out.setMulticastLoopback(true);
      out.setMulticastInterface('127.0.0.1');
      let joined = 0;
      for (const port of link.ports) {
        const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
        s.on('message', (data) => {
          const c = count(`${i}:down`);
          if (down.drop()) {
            c.dropped++;
            return;
          }
          at(
            down.due(),
            () => {
              out.send(data, port, link.to);
              c.packets++;
              c.bytes += data.length;
            },
            down.precise,
          );
        });
        s.bind({ port, address: link.from, exclusive: false }, () => {
          s.addMembership(link.from, '127.0.0.1');
          if (++joined === link.ports.length) ready();
        });
      }
    });
  } else if (link.kind === 'udp') {
    // One upstream socket per client address, so replies find their way back.
    const front = dgram.createSocket('udp4');
    const clients = new Map<string, dgram.Socket>();
    front.on('message', (data, r) => {
      const key = `${r.address}:${r.port}`;
      let back = clients.get(key);
      if (!back) {
        back = dgram.createSocket('udp4');
        back.on('message', (reply) => {
          const c = count(`${i}:down`);
          if (down.drop()) {
            c.dropped++;
            return;
          }
          at(
            down.due(),
            () => {
              front.send(reply, r.port, r.address);
              c.packets++;
              c.bytes += reply.length;
            },
            down.precise,
          );
        });
        back.bind(0, '127.0.0.1');
        clients.set(key, back);
      }
      const c = count(`${i}:up`),
        b = back;
      if (up.drop()) {
        c.dropped++;
        return;
      }
      at(
        up.due(),
        () => {
          b.send(data, link.target, '127.0.0.1');
          c.packets++;
          c.bytes += data.length;
        },
        up.precise,
      );
    });
    front.bind(link.listen, '127.0.0.1', ready);
  } else {
    const server = net.createServer((client) => {
      const target = net.connect(link.target, '127.0.0.1');
      client.setNoDelay(true);
      target.setNoDelay(true);
      const pipe = (from: net.Socket, to: net.Socket, dir: Direction, k: string) => {
        from.on('data', (d) => {
          const c = count(k);
          at(
            dir.due(),
            () => {
              if (!to.destroyed) to.write(d);
              c.packets++;
              c.bytes += d.length;
            },
            dir.precise,
          );
        });
        from.on('close', () => at(dir.due(), () => to.destroy(), dir.precise));
        from.on('error', () => {
          /* close follows */
        });
      };
      pipe(client, target, up, `${i}:up`);
      pipe(target, client, down, `${i}:down`);
    });
    server.listen(link.listen, '127.0.0.1', ready);
  }
});

process.on('SIGUSR2', () => process.stdout.write(JSON.stringify(counts) + '\n'));
process.on('SIGTERM', () => {
  process.stdout.write(JSON.stringify(counts) + '\n');
  process.exit(0);
});
