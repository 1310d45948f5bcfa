// The waker role: ARP demand → magic packet, wake on command, liveness per host. The host states
// and the ARP rules are the WakerMachine (machine.ts); this file opens the edges (a raw capture
// per interface, the UDP socket), sends what the machine decides (probes, magic packets through
// send.ts) and publishes what it says.
import type { RoleOf, RoleDeps } from '../core/role.ts';
import type { ArpCapture } from '../hal/arp-capture.ts';
import type { UdpBroadcast } from '../hal/udp-broadcast.ts';
import { ProtocolError } from '../../protocol/envelope.ts';
import type { WakerHost, WakerState, wakerSpec } from '../../protocol/roles/waker.ts';
import { buildArpProbe } from './arp.ts';
import { directedBroadcast } from './addr.ts';
import { WakerMachine, type WakeOrder, type WakerOutput } from './machine.ts';
import { MagicSender } from './send.ts';
import { openArpCapture, openUdpBroadcast } from '../hal/open.ts';

export { DEFAULT_WAKE_TIMEOUT_S, DEFAULT_PROBE } from './machine.ts';
/** Retained state is refreshed this often even without changes, so "seen N s ago" stays near. */
export const STATE_REFRESH_MS = 60_000;

/** What a host needs on the wire: its magic packet sender and its ARP probe frame. */
interface HostWire {
  sender: MagicSender;
  probe: Buffer;
  capture: ArpCapture;
}

export function createWakerRole(deps: RoleDeps<typeof wakerSpec>): RoleOf<typeof wakerSpec> {
  const { clock, log, link } = deps;
  const cfg = deps.config;
  let stopped = false;
  let started = false;
  const captures = new Map<string, ArpCapture>();
  let udp: UdpBroadcast | undefined;
  const wires = new Map<string, HostWire>();
  let machine: WakerMachine | undefined;
  let refresh: ReturnType<typeof clock.setInterval> | undefined;

  function state(): WakerState {
    return {
      hosts: machine?.snapshot() ?? [],
      interfaces: [...captures.values()].map((c) => ({
        name: c.iface,
        mac: c.mac,
        broadcast: c.ipv4 ? directedBroadcast(c.ipv4.address, c.ipv4.netmask) : null,
      })),
    };
  }

  const publish = () => {
    if (!stopped) link.publishState(state());
  };

  const output: WakerOutput = {
    probe(host) {
      const w = wires.get(host)!;
      try {
        w.capture.send(w.probe);
      } catch (e) {
        log.warn(`probe of ${host} failed: ${(e as Error).message}`, { host });
      }
    },
    event(type, level, message, data) {
      log[level](message, data);
      if (!stopped) link.publishEvent(type, message, data);
    },
    log: (level, message, fields) => log[level](message, fields),
    changed: publish,
  };

  /** Sends the magic packet the machine decided on and tells it how that went. */
  async function send(m: WakerMachine, order: WakeOrder): Promise<string[]> {
    try {
      const { via, errors } = await wires.get(order.host)!.sender.send();
      m.sent(order, via, errors);
      return via;
    } catch (e) {
      m.sendFailed(order, e as Error);
      throw e;
    }
  }

  /** A host's wire: its broadcast address (unless UDP is off), magic packet sender and probe. */
  async function hostWire(hc: WakerHost): Promise<HostWire> {
    const capture = captures.get(hc.interface)!;
    let bcast: string | undefined;
    if (hc.udp !== false) {
      bcast = hc.broadcast ?? (capture.ipv4 ? directedBroadcast(capture.ipv4.address, capture.ipv4.netmask) : undefined);
      if (!bcast)
        throw new Error(
          `host ${hc.name}: interface ${hc.interface} has no IPv4 address, so there is no broadcast address; set "broadcast" or use rawEthernet`,
        );
    }
    const w = { capture, sender: new MagicSender(hc, capture, udp, bcast), probe: buildArpProbe(capture.mac, hc.ip) };
    if (bcast && udp?.prepare) await udp.prepare(bcast, hc.port ?? 9);
    return w;
  }

  async function stop(): Promise<void> {
    stopped = true;
    clock.clearInterval(refresh);
    machine?.stop();
    for (const c of captures.values()) {
      try {
        c.close();
      } catch {
        /* closing anyway */
      }
    }
    captures.clear();
    udp?.close();
    udp = undefined;
  }

  return {
    async start() {
      if (started) return;
      started = true;
      try {
        for (const iface of new Set(cfg.hosts.map((h) => h.interface))) {
          const c = await openArpCapture({ iface, etherTypes: [0x0806] }, deps);
          captures.set(iface, c);
          if (stopped) return;
          // Frames before the machine has started are ignored (it needs the box's own MACs).
          c.onFrame((frame) => {
            if (stopped || !machine) return;
            const order = machine.frame(frame);
            if (order)
              send(machine, order).catch(() => {
                /* reported by the machine */
              });
          });
        }
        if (cfg.hosts.some((h) => h.udp !== false)) udp = await openUdpBroadcast({}, deps);
        if (stopped) return;
        for (const hc of cfg.hosts) {
          wires.set(hc.name, await hostWire(hc));
          if (stopped) return;
        }
      } catch (e) {
        await stop();
        throw e;
      }
      const m = new WakerMachine(clock, { ...cfg, boxMacs: [...captures.values()].map((c) => c.mac) }, output);
      machine = m;
      m.start();
      refresh = clock.setInterval(publish, STATE_REFRESH_MS);
      log.info(`watching ${m.hostNames.length} host(s) on ${[...captures.keys()].join(', ')}`, { hosts: m.hostNames });
      publish();
    },

    async apply() {
      return 'restart';
    },

    stop,

    commands: {
      async status() {
        return state();
      },
      async wake({ host: name }) {
        const order = machine?.wake(name);
        if (!machine || !order) {
          const known = machine?.hostNames ?? [];
          throw new ProtocolError(
            'not-found',
            `no host "${name}" in this waker's config${known.length ? `; configured: ${known.join(', ')}` : ''}`,
            [{ path: '/host', message: 'is not a configured host' }],
          );
        }
        let via: string[];
        try {
          via = await send(machine, order);
        } catch (e) {
          throw new ProtocolError('failed', `could not wake ${name}: ${(e as Error).message}`);
        }
        return { host: name, via, state: machine.stateOf(name)! };
      },
    },

    telemetry() {
      return machine?.telemetry() ?? { frames: 0, demands: 0, wakes: 0, sendErrors: 0, hostsAwake: 0 };
    },
  };
}
