// "Any free port" for the runtime's own UDP sockets (the house-clock client, the NTP server's
// port 0, the waker's broadcast sockets, the source's sending socket), chosen here from IANA's
// dynamic range (49152–65535) instead of by the kernel. Why: Linux's default ephemeral range
// (32768–60999) holds the stream ports (46000…, below STREAM_PORT_LIMIT), and a socket of ours
// that the kernel hands a stream's port for the runtime's whole life (the clock client's) makes
// every player of that stream on the host fail to bind it, a retry never helping. On hearth's
// image the kernel's range already is 49152–65535 (images/rootfs/usr/lib/sysctl.d); this keeps
// the runtime itself out of the stream ports on any Linux machine. Rules:
// - A random port of the range is tried; a port in use (EADDRINUSE) tries another, up to `tries`
//   times, then the kernel's choice (port 0) is taken rather than failing.
// - Any other error is the caller's (thrown at once).
import { STREAM_PORT_LIMIT } from '../../protocol/roles/player.ts';

export const DYNAMIC_PORTS = [STREAM_PORT_LIMIT, 65535] as const;

/** Opens with a port of DYNAMIC_PORTS (`open` must bind it, and reject with the bind error). */
export async function openOnDynamicPort<T>(open: (port: number) => Promise<T>, random: () => number = Math.random, tries = 16): Promise<T> {
  const [lo, hi] = DYNAMIC_PORTS;
  for (let i = 0; i < tries; i++) {
    const port = lo + Math.floor(random() * (hi - lo + 1));
    try {
      return await open(port);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    }
  }
  return open(0);
}
