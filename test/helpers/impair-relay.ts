// An impairment relay inside a namespace: hears RTP (port) and RTCP (port + 1) on group `from`,
// and re-sends them to group `to` after a seeded random delay (uniform in 0..jitterMs, so packets
// reorder when jitter exceeds the packet interval) and drops `lossPct` % of RTP packets — the same
// impaired stream for every player listening to `to`. Deterministic for a given seed and packet
// order. Usage (in the namespace):
//   node --import tsx impair-relay.ts <fromGroup> <toGroup> <port> <jitterMs> <lossPct> <seed>
// Prints "ready" on stdout when joined, and on SIGTERM one JSON line {relayed, dropped}.
import dgram from 'node:dgram';

const [from, to, portS, jitterS, lossS, seedS] = process.argv.slice(2);
const port = Number(portS),
  jitterMs = Number(jitterS),
  lossPct = Number(lossS);
let seed = Number(seedS) >>> 0 || 1;
/** xorshift32: small, seeded, good enough for delays and drops. */
function rnd(): number {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 0x100000000;
}

let relayed = 0,
  dropped = 0;
const out = dgram.createSocket({ type: 'udp4', reuseAddr: true });
let joined = 0;
out.bind(0, '127.0.0.1', () => {
  out.setMulticastTTL(1);
  out.setMulticastLoopback(true);
  out.setMulticastInterface('127.0.0.1');
  for (const p of [port, port + 1]) {
    const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    s.on('message', (data) => {
      if (p === port && rnd() * 100 < lossPct) {
        dropped++;
        return;
      }
      const delay = rnd() * jitterMs;
      setTimeout(() => {
        out.send(data, p, to!);
        relayed++;
      }, delay);
    });
    s.bind({ port: p, address: from, exclusive: false }, () => {
      s.addMembership(from!, '127.0.0.1');
      if (++joined === 2) process.stdout.write('ready\n');
    });
  }
});
process.on('SIGTERM', () => {
  process.stdout.write(JSON.stringify({ relayed, dropped }) + '\n');
  process.exit(0);
});
