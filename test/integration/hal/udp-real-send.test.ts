// The real UDP stack hands a datagram to the kernel inside send(): the house clock reads t1 (and
// hearth's server t3) just before send(), so everything node:dgram defers past that read is a
// constant error in the exchange. With dgram's default lookup (dns.lookup) even an IPv4 literal
// waited for the next tick: the receiver's queue was still empty when send() returned.
// Unicast on loopback only (no namespace needed).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { RealClock } from '../../../device/core/clock.ts';
import { RealUdpStack } from '../../../device/hal/udp.real.ts';

/** Bytes queued on the UDP socket bound to 127.0.0.1:port, read from /proc/net/udp (synchronously). */
function rxQueue(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const row = readFileSync('/proc/net/udp', 'utf8')
    .split('\n')
    .find((l) => l.trim().split(/\s+/)[1] === `0100007F:${hex}`);
  if (!row) throw new Error(`no UDP socket on 127.0.0.1:${port} in /proc/net/udp`);
  return parseInt(row.trim().split(/\s+/)[4]!.split(':')[1]!, 16);
}

test('send() to an IPv4 literal has queued the datagram at the receiver when it returns', async () => {
  const stack = new RealUdpStack(new RealClock());
  const rx = await stack.open({ address: '127.0.0.1' });
  const tx = await stack.open({ address: '127.0.0.1' });
  try {
    // The receiver's handler would drain the queue, but it cannot run before this function awaits.
    const got: number[] = [];
    rx.onMessage((m) => got.push(m.data.length));
    assert.is(rxQueue(rx.port), 0);
    tx.send(Buffer.alloc(48), rx.port, '127.0.0.1');
    assert.ok(rxQueue(rx.port) > 0, "the datagram is in the receiver's queue before send() returns to the caller");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(got, [48]);
  } finally {
    await rx.close();
    await tx.close();
  }
});

test.run();
