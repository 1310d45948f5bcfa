// device/hub/limits.ts gateConnection, on an in-memory socket: what the hub writes to a client
// reaches the socket in as few writes as it was corked into (one system call per packet, not
// one per chunk), in order and whole.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Duplex } from 'node:stream';
import { gateConnection, DEFAULT_LIMITS } from '../../../device/hub/limits.ts';

function fakeSocket() {
  const writes: Buffer[] = [];
  const sock = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      writes.push(Buffer.from(chunk));
      setImmediate(cb);
    },
  });
  return { sock, writes };
}

test('a corked packet (header, topic, payload) goes to the socket as one write', async () => {
  const { sock, writes } = fakeSocket();
  const gate = gateConnection(sock, { limits: DEFAULT_LIMITS, onRefuse: () => {} });
  gate.cork();
  gate.write(Buffer.from([0x30, 9]));
  gate.write(Buffer.from([0, 3, 0x61, 0x2f, 0x62]));
  gate.write(Buffer.from('hey'));
  process.nextTick(() => gate.uncork());
  await new Promise((r) => setTimeout(r, 20));
  assert.is(writes.length, 1);
  assert.equal(writes[0], Buffer.concat([Buffer.from([0x30, 9, 0, 3, 0x61, 0x2f, 0x62]), Buffer.from('hey')]));
});

test('writes made while one is in flight are joined, in order, nothing lost', async () => {
  const { sock, writes } = fakeSocket();
  const gate = gateConnection(sock, { limits: DEFAULT_LIMITS, onRefuse: () => {} });
  const parts = Array.from({ length: 50 }, (_, i) => Buffer.from(`part${i};`));
  for (const p of parts) gate.write(p);
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(writes.length < parts.length, `${writes.length} writes for ${parts.length} chunks`);
  assert.is(Buffer.concat(writes).toString(), Buffer.concat(parts).toString());
});

test.run();
