// The devices of the demo house and the simulated hardware each one gets. A device is included
// only when every role it needs is built into this runtime.
//
// All of the demo's traffic stays on this machine: the source sends on 127.0.0.1 (multicast on
// loopback needs no route when both ends name the interface, so no root either), TTL 1; the
// waker's LAN is a simulated wire; the tuner's lines are simulated GPIO.
import type { HalOverrides } from '../core/hal-overrides.ts';
import { RealClock } from '../core/clock.ts';
import { SimGpio } from '../hal/gpio.sim.ts';
import type { SimDac } from '../hal/audio-out.sim.ts';
import { DeviceClock } from '../house/device-clock.ts';
import { roomDac } from '../house/room-dac.ts';
import { At7000 } from '../tuner/at7000.ts';
import { DemoLan, NAS, WAKER_NIC } from '../house/lan.ts';
import type { Login } from '../hub/credentials.ts';
import { NTP_FALLBACK_PORT } from '../../protocol/clock.ts';

export interface HouseDevice {
  id: string;
  name: string;
  /** The device's own clocks (OS wall offset, crystal rate), as a real Pi's differ. */
  clock: DeviceClock;
  roles: Record<string, unknown>;
  grants?: Login['grants'];
  hal?: () => HalOverrides;
  /** `hearth …` commands worth trying against this device (printed at start). */
  hints?: string[];
}

/** What the house keeps of the simulated hardware: the rooms' DACs (for the true sync figure), the LAN, the tuner. */
export interface HouseSim {
  /** True time: the process's shared monotonic clock, which the DACs play on. */
  trueClock: RealClock;
  dacs: Map<string, SimDac>;
  lan?: DemoLan;
  tuner?: At7000;
  stop(): void;
}

/**
 * Rooms, each on a simulated DAC whose crystal is off by a different amount (`ppm`, against true
 * time), on a Pi whose OS clock is off by `clock.offsetMs` and whose crystal by `clock.ppm`: the
 * house clock must bring them together, or they are tens of milliseconds apart.
 */
export const ROOMS = [
  { id: 'kitchen', name: 'Kitchen', ppm: 38, clock: { offsetMs: 40, ppm: 17 } },
  { id: 'lounge', name: 'Lounge', ppm: -52, clock: { offsetMs: -25, ppm: -33 } },
  { id: 'study', name: 'Study', ppm: 95, clock: { offsetMs: 7, ppm: 48 } },
];

/** The other devices' clocks: every Pi of a house is off by its own amount. */
export const DEVICE_CLOCKS: Record<string, { offsetMs: number; ppm: number }> = {
  box: { offsetMs: -3, ppm: 11 },
  living: { offsetMs: 13, ppm: -21 },
  hall: { offsetMs: 120, ppm: 5 },
  shack: { offsetMs: -90, ppm: -9 },
};

export const DEMO_STREAM_RATE = 48_000;
/**
 * The demo's playout latency and DAC FIFO. Seven devices share one event loop here, which a loaded
 * machine stalls for 100 ms and more at times: with 20 ms of FIFO the DACs ran dry dozens of times
 * a minute and the rooms were over 1 ms apart up to a fifth of the time; with 100 ms, none in a
 * minute at load 6. The latency leaves the same 100 ms for the source's packets to arrive.
 */
export const DEMO_LATENCY_MS = 200;
export const DEMO_DAC_BUFFER_MS = 100;

/** One room played out loud: its player writes to this ALSA device (the speaker sink) instead of a simulated DAC. */
export interface LoudRoom {
  room: string;
  device: string;
}

