// Parent side of test/helpers/udp-tap.ts.
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import type { Netns } from './netns.ts';
import { tree } from './proc-stats.ts';

const TAP = fileURLToPath(new URL('./udp-tap.ts', import.meta.url));

export interface Dgram {
  group: string;
  port: number;
  from: string;
  data: Buffer;
  wallMs: number;
}

export interface UdpTap {
  got: Dgram[];
  listen(group: string, port: number): Promise<void>;
  send(data: Uint8Array, group: string, port: number): void;
  waitFor(pred: (d: Dgram) => boolean, timeoutMs?: number): Promise<Dgram>;
  close(): void;
}

/**
 * `realtime`: the tap runs under SCHED_RR 10, as the players it watches (audio-hosts.ts): the
 * arrival times it stamps then judge the sender, not the tap's own wait for a CPU.
 */
export async function startUdpTap(ns: Netns, o: { realtime?: boolean } = {}): Promise<UdpTap> {
  const proc = ns.node(TAP, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
  const got: Dgram[] = [];
  const waiters = new Set<() => void>();
  const listening = new Map<string, () => void>();
  proc.on('message', (m: any) => {
    if (m.t === 'dgram') {
      got.push({ ...m, data: Buffer.from(m.data) });
      for (const w of [...waiters]) w();
    } else if (m.t === 'listening') listening.get(`${m.group}:${m.port}`)?.();
  });
  await new Promise<void>((resolve, reject) => {
    proc.once('message', () => resolve());
    proc.once('exit', (c) => reject(new Error(`udp tap exited ${c}`)));
  });
  if (o.realtime) for (const pid of tree(proc.pid!)) execFileSync('chrt', ['-a', '-r', '-p', '10', String(pid)], { stdio: 'ignore' });
  return {
    got,
    listen: (group, port) =>
      new Promise((resolve) => {
        listening.set(`${group}:${port}`, resolve);
        proc.send({ t: 'listen', group, port });
      }),
    send: (data, group, port) => proc.send({ t: 'send', data, group, port }),
    waitFor(pred, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const d = got.find(pred);
          if (d) {
            waiters.delete(check);
            clearTimeout(t);
            resolve(d);
          }
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          reject(new Error('timed out waiting for a datagram'));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => {
      try {
        proc.kill('SIGKILL');
      } catch {
        /* gone */
      }
    },
  };
}
