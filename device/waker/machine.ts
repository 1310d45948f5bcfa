// The waker's host states and ARP rules as one machine: ARP frames and the outcome of sends in,
// decisions (wake this host, probe that one) and events out. No sockets and no capture: the role
// (role.ts) opens those, sends what the machine decides and publishes what it says. Time comes
// from the injected clock (each host's Liveness schedules its probes on it), so the whole waker
// runs in virtual time in test/unit/waker/machine.test.ts.
//
// Rules (the pieces are policy.ts and liveness.ts, which say why):
// - Any ARP a watched host sends itself (from its IP, or a probe from 0.0.0.0) is evidence of life.
// - An ARP request for a watched host is a demand if the wake policy says so; a demand wakes the
//   host at once: the cooldown mark is set before `frame` returns, so the next frame of an ARP
//   storm already sees it. Anything else is tallied by verdict (telemetry `ignored_<verdict>`).
// - A request for a host thought awake but not heard from lately makes its next probe urgent.
// - A wake by command wakes even in the cooldown; an unknown host is refused (`wake` returns
//   undefined).
// - A wake counts once its magic packet left by at least one way (`sent`); a send that failed
//   every way is a wake-failed event (`sendFailed`).
import type { Clock } from '../core/clock.ts';
import type { EventData, EventType } from '../../protocol/role-spec.ts';
import type { WakerHost, WakerHostStatus, wakerSpec } from '../../protocol/roles/waker.ts';
import { parseArpFrame, type ArpPacket } from './arp.ts';
import { canonicalMac } from './addr.ts';
import { Liveness, type LivenessChange } from './liveness.ts';
import { WakePolicy, type Verdict } from './policy.ts';

export const DEFAULT_WAKE_TIMEOUT_S = 120;
export const DEFAULT_PROBE = { intervalS: 10, timeoutMs: 1000, misses: 2 };

export type WakeReason = 'arp' | 'command';
type Events = typeof wakerSpec;
type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What the machine asks of the role. */
export interface WakerOutput {
  /** Send one ARP probe for this host now. */
  probe(host: string): void;
  /** An event to publish (and log at `level`). */
  event<K extends EventType<Events>>(type: K, level: LogLevel, message: string, data: EventData<Events, K>): void;
  /** A log line with no event. */
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  /** The hosts' state changed: publish it. */
  changed(): void;
}

export interface WakerRules {
  hosts: readonly WakerHost[];
  deny?: readonly string[];
  /** The waker box's own MACs (its capture interfaces) and whether its own ARP wakes hosts. */
  boxMacs: readonly string[];
  ownArp?: 'ignore' | 'wake';
  probe?: { intervalS?: number; timeoutMs?: number; misses?: number };
}

/** A wake the machine decided on: the role sends the magic packet, then reports `sent` or `sendFailed`. */
export interface WakeOrder {
  host: string;
  reason: WakeReason;
  packet?: ArpPacket;
}

interface Host {
  cfg: WakerHost;
  mac: string;
  liveness: Liveness;
  wakes: number;
  lastWake: { at: number; reason: WakeReason; requester?: string } | null;
}

export class WakerMachine {
  private readonly hosts = new Map<string, Host>();
  private readonly byMac = new Map<string, Host>();
  private readonly policy: WakePolicy;
  private readonly counters = { frames: 0, demands: 0, wakes: 0, sendErrors: 0 };
  private readonly ignored: Partial<Record<Verdict, number>> = {};
  private running = false;

  constructor(
    private readonly clock: Clock,
    rules: WakerRules,
    private readonly out: WakerOutput,
  ) {
    const probe = { ...DEFAULT_PROBE, ...(rules.probe ?? {}) };
    this.policy = new WakePolicy(rules.hosts, rules.deny, { macs: rules.boxMacs, ownArp: rules.ownArp ?? 'ignore' });
    for (const cfg of rules.hosts) {
      const mac = canonicalMac(cfg.mac);
      const h: Host = { cfg, mac, wakes: 0, lastWake: null, liveness: undefined as unknown as Liveness };
      h.liveness = new Liveness(
        clock,
        {
          intervalMs: probe.intervalS * 1000,
          timeoutMs: probe.timeoutMs,
          misses: probe.misses,
          wakeTimeoutMs: (cfg.wakeTimeoutS ?? DEFAULT_WAKE_TIMEOUT_S) * 1000,
        },
        () => this.out.probe(cfg.name),
        (c) => this.onLiveness(h, c),
      );
      this.hosts.set(cfg.name, h);
      this.byMac.set(mac, h);
    }
  }

  get hostNames(): string[] {
    return [...this.hosts.keys()];
  }

  /** Starts probing every host (the first probes go out now). Frames before this are ignored. */
  start(): void {
    this.running = true;
    for (const h of this.hosts.values()) h.liveness.start();
  }

  stop(): void {
    this.running = false;
    for (const h of this.hosts.values()) h.liveness.stop();
  }

