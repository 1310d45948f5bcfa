// A simulated IPv4 network in virtual time: hosts, each with its own clocks (a crystal running
// `ppm` off and an OS wall clock that can be off and stepped), joined by links with their own
// delay, jitter, loss and delay bursts in each direction, and multicast groups. The base
// VirtualClock is true time; a host sees only its own HostClock. Seeded: one seed, one run.
// Delivery follows Linux where the contract suite pins it down (udp.ts): bound-group filtering,
// host-wide multicast membership, loopback of a host's own multicast, EADDRINUSE without reuseAddr.
import type { Clock, TimerHandle, VirtualClock } from '../core/clock.ts';
import { Prng } from '../core/prng.ts';
import { isMulticastAddress, type UdpMessage, type UdpOpenOptions, type UdpSocket, type UdpStack } from './udp.ts';

/**
 * A host's clocks. now(): its monotonic clock, running (1 + ppm·10⁻⁶) times true time from an
 * arbitrary origin. wall(): its OS realtime clock (the same crystal), `offsetMs` off true wall time
 * at creation, steppable with stepWall() as an NTP daemon or an operator would.
 */
export class HostClock implements Clock {
  private readonly k: number;
  private readonly t0: number;
  private wallAt0: number;
  constructor(
    private readonly base: VirtualClock,
    private readonly epochMs: number,
    o: { ppm?: number; offsetMs?: number; monoOriginMs?: number } = {},
  ) {
    this.k = 1 + (o.ppm ?? 0) / 1e6;
    this.t0 = base.now();
    this.monoOrigin = o.monoOriginMs ?? 0;
    this.wallAt0 = epochMs + this.t0 + (o.offsetMs ?? 0);
  }
  private readonly monoOrigin: number;
  private elapsed(): number {
    return (this.base.now() - this.t0) * this.k;
  }
  now(): number {
    return this.monoOrigin + this.elapsed();
  }
  wall(): number {
    return this.wallAt0 + this.elapsed();
  }
  both(): { now: number; wall: number } {
    const e = this.elapsed();
    return { now: this.monoOrigin + e, wall: this.wallAt0 + e };
  }
  /** Steps the OS wall clock by `ms` (CLOCK_REALTIME set); now() does not move. */
  stepWall(ms: number): void {
    this.wallAt0 += ms;
  }
  /** This host's wall clock error against true wall time, ms. */
  wallErrorMs(): number {
    return this.wall() - (this.epochMs + this.base.now());
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.base.setTimeout(fn, ms / this.k);
  }
  clearTimeout(h: TimerHandle | undefined): void {
    this.base.clearTimeout(h);
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.base.setInterval(fn, ms / this.k);
  }
  clearInterval(h: TimerHandle | undefined): void {
    this.base.clearInterval(h);
  }
}

/** One direction of a link. Delays in true ms. */
export interface LinkProfile {
  /** Fixed one-way delay (default 0.1 ms). */
  delayMs?: number;
  /** Extra delay, uniform in [0, jitterMs). */
  jitterMs?: number;
  /** Probability that a datagram is lost. */
  loss?: number;
  /** Delay bursts: every `everyMs`, for `durationMs`, datagrams take `extraMs` more (queueing). */
  burst?: { everyMs: number; durationMs: number; extraMs: number };
  /** Nothing gets through. */
  down?: boolean;
  /** Draws each datagram's delay (ms) in place of delayMs + jitter: e.g. legs recorded on a real link. */
  sample?: () => number;
}

export interface SimHostOptions {
  /** The host's unicast address (one interface). */
  address: string;
  ppm?: number;
  /** OS wall clock error at creation, ms. */
  offsetMs?: number;
  monoOriginMs?: number;
  /**
   * Lateness of the receiving application, uniform in [0, rxLagMs): the event loop getting round
   * to a datagram. Counted in `at` (read late), as on the real stack.
   */
  rxLagMs?: number;
}

interface SimSock {
  host: SimHost;
  address: string;
  port: number;
  reuse: boolean;
  closed: boolean;
  loopback: boolean;
  groups: Set<string>;
  onMsg: Array<(m: UdpMessage) => void>;
}

