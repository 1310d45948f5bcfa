// The devices of the demo house and the simulated hardware each one gets. A device is included
// only when every role it needs is built into this runtime.
import type { HalOverrides } from '../core/hal-overrides.ts';
import { RealClock } from '../core/clock.ts';
import { SimGpio } from '../hal/gpio.sim.ts';
import { At7000 } from '../tuner/at7000.ts';
import type { Login } from '../hub/credentials.ts';

export interface HouseDevice {
  id: string;
  name: string;
  roles: Record<string, unknown>;
  grants?: Login['grants'];
  hal?: () => HalOverrides;
  /** `hearth …` commands worth trying against this device (printed at start). */
  hints?: string[];
}

export function houseDevices(o: { url: string; host: string; port: number; wsPort: number; credentialsFile: string; available: string[] }): HouseDevice[] {
  const all: HouseDevice[] = [
    {
      id: 'box', name: 'Always-on box',
      roles: { hub: { host: o.host, port: o.port, wsPort: o.wsPort, credentialsFile: o.credentialsFile } },
    },
    {
      // A Pi beside the radio: START on GPIO 17, KEY on GPIO 27, the button on GPIO 22; a
      // scripted AT-7000 sits on the other end of the simulated wires.
      id: 'shack', name: 'Radio shack',
      roles: { tuner: { gpio: { adapter: 'sim' }, start: { line: 17 }, key: { line: 27 }, button: { line: 22, mode: 'pass-through' } } },
      hal: () => {
        const clock = new RealClock();
        const gpio = new SimGpio({ clock });
        new At7000({ clock, gpio, start: { line: 17 }, key: { line: 27 } });
        return { gpio: () => gpio };
      },
      hints: ['cmd shack tuner tune \'{"mode":"memory"}\''],
    },
  ];
  return all.filter((d) => Object.keys(d.roles).every((r) => o.available.includes(r)));
}
