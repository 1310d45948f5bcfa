// `log.level` of the config is what `hearth run` logs at, from the start and after a config/set
// changes it; `--log-level` on the command line wins over the config.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAedes, type TestBroker } from '../../helpers/broker.ts';
import { connectController, type Controller } from '../../helpers/controller.ts';
import { topics } from '../../../protocol/index.ts';

const root = new URL('../../../', import.meta.url).pathname;
const t = topics('hearth');
let broker: TestBroker;
let ctl: Controller;
const dirs: string[] = [];
const children: ChildProcess[] = [];

test.before(async () => {
  broker = await startAedes();
  ctl = await connectController(broker.url);
});
test.after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await ctl?.close();
  await broker?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function run(
  id: string,
  level: string,
  extraArgs: string[] = [],
): { out: () => Array<{ level: string; msg: string }>; child: ChildProcess } {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-loglevel-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ v: 2, id, mqtt: { url: broker.url }, log: { level }, roles: {} }));
  const env = { ...process.env };
  delete env.HEARTH_LOG_LEVEL;
  delete env.JOURNAL_STREAM;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'device/cli/main.ts', 'run', '--config', join(dir, 'config.json'), ...extraArgs],
    { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  return {
    child,
    out: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          try {
            return JSON.parse(l);
          } catch {
            return { level: '?', msg: l };
          }
        }),
  };
}

test("hearth run logs at the config's level, and a config/set changes it live", async () => {
  const d = run('quiet', 'warn');
  await ctl.waitFor(t.status('quiet'), (p) => p === 'online', 15_000);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(
    d.out().filter((l) => l.level === 'info' || l.level === 'debug'),
    [],
    'no info line at level warn',
  );
  const r = await ctl.configSet('quiet', { patch: { log: { level: 'info' } } });
  assert.ok(r.ok, JSON.stringify(r));
  const t0 = Date.now();
  while (!d.out().some((l) => l.level === 'info' && /applied config revision/.test(l.msg)) && Date.now() - t0 < 5000)
    await new Promise((r2) => setTimeout(r2, 50));
  assert.ok(
    d.out().some((l) => l.level === 'info' && /applied config revision/.test(l.msg)),
    JSON.stringify(d.out()),
  );
  d.child.kill('SIGTERM');
});

test('--log-level on the command line wins over the config', async () => {
  const d = run('loud', 'error', ['--log-level', 'info']);
  await ctl.waitFor(t.status('loud'), (p) => p === 'online', 15_000);
  const t0 = Date.now();
  while (!d.out().some((l) => /running as loud/.test(l.msg)) && Date.now() - t0 < 5000) await new Promise((r2) => setTimeout(r2, 50));
  assert.ok(
    d.out().some((l) => l.level === 'info' && /running as loud/.test(l.msg)),
    JSON.stringify(d.out()),
  );
  d.child.kill('SIGTERM');
});

test.run();