export interface Sent {
  from: string;
  fromPort: number;
  to: string;
  port: number;
  data: Buffer;
  trueMs: number;
}

export class SimHost {
  readonly udp: UdpStack;
  readonly sockets = new Set<SimSock>();
  private nextPort = 40000;
  constructor(
    readonly net: SimNetwork,
    readonly address: string,
    readonly clock: HostClock,
    readonly rxLagMs: number,
  ) {
    this.udp = { open: (o) => this.open(o ?? {}) };
  }
  /** Groups joined by any open socket on this host (Linux: membership is per interface). */
  joined(group: string): boolean {
    for (const s of this.sockets) if (s.groups.has(group)) return true;
    return false;
  }
  private local(addr: string): boolean {
    return addr === this.address || addr === '127.0.0.1';
  }

  private async open(o: UdpOpenOptions): Promise<UdpSocket> {
    const address = o.address ?? '0.0.0.0';
    if (address !== '0.0.0.0' && !this.local(address) && !isMulticastAddress(address))
      throw Object.assign(new Error(`bind EADDRNOTAVAIL ${address}`), { code: 'EADDRNOTAVAIL' });
    const reuse = o.reuseAddr ?? false;
    let port = o.port ?? 0;
    const overlaps = (s: SimSock) => s.port === port && (s.address === address || s.address === '0.0.0.0' || address === '0.0.0.0');
    if (port === 0) {
      while ([...this.sockets].some((s) => s.port === this.nextPort)) this.nextPort++;
      port = this.nextPort++;
    } else if ([...this.sockets].some((s) => overlaps(s) && !(s.reuse && reuse))) {
      throw Object.assign(new Error(`bind EADDRINUSE ${address}:${port}`), { code: 'EADDRINUSE' });
    }
    const s: SimSock = { host: this, address, port, reuse, closed: false, loopback: true, groups: new Set(), onMsg: [] };
    this.sockets.add(s);
    let errors = 0;
    const onErr: Array<(e: Error) => void> = [];
    const checkIface = (i?: string) => {
      if (i !== undefined && !this.local(i)) throw Object.assign(new Error(`EADDRNOTAVAIL: no interface ${i}`), { code: 'EADDRNOTAVAIL' });
    };
    return {
      address: address === '0.0.0.0' || isMulticastAddress(address) ? address : address,
      port,
      onMessage: (fn) => {
        s.onMsg.push(fn);
      },
      onError: (fn) => {
        onErr.push(fn);
      },
      send: (data, toPort, to) => {
        if (s.closed) return;
        if (!/^\d+\.\d+\.\d+\.\d+$/.test(to) || toPort <= 0 || toPort > 65535) {
          errors++;
          const e = new Error(`send EINVAL ${to}:${toPort}`);
          for (const f of onErr) f(e);
          return;
        }
        this.net.route(s, Buffer.from(data), to, toPort);
      },
      addMembership: (g, i) => {
        if (!isMulticastAddress(g)) throw Object.assign(new Error(`addMembership EINVAL ${g}`), { code: 'EINVAL' });
        checkIface(i);
        s.groups.add(g);
      },
      dropMembership: (g, i) => {
        checkIface(i);
        if (!s.groups.delete(g)) throw Object.assign(new Error(`dropMembership EADDRNOTAVAIL ${g}`), { code: 'EADDRNOTAVAIL' });
      },
      setMulticastInterface: (i) => checkIface(i),
      setMulticastTTL: () => {
        /* one LAN: TTL never matters */
      },
      setMulticastLoopback: (on) => {
        s.loopback = on;
      },
      errors: () => errors,
      close: async () => {
        s.closed = true;
        this.sockets.delete(s);
      },
    };
  }

