// waker: the always-on Wake-on-LAN node. Watches ARP on the LAN; an ARP request for a sleeping
// watched host (from a requester that is not excluded) sends it a magic packet. Also wakes on
// command and publishes which hosts are awake (timer-driven ARP probes plus ARP seen from them).
import { Type, Obj, Id, Ipv4, Mac, type Static } from '../kit.ts';
import { defineRole, type HaContext } from '../role-spec.ts';
import { slug, listItemOnTemplate } from '../ha.ts';
import type { ErrorDetail } from '../envelope.ts';
import { ipToInt, parseMac, parseSecureOn } from './waker-addr.ts';
import { RequesterList } from './waker-requesters.ts';

/** A requester matcher: an IPv4 address, an IPv4 CIDR block, or a MAC address. */
export const Requester = Type.String({
  pattern:
    '^(((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(/(3[0-2]|[12]?\\d))?|[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5})$',
  description: 'requester: IPv4 address (10.0.0.1), CIDR block (10.0.0.0/24) or MAC (aa:bb:cc:dd:ee:ff)',
});

/** SecureOn password: 6 hex bytes (aa:bb:cc:dd:ee:ff) or 4 bytes (hex a1:b2:c3:d4 or dotted 192.168.1.1). */
export const SecureOn = Type.String({
  pattern:
    '^([0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){3}|((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d))$',
  description:
    'secret: SecureOn password appended to the magic packet, 6 bytes (aa:bb:cc:dd:ee:ff) or 4 bytes (a1:b2:c3:d4 or 1.2.3.4); redacted when the config is published',
});

export const WakerHost = Obj(
  {
    name: Id('host name, used in commands, state and log lines'),
    ip: Ipv4("the host's IPv4 address (what requesters ARP for)"),
    mac: Mac("the host's MAC address (the magic packet carries it)"),
    interface: Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,15}$', description: "network interface on the host's LAN, e.g. eth0" }),
    secureOn: Type.Optional(SecureOn),
    port: Type.Optional(
      Type.Union([Type.Literal(9), Type.Literal(7)], { description: 'UDP port of the broadcast magic packet (default 9)' }),
    ),
    udp: Type.Optional(Type.Boolean({ description: 'send the magic packet as a UDP broadcast (default true)' })),
    rawEthernet: Type.Optional(
      Type.Boolean({ description: 'also send it as a raw Ethernet frame, EtherType 0x0842, as etherwake does (default false)' }),
    ),
    broadcast: Type.Optional(Ipv4("UDP destination (default: the interface's directed broadcast address)")),
    cooldownS: Type.Optional(
      Type.Number({ minimum: 0, maximum: 86_400, description: 'after a wake, demands for this host are ignored this long (default 30 s)' }),
    ),
    wakeTimeoutS: Type.Optional(
      Type.Number({
        minimum: 1,
        maximum: 3600,
        description: 'a wake that does not bring the host up within this time is reported as failed (default 120 s)',
      }),
    ),
    allow: Type.Optional(Type.Array(Requester, { maxItems: 256, description: 'if given, only these requesters may wake the host by ARP' })),
    deny: Type.Optional(
      Type.Array(Requester, {
        maxItems: 256,
        description: 'requesters that never wake the host by ARP (e.g. a router that scans); wins over allow',
      }),
    ),
  },
  { description: 'one watched host' },
);
export type WakerHost = Static<typeof WakerHost>;

export const WakerProbe = Obj(
  {
    intervalS: Type.Optional(
      Type.Number({ minimum: 0.1, maximum: 3600, description: 'time between liveness probes of each host (default 10 s)' }),
    ),
    timeoutMs: Type.Optional(
      Type.Integer({ minimum: 20, maximum: 10_000, description: 'a probe unanswered this long is a miss (default 1000 ms)' }),
    ),
    misses: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 20, description: 'consecutive misses before an awake host is called asleep (default 2)' }),
    ),
  },
  { description: 'liveness probes: ARP probes (sender 0.0.0.0) sent on a timer' },
);
export type WakerProbe = Static<typeof WakerProbe>;

