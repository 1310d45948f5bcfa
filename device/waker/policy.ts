// The wake policy: is this ARP packet a demand to wake one of our hosts? Pure: a packet, the
// host's liveness state and its last wake time in, a decision with a reason out.
//
// A demand is an ARP *request* for a watched host's IP, while the host is not known to be awake
// (asleep, or waking and past the cooldown, so a lost magic packet is retried), from a requester
// that is not excluded. Never a demand: replies; probes (sender 0.0.0.0, RFC 5227, which is also
// what our own liveness probes are); gratuitous ARP (sender IP = target IP); the host's own ARP;
// ARP the waker box sends itself from its capture interfaces, unless `ownArp` is 'wake' (its
// kernel re-resolves neighbours on its own, e.g. before a ping, a probe or a stale entry's
// refresh; software on the box that should wake a host can use the wake command);
// deny-listed requesters (global or per host; deny wins); requesters missing from a non-empty
// allow list; anything while the host is awake or not yet probed; anything within the cooldown
// after a wake.
import { ARP_REQUEST, isGratuitous, isProbe, type ArpPacket } from './arp.ts';
import { canonicalMac } from './addr.ts';
import { RequesterList } from './requesters.ts';
import type { HostState } from '../../protocol/roles/waker.ts';

export interface PolicyHostConfig {
  name: string;
  ip: string;
  mac: string;
  cooldownS?: number;
  allow?: readonly string[];
  deny?: readonly string[];
}

export type Verdict =
  | 'wake'
  | 'not-request'
  | 'not-watched'
  | 'probe'
  | 'gratuitous'
  | 'own'
  | 'waker-box'
  | 'denied'
  | 'not-allowed'
  | 'awake'
  | 'unknown'
  | 'cooldown';

export interface Decision {
  verdict: Verdict;
  /** The watched host the packet asks for (absent for 'not-request' and 'not-watched'). */
  host?: string;
}

export const DEFAULT_COOLDOWN_S = 30;

interface CompiledHost {
  name: string;
  mac: string;
  cooldownMs: number;
  allow: RequesterList;
  deny: RequesterList;
}

export class WakePolicy {
  private readonly byIp = new Map<string, CompiledHost>();
  private readonly globalDeny: RequesterList;
  private readonly boxMacs: Set<string>;

  /** `box`: the waker box's own MACs (its capture interfaces) and whether its own ARP wakes hosts. */
  constructor(
    hosts: readonly PolicyHostConfig[],
    globalDeny: readonly string[] = [],
    private readonly box: { macs: readonly string[]; ownArp: 'ignore' | 'wake' } = { macs: [], ownArp: 'ignore' },
  ) {
    this.globalDeny = new RequesterList(globalDeny);
    this.boxMacs = new Set(box.macs.map((m) => canonicalMac(m)));
    for (const h of hosts) {
      this.byIp.set(h.ip, {
        name: h.name,
        mac: canonicalMac(h.mac),
        cooldownMs: (h.cooldownS ?? DEFAULT_COOLDOWN_S) * 1000,
        allow: new RequesterList(h.allow),
        deny: new RequesterList(h.deny),
      });
    }
  }

  /** The watched host for an IP, if any (cheap: one map lookup per captured packet). */
  hostForIp(ip: string): string | undefined {
    return this.byIp.get(ip)?.name;
  }

  /**
   * Decides on one packet. `state` and `lastWakeAt` (monotonic ms, undefined if never woken)
   * describe the target host; only asked for when the packet targets a watched host.
   */
  decide(p: ArpPacket, look: (host: string) => { state: HostState; lastWakeAt: number | undefined }, now: number): Decision {
    if (p.op !== ARP_REQUEST) return { verdict: 'not-request' };
    const h = this.byIp.get(p.targetIp);
    if (!h) return { verdict: 'not-watched' };
    const host = h.name;
    if (isProbe(p)) return { verdict: 'probe', host };
    if (isGratuitous(p)) return { verdict: 'gratuitous', host };
    if (p.senderMac === h.mac || p.ethSrc === h.mac) return { verdict: 'own', host };
    if (this.box.ownArp !== 'wake' && (this.boxMacs.has(p.ethSrc) || this.boxMacs.has(p.senderMac))) return { verdict: 'waker-box', host };
    if (this.globalDeny.matches(p.senderIp, p.senderMac) || h.deny.matches(p.senderIp, p.senderMac)) return { verdict: 'denied', host };
    if (h.allow.size > 0 && !h.allow.matches(p.senderIp, p.senderMac)) return { verdict: 'not-allowed', host };
    const { state, lastWakeAt } = look(host);
    if (state === 'awake') return { verdict: 'awake', host };
    if (state === 'unknown') return { verdict: 'unknown', host };
    if (lastWakeAt !== undefined && now - lastWakeAt < h.cooldownMs) return { verdict: 'cooldown', host };
    return { verdict: 'wake', host };
  }
}