export function houseDevices(o: {
  url: string;
  host: string;
  port: number;
  wsPort: number;
  credentialsFile: string;
  available: string[];
  musicFile: string;
  loud?: LoudRoom;
}): { devices: HouseDevice[]; sim: HouseSim } {
  // True time: the process's monotonic clock. Simulated hardware that stands for a thing outside
  // any Pi (the DACs' crystals) runs on it; each device runs on its own DeviceClock over it.
  const trueClock = new RealClock();
  const clockOf = (id: string) => new DeviceClock(trueClock, DEVICE_CLOCKS[id] ?? ROOMS.find((r) => r.id === id)!.clock);
  const hall = clockOf('hall'),
    shack = clockOf('shack');
  const sim: HouseSim = {
    trueClock,
    dacs: new Map(),
    stop() {
      sim.lan?.stop();
      sim.tuner?.stop();
    },
  };
  const loopback = '127.0.0.1';
  const all: HouseDevice[] = [
    {
      id: 'box',
      name: 'Always-on box',
      clock: clockOf('box'),
      // House time on the documented unprivileged port, so the demo runs as any user and beside
      // a real NTP server on 123; every demo device's clock.port points at it.
      roles: {
        hub: { host: o.host, port: o.port, wsPort: o.wsPort, credentialsFile: o.credentialsFile, ntp: { port: NTP_FALLBACK_PORT } },
      },
    },
    {
      // The living room's TV box: a synthesised music loop and a 440 Hz tone, on loopback.
      id: 'living',
      name: 'Living room TV',
      clock: clockOf('living'),
      roles: {
        source: {
          streams: [
            {
              id: 'music',
              name: 'Living room music',
              input: { kind: 'file', path: o.musicFile },
              group: '239.255.77.1',
              port: 46000,
              interface: loopback,
            },
            {
              id: 'tone',
              name: 'Test tone 440 Hz',
              input: { kind: 'tone', frequency: 440, amplitude: 0.3 },
              group: '239.255.77.2',
              port: 46002,
              interface: loopback,
            },
          ],
        },
      },
      hints: ['cmd living source disable \'{"stream":"tone"}\''],
    },
    ...ROOMS.map((r): HouseDevice =>
      o.loud?.room === r.id
        ? {
            // Out loud: the real output path (speaker in its child process, on ALSA), so this room is
            // not measured at a simulated DAC; its sync is what the player reports.
            id: r.id,
            name: r.name,
            clock: clockOf(r.id),
            roles: {
              player: {
                stream: 'living/music',
                interface: loopback,
                latencyMs: DEMO_LATENCY_MS,
                output: { kind: 'speaker', device: o.loud.device },
              },
            },
          }
        : {
            id: r.id,
            name: r.name,
            clock: clockOf(r.id),
            roles: {
              player: {
                stream: 'living/music',
                interface: loopback,
                latencyMs: DEMO_LATENCY_MS,
                output: { kind: 'sim', bufferMs: DEMO_DAC_BUFFER_MS },
              },
            },
            hal: () => ({
              audioOut: (out, d) => {
                const { sink, dac } = roomDac(
                  { device: out.device ?? 'default', bufferMs: out.bufferMs, clock: d.clock, log: d.log },
                  trueClock,
                  r.ppm,
                );
                sim.dacs.set(r.id, dac);
                return sink;
              },
            }),
            hints:
              r.id === 'kitchen'
                ? ['cmd kitchen player subscribe \'{"stream":"living/tone"}\'', 'cmd kitchen player volume \'{"gain":0.5}\'']
                : [],
          },
    ),
    {
      // The hall Pi watches the LAN for someone wanting the NAS (a laptop ARPs for it every
      // 90 s); the NAS sleeps after 2 minutes without demand.
      id: 'hall',
      name: 'Hall',
      clock: hall,
      roles: { waker: { hosts: [{ ...NAS, cooldownS: 10, wakeTimeoutS: 30 }], probe: { intervalS: 5, timeoutMs: 500 } } },
      hal: () => {
        sim.lan ??= new DemoLan({ clock: hall });
        return {
          arpCapture: sim.lan.wire.factory(WAKER_NIC.mac, { address: WAKER_NIC.address, netmask: WAKER_NIC.netmask }),
          udpBroadcast: () => sim.lan!.udp,
        };
      },
      hints: ['cmd hall waker wake \'{"host":"nas"}\''],
    },
    {
      // A Pi beside the radio: START on GPIO 17, KEY on GPIO 27, the button on GPIO 22; a
      // scripted AT-7000 sits on the other end of the simulated wires (a full tune takes 4 s).
      id: 'shack',
      name: 'Radio shack',
      clock: shack,
      roles: { tuner: { gpio: { adapter: 'sim' }, start: { line: 17 }, key: { line: 27 }, button: { line: 22, mode: 'pass-through' } } },
      hal: () => {
        const gpio = new SimGpio({ clock: shack });
        sim.tuner = new At7000({ clock: shack, gpio, start: { line: 17 }, key: { line: 27 }, tuneMs: { memory: 900, full: 4000 } });
        return { gpio: () => gpio };
      },
      hints: ['cmd shack tuner tune \'{"mode":"memory"}\''],
    },
  ];
  return { devices: all.filter((d) => Object.keys(d.roles).every((r) => o.available.includes(r))), sim };
}
