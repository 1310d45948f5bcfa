// The devices of the demo house and the simulated hardware each one gets. A device is included
// only when every role it needs is built into this runtime.
import type { HalOverrides } from '../hal/overrides.ts';
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
  ];
  return all.filter((d) => Object.keys(d.roles).every((r) => o.available.includes(r)));
}
