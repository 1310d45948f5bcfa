// Network namespaces for tests that send multicast, broadcast, ARP or Wake-on-LAN traffic: such
// traffic never leaves namespaces the test creates and deletes itself (docs/testing.md).
// Node cannot enter a namespace in-process, so code under test runs in a child process started
// with `ip netns exec`.
// Every namespace gets the image's ephemeral port range (images/rootfs/usr/lib/sysctl.d/
// 60-hearth-ports.conf, 49152–65535; the sysctl is per namespace): with Linux's default
// (32768–60999) a socket bound to port 0 in the namespace (a house-clock client, a sender) could
// take a stream's port (46000+) before its players bind it, and fail the test by chance.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { STREAM_PORT_LIMIT } from '../../protocol/roles/player.ts';

/** The ephemeral port range of every namespace created here (as on the image). */
export const EPHEMERAL_PORTS = [STREAM_PORT_LIMIT, 65535] as const;

let counter = 0;
const live = new Set<string>();

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface Netns {
  readonly name: string;
  /** Runs a command inside the namespace and returns its stdout (throws on non-zero exit). */
  exec(cmd: string, args: string[], opts?: { timeoutMs?: number; input?: string }): string;
  /** Starts a long-running process inside the namespace. */
  spawn(cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  /** Starts `node --import tsx <script> ...args` inside the namespace. */
  node(script: string, args?: string[], opts?: SpawnOptions): ChildProcess;
  delete(): void;
}

/** Creates a namespace with loopback up, multicast routed over loopback and the image's ephemeral port range. */
export function createNetns(prefix = 'hearth'): Netns {
  const name = `${prefix}-${process.pid}-${++counter}`.slice(0, 15);
  ip(['netns', 'add', name]);
  live.add(name);
  ip(['-n', name, 'link', 'set', 'lo', 'up']);
  ip(['-n', name, 'route', 'add', '224.0.0.0/4', 'dev', 'lo', 'src', '127.0.0.1']);
  // /proc/sys/net is the writer's namespace's; written through sh so procps is not needed.
  execFileSync('ip', ['netns', 'exec', name, 'sh', '-c', `echo '${EPHEMERAL_PORTS.join(' ')}' > /proc/sys/net/ipv4/ip_local_port_range`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return {
    name,
    exec(cmd, args, opts = {}) {
      return execFileSync('ip', ['netns', 'exec', name, cmd, ...args], {
        encoding: 'utf8',
        timeout: opts.timeoutMs ?? 30_000,
        input: opts.input,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    },
    spawn(cmd, args, opts = {}) {
      return spawn('ip', ['netns', 'exec', name, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    },
    node(script, args = [], opts = {}) {
      return spawn('ip', ['netns', 'exec', name, process.execPath, '--import', 'tsx', script, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        ...opts,
      });
    },
    delete() {
      if (!live.has(name)) return;
      live.delete(name);
      try {
        execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8' })
          .split(/\s+/)
          .filter(Boolean)
          .forEach((p) => {
            try {
              process.kill(Number(p), 'SIGKILL');
            } catch {
              /* gone */
            }
          });
      } catch {
        /* none */
      }
      try {
        ip(['netns', 'del', name]);
      } catch {
        /* already gone */
      }
    },
  };
}

/**
 * Joins two namespaces with a veth pair ("one wire") and gives each end an address in
 * 10.77.<subnet>.0/24 (host numbers a and b). Returns the interface names and addresses.
 */
export function connect(
  a: Netns,
  b: Netns,
  subnet = 0,
  hostA = 1,
  hostB = 2,
): { ifA: string; ifB: string; addrA: string; addrB: string; broadcast: string } {
  const tag = `${process.pid % 10000}${++counter}`;
  const ifA = `va${tag}`.slice(0, 15),
    ifB = `vb${tag}`.slice(0, 15);
  ip(['link', 'add', ifA, 'netns', a.name, 'type', 'veth', 'peer', 'name', ifB, 'netns', b.name]);
  const addrA = `10.77.${subnet}.${hostA}`,
    addrB = `10.77.${subnet}.${hostB}`;
  ip(['-n', a.name, 'addr', 'add', `${addrA}/24`, 'dev', ifA]);
  ip(['-n', b.name, 'addr', 'add', `${addrB}/24`, 'dev', ifB]);
  ip(['-n', a.name, 'link', 'set', ifA, 'up']);
  ip(['-n', b.name, 'link', 'set', ifB, 'up']);
  return { ifA, ifB, addrA, addrB, broadcast: `10.77.${subnet}.255` };
}

/** Deletes every namespace this process created (call from a test's after-hook and on exit). */
export function deleteAllNetns(): void {
  for (const name of [...live]) {
    live.delete(name);
    try {
      ip(['netns', 'del', name]);
    } catch {
      /* gone */
    }
  }
}
process.on('exit', deleteAllNetns);
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    deleteAllNetns();
    process.exit(130);
  });

/** True when this process may create namespaces (root with iproute2). */
export function canUseNetns(): boolean {
  try {
    const n = createNetns('probe');
    n.delete();
    return true;
  } catch {
    return false;
  }
}