  /** One captured frame: evidence of life and the wake policy. Returns the wake it decided on. */
  frame(frame: Buffer): WakeOrder | undefined {
    if (!this.running) return undefined;
    this.counters.frames++;
    const p = parseArpFrame(frame);
    if (!p) return undefined;
    const self = this.byMac.get(p.senderMac);
    if (self && (p.senderIp === self.cfg.ip || p.senderIp === '0.0.0.0')) self.liveness.seen();
    if (this.policy.hostForIp(p.targetIp) === undefined) return undefined;
    const d = this.policy.decide(
      p,
      (name) => {
        const h = this.hosts.get(name)!;
        return { state: h.liveness.state, lastWakeAt: h.liveness.lastWakeAt };
      },
      this.clock.now(),
    );
    if (d.verdict === 'wake') return this.begin(this.hosts.get(d.host!)!, 'arp', p);
    this.ignored[d.verdict] = (this.ignored[d.verdict] ?? 0) + 1;
    if (d.verdict === 'awake') this.hosts.get(d.host!)!.liveness.demandWhileAwake();
    this.out.log('debug', `ARP ${p.senderIp} → ${p.targetIp} not a demand: ${d.verdict}`, { host: d.host, verdict: d.verdict });
    return undefined;
  }

  /** A wake by command (ignores the cooldown); undefined for a host not in the config. */
  wake(name: string): WakeOrder | undefined {
    const h = this.hosts.get(name);
    return h ? this.begin(h, 'command') : undefined;
  }

  /** The magic packet of `order` left by `via` (some other ways may have failed: `errors`). */
  sent(order: WakeOrder, via: string[], errors: string[]): void {
    const h = this.hosts.get(order.host)!;
    const p = order.packet;
    h.wakes++;
    this.counters.wakes++;
    if (errors.length) {
      this.counters.sendErrors++;
      this.out.log('warn', `Waking ${order.host}: some ways failed: ${errors.join('; ')}`, { host: order.host });
    }
    if (!this.running) return;
    this.out.event('wake-sent', 'info', `Magic packet sent to ${order.host} (${h.mac}) via ${via.join(' and ')}`, {
      host: order.host,
      reason: order.reason,
      via,
      ...(p ? { requesterIp: p.senderIp, requesterMac: p.senderMac } : {}),
    });
    this.out.changed();
  }

  /** Every way of sending `order`'s magic packet failed. */
  sendFailed(order: WakeOrder, error: Error): void {
    this.counters.sendErrors++;
    const message = `Could not send the magic packet to ${order.host}: ${error.message}`;
    if (this.running) this.out.event('wake-failed', 'error', message, { host: order.host, reason: order.reason });
    else this.out.log('error', message, { host: order.host });
  }

  stateOf(name: string): WakerHostStatus['state'] | undefined {
    return this.hosts.get(name)?.liveness.state;
  }

  /** Every host's state, times as ISO strings of the wall clock. */
  snapshot(): WakerHostStatus[] {
    const now = this.clock.now();
    const iso = (t: number) => new Date(this.clock.wall() - (now - t)).toISOString();
    return [...this.hosts.values()].map((h) => {
      const seen = h.liveness.lastSeen;
      return {
        name: h.cfg.name,
        ip: h.cfg.ip,
        mac: h.mac,
        state: h.liveness.state,
        since: iso(h.liveness.since),
        seenAgoS: seen === undefined ? null : Math.round((now - seen) / 100) / 10,
        lastSeenAt: seen === undefined ? null : iso(seen),
        wakes: h.wakes,
        lastWake: h.lastWake
          ? { at: iso(h.lastWake.at), reason: h.lastWake.reason, ...(h.lastWake.requester ? { requester: h.lastWake.requester } : {}) }
          : null,
      };
    });
  }

  telemetry(): Record<string, number> {
    const out: Record<string, number> = { ...this.counters };
    for (const [k, v] of Object.entries(this.ignored)) out[`ignored_${k.replace(/-/g, '_')}`] = v ?? 0;
    out.hostsAwake = [...this.hosts.values()].filter((h) => h.liveness.state === 'awake').length;
    return out;
  }

  private begin(h: Host, reason: WakeReason, p?: ArpPacket): WakeOrder {
    const name = h.cfg.name;
    h.lastWake = { at: this.clock.now(), reason, ...(p ? { requester: p.senderIp } : {}) };
    if (p) {
      this.counters.demands++;
      this.out.event('demand', 'debug', `${p.senderIp} (${p.senderMac}) is looking for ${name}`, {
        host: name,
        requesterIp: p.senderIp,
        requesterMac: p.senderMac,
        reason,
      });
    }
    this.out.log('info', `Waking ${name} (${p ? `ARP request from ${p.senderIp}` : 'command'})`, {
      host: name,
      reason,
      ...(p ? { requesterIp: p.senderIp, requesterMac: p.senderMac } : {}),
    });
    h.liveness.wakeSent();
    return { host: name, reason, ...(p ? { packet: p } : {}) };
  }

  private onLiveness(h: Host, c: LivenessChange): void {
    if (!this.running) return;
    const host = h.cfg.name;
    if (c.type === 'state') {
      const why = c.to === 'asleep' && c.from !== 'waking' ? ' (no answer to probes)' : '';
      this.out.event('state', 'info', `${host} is ${c.to}${why}`, { host, from: c.from, to: c.to });
    } else if (c.type === 'woke') {
      this.out.event('woke', 'info', `${host} woke ${(c.wakeMs / 1000).toFixed(1)} s after the wake`, {
        host,
        wakeMs: Math.round(c.wakeMs),
      });
    } else {
      this.out.event('wake-failed', 'warn', `${host} did not wake within ${c.timeoutMs / 1000} s`, { host, timeoutS: c.timeoutMs / 1000 });
    }
    this.out.changed();
  }
}
