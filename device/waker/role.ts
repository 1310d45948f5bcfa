// The waker role: ARP demand → magic packet, wake on command, liveness per host. Wiring only:
// parsing (arp.ts), the decision (policy.ts), liveness (liveness.ts) and sending (send.ts) are
// the pure parts; the raw capture and the UDP socket are HAL edges.
import type { RoleOf, RoleDeps } from '../core/role.ts';
import type { ArpCapture } from '../hal/arp-capture.ts';
import type { UdpBroadcast } from '../hal/udp-broadcast.ts';
import { ProtocolError } from '../../protocol/envelope.ts';
import type { WakerHost, WakerHostStatus, WakerState, wakerSpec } from '../../protocol/roles/waker.ts';
import { buildArpProbe, parseArpFrame, type ArpPacket } from './arp.ts';
import { canonicalMac, directedBroadcast } from './addr.ts';
import { Liveness, type LivenessChange } from './liveness.ts';
import { WakePolicy, type Verdict } from './policy.ts';
import { MagicSender } from './send.ts';

export const DEFAULT_WAKE_TIMEOUT_S = 120;
export const DEFAULT_PROBE = { intervalS: 10, timeoutMs: 1000, misses: 2 };
/** Retained state is refreshed this often even without changes, so "seen N s ago" stays near. */
export const STATE_REFRESH_MS = 60_000;

interface HostRt {
  cfg: WakerHost;
  mac: string;
  liveness: Liveness;
  sender: MagicSender;
  wakes: number;
  lastWake: { at: number; reason: 'arp' | 'command'; requester?: string } | null;
}

