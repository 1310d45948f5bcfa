// The runtime's own "any port" UDP sockets stay out of the stream ports on a machine whose kernel
// would hand them out: in a namespace whose ephemeral range is narrowed to one stream's two ports
// (46120–46121, where Linux's default 32768–60999 puts any of them by chance), the real UDP
// stack's port-0 sockets (the house-clock client's) and the waker's broadcast sockets still get
// ports of 49152–65535 (device/hal/dynamic-port.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { createNetns } from '../../helpers/netns.ts';
import { STREAM_PORT_LIMIT } from '../../../protocol/roles/player.ts';

test("the real stack's port-0 sockets and the broadcast sockets take ports of 49152–65535, not the kernel's", async () => {
  const ns = createNetns('hdyn');
  try {
    ns.exec('sh', ['-c', "echo '46120 46121' > /proc/sys/net/ipv4/ip_local_port_range"]);
    const child = ns.node(fileURLToPath(new URL('./dynamic-port.run.ts', import.meta.url)));
    let out = '',
      err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
    clearTimeout(timer);
    assert.is(code, 0, err);
    assert.ok(out, err);
    const { stack, broadcast } = JSON.parse(out) as { stack: Array<number | string>; broadcast: number | string };
    assert.is(stack.length, 20);
    for (const p of [...stack, broadcast]) assert.ok(typeof p === 'number' && p >= STREAM_PORT_LIMIT && p <= 65535, `port ${p} (${out})`);
    assert.is(new Set(stack).size, 20, 'distinct ports');
  } finally {
    ns.delete();
  }
});

test.run();