export const WakerConfig = Obj(
  {
    hosts: Type.Array(WakerHost, { maxItems: 64, description: 'the watched hosts (names and IPs unique)' }),
    deny: Type.Optional(Type.Array(Requester, { maxItems: 256, description: 'requesters that never wake any host by ARP' })),
    ownArp: Type.Optional(
      Type.Union([Type.Literal('ignore'), Type.Literal('wake')], {
        description:
          'ARP requests the waker box itself sends (from its capture interfaces): ignore (default: its kernel re-resolves neighbours by itself, so they are not a person reaching the host; software on the box can use the wake command) or wake (anything on the box that reaches for a host wakes it)',
      }),
    ),
    probe: Type.Optional(WakerProbe),
  },
  { description: 'Wake-on-LAN node: ARP demand, wake on command, liveness' },
);
export type WakerConfig = Static<typeof WakerConfig>;

export const HostState = Type.Union(
  ['unknown', 'awake', 'asleep', 'waking'].map((s) => Type.Literal(s)),
  {
    description: 'unknown (not yet probed), awake (answered recently), asleep (missed probes or failed wake), waking (magic sent, waiting)',
  },
);
export type HostState = Static<typeof HostState>;

export const WakerHostStatus = Obj({
  name: Type.String(),
  ip: Type.String(),
  mac: Type.String(),
  state: HostState,
  since: Type.String({ description: 'ISO time the host entered this state' }),
  seenAgoS: Type.Union([Type.Number(), Type.Null()], { description: 'seconds since the host was last seen alive (null: never)' }),
  lastSeenAt: Type.Union([Type.String(), Type.Null()], { description: 'ISO time it was last seen alive (null: never)' }),
  wakes: Type.Integer({ description: 'magic packets sent since start' }),
  lastWake: Type.Union([
    Obj({ at: Type.String(), reason: Type.Union([Type.Literal('arp'), Type.Literal('command')]), requester: Type.Optional(Type.String()) }),
    Type.Null(),
  ]),
});
export type WakerHostStatus = Static<typeof WakerHostStatus>;

export const WakerState = Obj({
  hosts: Type.Array(WakerHostStatus),
  interfaces: Type.Array(Obj({ name: Type.String(), mac: Type.String(), broadcast: Type.Union([Type.String(), Type.Null()]) })),
});
export type WakerState = Static<typeof WakerState>;

export const WakerEventType = Type.Union(['demand', 'wake-sent', 'woke', 'wake-failed', 'state'].map((s) => Type.Literal(s)));
export type WakerEventType = Static<typeof WakerEventType>;

const RequesterFields = {
  requesterIp: Type.Optional(Type.String({ description: 'who ARPed for the host' })),
  requesterMac: Type.Optional(Type.String()),
};
const WakeReason = Type.Union([Type.Literal('arp'), Type.Literal('command')]);

/** The `data` of hearth/<id>/event/waker, per event type. */
export const WakerEvents = {
  demand: Obj(
    { host: Type.String(), requesterIp: Type.String(), requesterMac: Type.String(), reason: WakeReason },
    { description: 'an ARP request asked for a sleeping host' },
  ),
  'wake-sent': Obj(
    {
      host: Type.String(),
      reason: WakeReason,
      ...RequesterFields,
      via: Type.Array(Type.String(), { description: '"udp <addr>:<port>" and/or "ethernet 0x0842 <iface>"' }),
    },
    { description: 'a magic packet went out' },
  ),
  woke: Obj(
    { host: Type.String(), wakeMs: Type.Number({ description: 'milliseconds from the wake to the first sign of life' }) },
    { description: 'a host woke after a wake' },
  ),
  'wake-failed': Obj(
    {
      host: Type.String(),
      reason: Type.Optional(WakeReason),
      timeoutS: Type.Optional(Type.Number({ description: 'the timeout that passed (no sign of life)' })),
    },
    { description: 'the packet could not be sent, or the host did not wake in time' },
  ),
  state: Obj({ host: Type.String(), from: HostState, to: HostState }, { description: 'a host changed state' }),
};