export function createWakerRole(deps: RoleDeps<typeof wakerSpec>): RoleOf<typeof wakerSpec> {
  const { clock, log, link, hal } = deps;
  const cfg = deps.config;
  let stopped = false;
  let started = false;
  let ready = false;
  const captures = new Map<string, ArpCapture>();
  let udp: UdpBroadcast | undefined;
  const hosts = new Map<string, HostRt>();
  const byMac = new Map<string, HostRt>();
  let policy: WakePolicy;
  let refresh: ReturnType<typeof clock.setInterval> | undefined;
  const counters: Record<string, number> = { frames: 0, demands: 0, wakes: 0, sendErrors: 0 };
  const ignored: Partial<Record<Verdict, number>> = {};

  const iso = (t: number) => new Date(clock.wall() - (clock.now() - t)).toISOString();

  function hostStatus(h: HostRt): WakerHostStatus {
    const seen = h.liveness.lastSeen;
    return {
      name: h.cfg.name,
      ip: h.cfg.ip,
      mac: h.mac,
      state: h.liveness.state,
      since: iso(h.liveness.since),
      seenAgoS: seen === undefined ? null : Math.round((clock.now() - seen) / 100) / 10,
      lastSeenAt: seen === undefined ? null : iso(seen),
      wakes: h.wakes,
      lastWake: h.lastWake ? { at: iso(h.lastWake.at), reason: h.lastWake.reason, ...(h.lastWake.requester ? { requester: h.lastWake.requester } : {}) } : null,
    };
  }

  function state(): WakerState {
    return {
      hosts: [...hosts.values()].map(hostStatus),
      interfaces: [...captures.values()].map((c) => ({ name: c.iface, mac: c.mac, broadcast: c.ipv4 ? directedBroadcast(c.ipv4.address, c.ipv4.netmask) : null })),
    };
  }

  const publish = () => { if (!stopped) link.publishState(state()); };

  function onLiveness(h: HostRt, c: LivenessChange): void {
    if (stopped) return;
    const name = h.cfg.name;
    if (c.type === 'state') {
      const why = c.to === 'asleep' && c.from !== 'waking' ? ' (no answer to probes)' : '';
      const msg = `${name} is ${c.to}${why}`;
      log.info(msg, { host: name, from: c.from, to: c.to });
      link.publishEvent('state', msg, { host: name, from: c.from, to: c.to });
    } else if (c.type === 'woke') {
      const msg = `${name} woke ${(c.wakeMs / 1000).toFixed(1)} s after the wake`;
      log.info(msg, { host: name, wakeMs: Math.round(c.wakeMs) });
      link.publishEvent('woke', msg, { host: name, wakeMs: Math.round(c.wakeMs) });
    } else {
      const msg = `${name} did not wake within ${c.timeoutMs / 1000} s`;
      log.warn(msg, { host: name });
      link.publishEvent('wake-failed', msg, { host: name, timeoutS: c.timeoutMs / 1000 });
    }
    publish();
  }

  async function wake(h: HostRt, reason: 'arp' | 'command', p?: ArpPacket): Promise<string[]> {
    const name = h.cfg.name;
    // Everything up to the first await runs inside one frame handler, so the cooldown mark
    // (wakeSent) is in place before the next captured frame is looked at.
    const sending = h.sender.send();
    h.lastWake = { at: clock.now(), reason, ...(p ? { requester: p.senderIp } : {}) };
    const why = p ? `ARP request from ${p.senderIp}` : 'command';
    if (p) {
      counters.demands!++;
      link.publishEvent('demand', `${p.senderIp} (${p.senderMac}) is looking for ${name}`, {
        host: name, requesterIp: p.senderIp, requesterMac: p.senderMac, reason,
      });
    }
    log.info(`Waking ${name} (${why})`, { host: name, reason, ...(p ? { requesterIp: p.senderIp, requesterMac: p.senderMac } : {}) });
    h.liveness.wakeSent();
    try {
      const { via, errors } = await sending;
      h.wakes++;
      counters.wakes!++;
      if (errors.length) { counters.sendErrors!++; log.warn(`Waking ${name}: some ways failed: ${errors.join('; ')}`, { host: name }); }
      if (!stopped) {
        link.publishEvent('wake-sent', `Magic packet sent to ${name} (${h.mac}) via ${via.join(' and ')}`, {
          host: name, reason, via, ...(p ? { requesterIp: p.senderIp, requesterMac: p.senderMac } : {}),
        });
        publish();
      }
      return via;
    } catch (e) {
      counters.sendErrors!++;
      const msg = `Could not send the magic packet to ${name}: ${(e as Error).message}`;
      log.error(msg, { host: name });
      if (!stopped) link.publishEvent('wake-failed', msg, { host: name, reason });
      throw e;
    }
  }

  function onFrame(frame: Buffer): void {
    if (stopped || !ready) return;
    counters.frames!++;
    const p = parseArpFrame(frame);
    if (!p) return;
    // Evidence of life: any ARP the host sends itself (replies to our probes included).
    const self = byMac.get(p.senderMac);
    if (self && (p.senderIp === self.cfg.ip || p.senderIp === '0.0.0.0')) self.liveness.seen();
    if (policy.hostForIp(p.targetIp) === undefined) return;
    const d = policy.decide(p, (name) => {
      const h = hosts.get(name)!;
      return { state: h.liveness.state, lastWakeAt: h.liveness.lastWakeAt };
    }, clock.now());
    if (d.verdict === 'wake') {
      wake(hosts.get(d.host!)!, 'arp', p).catch(() => { /* reported in wake() */ });
      return;
    }
    ignored[d.verdict] = (ignored[d.verdict] ?? 0) + 1;
    if (d.verdict === 'awake') hosts.get(d.host!)!.liveness.demandWhileAwake();
    log.debug(`ARP ${p.senderIp} → ${p.targetIp} not a demand: ${d.verdict}`, { host: d.host, verdict: d.verdict });
  }

  async function openCapture(iface: string): Promise<ArpCapture> {
    if (hal.arpCapture) return hal.arpCapture({ iface, etherTypes: [0x0806] });
    const { openRealArpCapture } = await import('../hal/arp-capture.real.ts');
    return openRealArpCapture({ iface, etherTypes: [0x0806] });
  }

  async function openUdp(): Promise<UdpBroadcast> {
    if (hal.udpBroadcast) return hal.udpBroadcast();
    const { openRealUdpBroadcast } = await import('../hal/udp-broadcast.real.ts');
    return openRealUdpBroadcast();
  }

  async function stop(): Promise<void> {
    stopped = true;
    clock.clearInterval(refresh);
    for (const h of hosts.values()) h.liveness.stop();
    for (const c of captures.values()) { try { c.close(); } catch { /* closing anyway */ } }
    captures.clear();
    udp?.close();
    udp = undefined;
  }

  return {
    async start() {
      if (started) return;
      started = true;
      const probe = { ...DEFAULT_PROBE, ...(cfg.probe ?? {}) };
      policy = new WakePolicy(cfg.hosts, cfg.deny);
      try {
        for (const iface of new Set(cfg.hosts.map((h) => h.interface))) {
          const c = await openCapture(iface);
          captures.set(iface, c);
          if (stopped) return;
          c.onFrame(onFrame);
        }
        // The box's own MACs are known once its interfaces are open (frames wait for `ready`).
        policy = new WakePolicy(cfg.hosts, cfg.deny, { macs: [...captures.values()].map((c) => c.mac), ownArp: cfg.ownArp ?? 'ignore' });
        if (cfg.hosts.some((h) => h.udp !== false)) udp = await openUdp();
        if (stopped) return;
        for (const hc of cfg.hosts) {
          const cap = captures.get(hc.interface)!;
          let bcast: string | undefined;
          if (hc.udp !== false) {
            bcast = hc.broadcast ?? (cap.ipv4 ? directedBroadcast(cap.ipv4.address, cap.ipv4.netmask) : undefined);
            if (!bcast) throw new Error(`host ${hc.name}: interface ${hc.interface} has no IPv4 address, so there is no broadcast address; set "broadcast" or use rawEthernet`);
          }
          const mac = canonicalMac(hc.mac);
          const probeFrame = buildArpProbe(cap.mac, hc.ip);
          const h: HostRt = {
            cfg: hc, mac, wakes: 0, lastWake: null,
            sender: new MagicSender(hc, cap, udp, bcast),
            liveness: undefined as unknown as Liveness,
          };
          h.liveness = new Liveness(
            clock,
            { intervalMs: probe.intervalS * 1000, timeoutMs: probe.timeoutMs, misses: probe.misses, wakeTimeoutMs: (hc.wakeTimeoutS ?? DEFAULT_WAKE_TIMEOUT_S) * 1000 },
            () => { try { cap.send(probeFrame); } catch (e) { log.warn(`probe of ${hc.name} failed: ${(e as Error).message}`, { host: hc.name }); } },
            (c) => onLiveness(h, c),
          );
          hosts.set(hc.name, h);
          byMac.set(mac, h);
          if (bcast && udp?.prepare) await udp.prepare(bcast, hc.port ?? 9);
          if (stopped) return;
        }
      } catch (e) {
        await stop();
        throw e;
      }
      ready = true;
      for (const h of hosts.values()) h.liveness.start();
      refresh = clock.setInterval(publish, STATE_REFRESH_MS);
      log.info(`watching ${hosts.size} host(s) on ${[...captures.keys()].join(', ')}`, { hosts: [...hosts.keys()] });
      publish();
    },

    async apply(next) {
      return 'restart';
    },

    stop,

    commands: {
      async status() { return state(); },
      async wake({ host: name }) {
        const h = hosts.get(name);
        if (!h) {
          const known = [...hosts.keys()];
          throw new ProtocolError('not-found', `no host "${name}" in this waker's config${known.length ? `; configured: ${known.join(', ')}` : ''}`, [{ path: '/host', message: 'is not a configured host' }]);
        }
        let via: string[];
        try { via = await wake(h, 'command'); }
        catch (e) { throw new ProtocolError('failed', `could not wake ${name}: ${(e as Error).message}`); }
        return { host: name, via, state: h.liveness.state };
      },
    },

    telemetry() {
      const out: Record<string, number> = { ...counters };
      for (const [k, v] of Object.entries(ignored)) out[`ignored_${k.replace(/-/g, '_')}`] = v ?? 0;
      out.hostsAwake = [...hosts.values()].filter((h) => h.liveness.state === 'awake').length;
      return out;
    },
  };
}