  /** Delivers a datagram that reached this host (true time now) to the sockets it belongs to. */
  deliver(from: SimSock, data: Buffer, to: string, port: number): void {
    const mc = isMulticastAddress(to);
    const targets = [...this.sockets].filter(
      (s) =>
        !s.closed &&
        s.port === port &&
        (s.address === to || s.address === '0.0.0.0' || (!mc && s.address === '127.0.0.1' && from.host === this)),
    );
    if (mc && !this.joined(to)) return;
    // Unicast to a shared port goes to one socket (Linux: the last bound); multicast to all.
    const chosen = mc ? targets : targets.slice(-1);
    const src = from.host === this && to === '127.0.0.1' ? '127.0.0.1' : from.host.address;
    for (const s of chosen) {
      const msg: UdpMessage = { data: Buffer.from(data), address: src, port: from.port, at: this.clock.now() };
      for (const f of s.onMsg) f(msg);
    }
  }
}

export class SimNetwork {
  readonly hosts = new Map<string, SimHost>();
  private readonly links = new Map<string, LinkProfile>();
  private readonly rng: Prng;
  private readonly taps: Array<(s: Sent) => void> = [];
  /** True wall time at base time 0 (ms since the Unix epoch). */
  readonly epochMs: number;

  constructor(
    readonly base: VirtualClock,
    o: { seed?: number; epochMs?: number; defaultLink?: LinkProfile } = {},
  ) {
    this.rng = new Prng(o.seed ?? 1);
    this.epochMs = o.epochMs ?? 1_767_225_600_000; // 2026-01-01T00:00:00Z
    this.defaultLink = o.defaultLink ?? { delayMs: 0.1 };
  }
  defaultLink: LinkProfile;

  addHost(o: SimHostOptions): SimHost {
    if (this.hosts.has(o.address)) throw new Error(`host ${o.address} exists`);
    const clock = new HostClock(this.base, this.epochMs, {
      ppm: o.ppm,
      offsetMs: o.offsetMs,
      monoOriginMs: o.monoOriginMs ?? 1000 + this.hosts.size * 7_777.777,
    });
    const h = new SimHost(this, o.address, clock, o.rxLagMs ?? 0);
    this.hosts.set(o.address, h);
    return h;
  }

  /** Sets the profile of the direction from → to (host addresses). */
  setLink(from: string, to: string, p: LinkProfile): void {
    this.links.set(`${from}>${to}`, p);
  }
  link(from: string, to: string): LinkProfile {
    return this.links.get(`${from}>${to}`) ?? this.defaultLink;
  }

  /** True wall time now (what an observer with a perfect clock reads). */
  trueWall(): number {
    return this.epochMs + this.base.now();
  }

  /** Sees every datagram sent (before loss), in true time. */
  tap(fn: (s: Sent) => void): void {
    this.taps.push(fn);
  }

  /** @internal Called by a sending socket. */
  route(from: SimSock, data: Buffer, to: string, port: number): void {
    const sent: Sent = { from: from.host.address, fromPort: from.port, to, port, data, trueMs: this.base.now() };
    for (const t of this.taps) t(sent);
    const dests: SimHost[] = [];
    if (isMulticastAddress(to)) {
      for (const h of this.hosts.values()) if (h !== from.host || from.loopback) dests.push(h);
    } else if (to === '127.0.0.1' || to === from.host.address) dests.push(from.host);
    else {
      const h = this.hosts.get(to);
      if (h) dests.push(h);
    }
    for (const h of dests) {
      const delay = h === from.host ? 0.01 : this.delay(this.link(from.host.address, h.address));
      if (delay === undefined) continue;
      const lag = h.rxLagMs > 0 ? this.rng.next() * h.rxLagMs : 0;
      this.base.setTimeout(() => h.deliver(from, data, to, port), delay + lag);
    }
  }

  private delay(p: LinkProfile): number | undefined {
    if (p.down) return undefined;
    if (p.loss && this.rng.next() < p.loss) return undefined;
    let d = p.sample ? p.sample() : (p.delayMs ?? 0.1) + (p.jitterMs ? this.rng.next() * p.jitterMs : 0);
    if (p.burst && p.burst.everyMs > 0) {
      const phase = this.base.now() % p.burst.everyMs;
      if (phase < p.burst.durationMs) d += p.burst.extraMs;
    }
    return d;
  }
}