/**
 * The parts of a waker config a JSON schema cannot check: unique host names and IPs, and that every
 * MAC/IP/password/requester really parses (paths relative to the slice).
 */
export function checkWakerConfig(c: WakerConfig): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  const names = new Map<string, number>();
  const ips = new Map<string, number>();
  c.hosts.forEach((h, i) => {
    const at = `/hosts/${i}`;
    if (names.has(h.name)) details.push({ path: `${at}/name`, message: `duplicates host ${names.get(h.name)} ("${h.name}")` });
    else names.set(h.name, i);
    if (ips.has(h.ip)) details.push({ path: `${at}/ip`, message: `duplicates the IP of host ${ips.get(h.ip)} (${h.ip})` });
    else ips.set(h.ip, i);
    const tryParse = (path: string, fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        details.push({ path, message: (e as Error).message });
      }
    };
    tryParse(`${at}/ip`, () => ipToInt(h.ip));
    tryParse(`${at}/mac`, () => {
      const m = parseMac(h.mac);
      if (m.every((b) => b === 0) || m.every((b) => b === 0xff)) throw new Error('must be a host MAC, not all zeros or broadcast');
      if (m[0]! & 1) throw new Error('is a multicast MAC; a NIC never has one');
    });
    if (h.secureOn !== undefined) tryParse(`${at}/secureOn`, () => parseSecureOn(h.secureOn!));
    if (h.udp === false && !h.rawEthernet)
      details.push({ path: `${at}/udp`, message: 'with udp false, rawEthernet must be true (no way to send the magic packet)' });
    if (h.allow) tryParse(`${at}/allow`, () => new RequesterList(h.allow));
    if (h.deny) tryParse(`${at}/deny`, () => new RequesterList(h.deny));
  });
  if (c.deny) {
    try {
      new RequesterList(c.deny);
    } catch (e) {
      details.push({ path: '/deny', message: (e as Error).message });
    }
  }
  return details;
}

export const wakerSpec = defineRole({
  name: 'waker',
  description: 'Wake-on-LAN node: wakes a sleeping host when someone ARPs for it, wakes on command, and reports which hosts are awake.',
  config: WakerConfig,
  check: checkWakerConfig,
  commands: {
    wake: {
      description: 'sends the magic packet to a configured host now (ignores cooldown); refused for hosts not in the config',
      args: Obj({ host: Id('host name from the config') }),
      result: Obj({ host: Type.String(), via: Type.Array(Type.String()), state: HostState }),
    },
    status: {
      description: 'returns the state of every watched host',
      args: Obj({}),
      result: WakerState,
    },
  },
  state: WakerState,
  events: WakerEvents,
  // Per configured host: whether it is awake, and a button that wakes it.
  homeassistant: (ha: HaContext<{ hosts?: Array<{ name: string }> } | undefined>) =>
    (ha.config?.hosts ?? []).flatMap((h) => [
      {
        key: `awake_${slug(h.name)}`,
        component: {
          p: 'binary_sensor',
          name: `${h.name} awake`,
          device_class: 'power',
          state_topic: ha.stateTopic,
          value_template: listItemOnTemplate('hosts', 'name', h.name, "s[0].state == 'awake'"),
        },
      },
      {
        key: `wake_${slug(h.name)}`,
        component: { p: 'button', name: `Wake ${h.name}`, icon: 'mdi:power', command_topic: ha.haCommandTopic(`wake_${slug(h.name)}`) },
        command: () => [{ role: 'waker', action: 'wake', args: { host: h.name } }],
      },
    ]),
});
