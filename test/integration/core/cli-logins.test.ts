// CLI logins (issue 12): `hearth hub add-device ID --credentials FILE` and `remove-device` write
// the file given (they wrote /var/lib/hearth/credentials.json: the parent `hub` took the option),
// and `hearth provision` with a device's login explains the refusal instead of printing only
// "Identifier rejected". The real CLI, as a process, against the embedded hub.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAedes } from '../../helpers/broker.ts';

const root = new URL('../../../', import.meta.url).pathname;
const cli = (args: string[]) =>
  new Promise<{ code: number; text: string }>((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join(root, 'device/cli/main.ts'), ...args], { cwd: root }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, text: stdout + stderr }),
    );
  });

test('add-device and remove-device honour --credentials written after the subcommand', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-cli-'));
  try {
    const file = join(dir, 'creds.json');
    const add = await cli(['hub', 'add-device', 'porch', '--credentials', file]);
    assert.is(add.code, 0, add.text);
    assert.ok(existsSync(file), add.text);
    assert.ok('porch' in JSON.parse(readFileSync(file, 'utf8')).logins);
    assert.match(add.text, file);
    const ctl = await cli(['hub', 'add-device', 'cli', '--controller', '--credentials', file]);
    assert.is(JSON.parse(readFileSync(file, 'utf8')).logins.cli.rights, 'controller', ctl.text);
    const rm = await cli(['hub', 'remove-device', 'porch', '--credentials', file]);
    assert.is(rm.code, 0, rm.text);
    assert.not.ok('porch' in JSON.parse(readFileSync(file, 'utf8')).logins);
    const again = await cli(['hub', 'remove-device', 'porch', '--credentials', file]);
    assert.is.not(again.code, 0);
    assert.match(again.text, `there is no login porch in ${file}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("provision with a device's login says why it is refused", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-cli-'));
  const file = join(dir, 'creds.json');
  const add = await cli(['hub', 'add-device', 'kitchen', '--credentials', file]);
  const pw = /password: (\S+)/.exec(add.text)![1]!;
  const broker = await startAedes({ credentialsFile: file });
  try {
    const cfg = join(dir, 'patch.json');
    writeFileSync(cfg, '{"name":"x"}');
    const r = await cli([
      'provision',
      'kitchen',
      '--patch',
      '--config',
      cfg,
      '--broker',
      broker.url,
      '--user',
      'kitchen',
      '--password',
      pw,
      '--timeout',
      '3',
    ]);
    assert.is.not(r.code, 0);
    assert.match(r.text, /Identifier rejected/i);
    assert.match(r.text, /device rights/);
    assert.match(r.text, /--controller/);
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
