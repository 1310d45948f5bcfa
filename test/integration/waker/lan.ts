// A small LAN in network namespaces for the waker: a switch (a bridge in its own namespace)
// and three hosts on it, each on its own veth "cable": the waker, a client, and a sleeping
// host. Nothing here touches the machine's own interfaces (docs/testing.md, network rule).
import { execFileSync } from 'node:child_process';
import { createNetns, type Netns } from '../../helpers/netns.ts';

export const SUBNET = '10.78.0';

export interface LanHost {
  ns: Netns;
  iface: string;
  ip: string;
  mac: string;
}
export interface Lan {
  sw: Netns;
  waker: LanHost;
  client: LanHost;
  sleeper: LanHost;
  /** Takes the sleeper's address away (it stops answering ARP: "asleep"). */
  sleep(): void;
  /** Gives the address back ("awake"). */
  wake(): void;
  hasAddress(): boolean;
  delete(): void;
}

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

let n = 0;
function plug(sw: Netns, ns: Netns, host: number, mac: string): LanHost {
  const tag = `${process.pid % 1000}${++n}`;
  const iface = `wk${tag}`,
    swIf = `sw${tag}`;
  ip(['link', 'add', iface, 'netns', ns.name, 'address', mac, 'type', 'veth', 'peer', 'name', swIf, 'netns', sw.name]);
  ip(['-n', sw.name, 'link', 'set', swIf, 'master', 'br0']);
  ip(['-n', sw.name, 'link', 'set', swIf, 'up']);
  const addr = `${SUBNET}.${host}`;
  ip(['-n', ns.name, 'addr', 'add', `${addr}/24`, 'dev', iface]);
  ip(['-n', ns.name, 'link', 'set', iface, 'up']);
  return { ns, iface, ip: addr, mac };
}

export function createLan(): Lan {
  const made: Netns[] = [];
  try {
    const sw = createNetns('wsw');
    made.push(sw);
    ip(['-n', sw.name, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    ip(['-n', sw.name, 'link', 'set', 'br0', 'up']);
    const w = createNetns('wwk');
    made.push(w);
    const c = createNetns('wcl');
    made.push(c);
    const s = createNetns('wsl');
    made.push(s);
    const waker = plug(sw, w, 2, '02:77:00:00:00:02');
    const client = plug(sw, c, 58, '02:77:00:00:00:58');
    const sleeper = plug(sw, s, 20, '02:77:00:00:00:20');
    const lan: Lan = {
      sw,
      waker,
      client,
      sleeper,
      sleep() {
        if (lan.hasAddress()) ip(['-n', s.name, 'addr', 'del', `${sleeper.ip}/24`, 'dev', sleeper.iface]);
      },
      wake() {
        if (!lan.hasAddress()) ip(['-n', s.name, 'addr', 'add', `${sleeper.ip}/24`, 'dev', sleeper.iface]);
      },
      hasAddress: () => ip(['-n', s.name, '-4', 'addr', 'show', 'dev', sleeper.iface]).includes(sleeper.ip + '/'),
      delete() {
        for (const x of made.reverse()) x.delete();
      },
    };
    return lan;
  } catch (e) {
    for (const x of made.reverse()) x.delete();
    throw e;
  }
}
