// The real UDP stack against the contract suite, inside a network namespace (multicast stays in it).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { createNetns } from '../../helpers/netns.ts';

test('the real UDP stack passes the contract suite', async () => {
  const ns = createNetns('hudp');
  try {
    const child = ns.node(fileURLToPath(new URL('./udp-real.run.ts', import.meta.url)));
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      out += '\n[killed after 60 s]';
      child.kill('SIGKILL');
    }, 60_000);
    const [code] = await new Promise<[number | null]>((r) => child.once('close', (c) => r([c])));
    clearTimeout(timer);
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
