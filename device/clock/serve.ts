// Serving house time from a hub: hearth's NTP server on port 123, unless that port is not ours.
// - EADDRINUSE on 123: another NTP server (chrony on a hearth SD image) already serves the house;
//   hearth does not serve a second, different time base beside it.
// - EACCES on 123 (not root, no CAP_NET_BIND_SERVICE): serves on NTP_FALLBACK_PORT instead, and
//   says so: devices then need `clock.port` set to it.
// An explicit port other than 123 is bound as given (0 picks a free one: tests).
import { NTP_FALLBACK_PORT } from '../../protocol/clock.ts';
import type { Clock } from '../core/clock.ts';
import type { UdpStack } from '../hal/udp.ts';
import { ClockServer } from './server.ts';
import type { AnchorPersist } from './anchor-file.ts';

export interface Served {
  server?: ClockServer;
  /** host:port served, or why not. */ where: string;
}

export async function serveHouseTime(o: {
  stack: UdpStack;
  clock: Clock;
  host?: string;
  port?: number;
  /** Keep the timescale across restarts (server.ts, anchor-file.ts). */
  persist?: AnchorPersist;
}): Promise<Served> {
  const host = o.host ?? '0.0.0.0';
  const port = o.port ?? 123;
  const tryPort = async (p: number) => {
    const s = new ClockServer({ stack: o.stack, clock: o.clock, address: host, port: p, ...(o.persist ? { persist: o.persist } : {}) });
    await s.start();
    return s;
  };
  try {
    const s = await tryPort(port);
    return { server: s, where: `${host}:${s.port}` };
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (port !== 123) throw e;
    if (code === 'EADDRINUSE')
      return { where: 'not served: port 123 is taken by another NTP server (chrony?), which is the house reference' };
    if (code === 'EACCES') {
      const s = await tryPort(NTP_FALLBACK_PORT);
      return { server: s, where: `${host}:${s.port} (no right to bind port 123; devices need clock.port ${NTP_FALLBACK_PORT})` };
    }
    throw e;
  }
}
