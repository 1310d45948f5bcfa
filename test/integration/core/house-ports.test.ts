// `hearth house` refuses to run without its ports: a taken MQTT or console port is reported and
// the command exits with code 2 (it used to print "running" and loop without a broker).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../helpers/broker.ts';

const root = new URL('../../../', import.meta.url).pathname;

async function occupy(port: number): Promise<Server> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(port, '127.0.0.1', () => r()));
  return s;
}

for (const which of ['MQTT', 'console'] as const) {
  test(`a taken ${which} port: a clear message and exit code 2, nothing started`, async () => {
    const mqtt = await freePort(),
      ws = await freePort();
    const taken = await occupy(which === 'MQTT' ? mqtt : ws);
    const dir = mkdtempSync(join(tmpdir(), 'hearth-house-ports-'));
    try {
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'device/cli/main.ts', 'house', '--state-dir', join(dir, 'h'), '--port', String(mqtt), '--ws-port', String(ws)],
        { cwd: root, encoding: 'utf8', timeout: 60_000 },
      );
      assert.is(r.status, 2, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`the ${which} port 127\\.0\\.0\\.1:${which === 'MQTT' ? mqtt : ws} is taken`));
      assert.not.match(r.stdout, /is running/);
      assert.not.ok(existsSync(join(dir, 'h')), 'no state written');
    } finally {
      taken.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
