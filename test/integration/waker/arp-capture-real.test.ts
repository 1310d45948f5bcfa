// The libpcap adapter against the ArpCapture contract, on a veth pair inside a namespace
// (Node cannot enter a namespace in-process, so the suite runs in a child there).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createNetns } from '../../helpers/netns.ts';

test('the real adapter passes the contract suite', async () => {
  const ns = createNetns('wcap');
  try {
    execFileSync('ip', ['-n', ns.name, 'link', 'add', 'cap0', 'type', 'veth', 'peer', 'name', 'cap1']);
    execFileSync('ip', ['-n', ns.name, 'link', 'set', 'cap0', 'up']);
    execFileSync('ip', ['-n', ns.name, 'link', 'set', 'cap1', 'up']);
    const child = ns.node(fileURLToPath(new URL('./arp-capture-real.run.ts', import.meta.url)), ['cap0', 'cap1']);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      out += '\n[killed after 60 s]';
      child.kill('SIGKILL');
    }, 60_000);
    const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.once('close', (c, sg) => r([c, sg]))); // 'close': stdio drained too ('exit' can come first)
    clearTimeout(timer);
    out += `\n[child exit code ${code}, signal ${signal}]`;
    const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? 0);
    const passed = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? -1);
    assert.ok(total >= 5, `the suite ran (${total} tests)\n${out}`);
    assert.is(passed, total, out);
    assert.is(code, 0, out);
  } finally {
    ns.delete();
  }
});

test.run();
