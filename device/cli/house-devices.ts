// The devices of the demo house and the simulated hardware each one gets. A device is included
// only when every role it needs is built into this runtime.
//
// All of the demo's traffic stays on this machine: the source sends on 127.0.0.1 (multicast on
// loopback needs no route when both ends name the interface, so no root either), TTL 1; the
// waker's LAN is a simulated wire; the tuner's lines are simulated GPIO.
import type { HalOverrides } from '../core/hal-overrides.ts';
import { RealClock } from '../core/clock.ts';
import { SimGpio } from '../hal/gpio.sim.ts';
import { createSimDac, type SimDac } from '../hal/audio-out.sim.ts';
import { At7000 } from '../tuner/at7000.ts';
import { DemoLan, NAS, WAKER_NIC } from '../house/lan.ts';
import type { Login } from '../hub/credentials.ts';
import { NTP_FALLBACK_PORT } from '../../protocol/clock.ts';

export interface HouseDevice {
  id: string;
  name: string;
  roles: Record<string, unknown>;
  grants?: Login['grants'];
  hal?: () => HalOverrides;
  /** `hearth …` commands worth trying against this device (printed at start). */
  hints?: string[];
}

/** What the house keeps of the simulated hardware: the rooms' DACs (for the true sync figure), the LAN, the tuner. */
export interface HouseSim {
  dacs: Map<string, SimDac>;
  lan?: DemoLan;
  tuner?: At7000;
  stop(): void;
}

/** Rooms, each on a simulated DAC whose crystal is off by a different amount (ppm). */
export const ROOMS = [
  { id: 'kitchen', name: 'Kitchen', ppm: 38 },
  { id: 'lounge', name: 'Lounge', ppm: -52 },
  { id: 'study', name: 'Study', ppm: 95 },
];

export const DEMO_STREAM_RATE = 48_000;

export function houseDevices(o: { url: string; host: string; port: number; wsPort: number; credentialsFile: string; available: string[]; musicFile: string }): { devices: HouseDevice[]; sim: HouseSim } {
  const clock = new RealClock();
  const sim: HouseSim = {
    dacs: new Map(),
    stop() { sim.lan?.stop(); sim.tuner?.stop(); },
  };
  const loopback = '127.0.0.1';
  const all: HouseDevice[] = [
    {
      id: 'box', name: 'Always-on box',
      // House time on the documented unprivileged port, so the demo runs as any user and beside
      // a real NTP server on 123; every demo device's clock.port points at it.
      roles: { hub: { host: o.host, port: o.port, wsPort: o.wsPort, credentialsFile: o.credentialsFile, ntp: { port: NTP_FALLBACK_PORT } } },
    },
    {
      // The living room's TV box: a synthesised music loop and a 440 Hz tone, on loopback.
      id: 'living', name: 'Living room TV',
      roles: {
        source: {
          streams: [
            { id: 'music', name: 'Living room music', input: { kind: 'file', path: o.musicFile }, group: '239.255.77.1', port: 46000, interface: loopback },
            { id: 'tone', name: 'Test tone 440 Hz', input: { kind: 'tone', frequency: 440, amplitude: 0.3 }, group: '239.255.77.2', port: 46002, interface: loopback },
          ],
        },
      },
      hints: ['cmd living source disable \'{"stream":"tone"}\''],
    },
    ...ROOMS.map((r): HouseDevice => ({
      id: r.id, name: r.name,
      roles: { player: { stream: 'living/music', interface: loopback, latencyMs: 150, output: { kind: 'sim' } } },
      hal: () => ({
        audioOut: (out, d) => {
          const dac = createSimDac({ device: out.device ?? 'default', bufferMs: out.bufferMs, clock: d.clock, log: d.log, ppm: r.ppm });
          sim.dacs.set(r.id, dac);
          return dac;
        },
      }),
      hints: r.id === 'kitchen' ? ['cmd kitchen player subscribe \'{"stream":"living/tone"}\'', 'cmd kitchen player volume \'{"gain":0.5}\''] : [],
    })),
    {
      // The hall Pi watches the LAN for someone wanting the NAS (a laptop ARPs for it every
      // 90 s); the NAS sleeps after 2 minutes without demand.
      id: 'hall', name: 'Hall',
      roles: { waker: { hosts: [{ ...NAS, cooldownS: 10, wakeTimeoutS: 30 }], probe: { intervalS: 5, timeoutMs: 500 } } },
      hal: () => {
        sim.lan ??= new DemoLan({ clock });
        return { arpCapture: sim.lan.wire.factory(WAKER_NIC.mac, { address: WAKER_NIC.address, netmask: WAKER_NIC.netmask }), udpBroadcast: () => sim.lan!.udp };
      },
      hints: ['cmd hall waker wake \'{"host":"nas"}\''],
    },
    {
      // A Pi beside the radio: START on GPIO 17, KEY on GPIO 27, the button on GPIO 22; a
      // scripted AT-7000 sits on the other end of the simulated wires (a full tune takes 4 s).
      id: 'shack', name: 'Radio shack',
      roles: { tuner: { gpio: { adapter: 'sim' }, start: { line: 17 }, key: { line: 27 }, button: { line: 22, mode: 'pass-through' } } },
      hal: () => {
        const gpio = new SimGpio({ clock });
        sim.tuner = new At7000({ clock, gpio, start: { line: 17 }, key: { line: 27 }, tuneMs: { memory: 900, full: 4000 } });
        return { gpio: () => gpio };
      },
      hints: ['cmd shack tuner tune \'{"mode":"memory"}\''],
    },
  ];
  return { devices: all.filter((d) => Object.keys(d.roles).every((r) => o.available.includes(r))), sim };
}
