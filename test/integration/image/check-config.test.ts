// `hearth check-config` on a card's hearth.json: every error of the file in one run, the device
// config's included; a good file is named valid. Runs the real CLI.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const main = new URL('../../../device/cli/main.ts', import.meta.url).pathname;
const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { encoding: 'utf8' });

test('check-config on hearth.json: all errors at once, then valid', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-check-'));
  try {
    const f = join(dir, 'hearth.json');
    writeFileSync(
      f,
      JSON.stringify({
        v: 2,
        hostname: 'bad name',
        config: { v: 2, id: 'k', mqtt: { url: 'ftp://x' }, roles: { player: { latencyMs: 1 } } },
        ssh: { authorizedKeys: ['nope'] },
        wifi: { ssid: 'Home', country: 'Germany' },
      }),
    );
    const bad = cli('check-config', f);
    assert.is.not(bad.status, 0);
    for (const p of [
      '/hostname',
      '/ssh/authorizedKeys/0',
      '/wifi/country',
      '/wifi/psk',
      '/config/mqtt/url',
      '/config/roles/player/latencyMs',
    ]) {
      assert.ok(bad.stderr.includes(`${p}:`), `${p} in:\n${bad.stderr}`);
    }
    writeFileSync(
      f,
      JSON.stringify({
        v: 2,
        config: { v: 2, id: 'k', mqtt: { url: 'mqtt://hub.local:1883' }, roles: {} },
        wifi: { ssid: 'Home', psk: 'long enough', country: 'DE' },
      }),
    );
    const good = cli('check-config', f);
    assert.is(good.status, 0, good.stderr);
    assert.match(good.stdout, /valid hearth\.json for device k \(roles: none, Wi-Fi "Home"\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
