// firstboot against a temporary root: what it writes, what it leaves on the FAT, and that an
// invalid file changes nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, rmSync, statSync, readlinkSync, linkSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { runFirstboot, wpaSupplicantConf, hostsFile, FirstbootError, type LiveSystem } from '../../../device/image/firstboot.ts';
import { memoryLogger } from '../../../device/core/log.ts';
import { readConfigFile } from '../../../device/core/config-store.ts';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKc5m9pH3vQ0vU8m0jvJc3e9D9a0XqvI9y8c0bPpY0dK alice@laptop';
const file = () => ({
  v: 2,
  hostname: 'kitchen',
  config: { v: 2, id: 'kitchen', mqtt: { url: 'mqtt://hub.local:1883', username: 'kitchen', password: 's3cret-broker' }, roles: {} },
  ssh: { authorizedKeys: [KEY] },
  wifi: { ssid: 'IEEE', psk: 'password', country: 'DE' },
});

function setup(content: unknown) {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-firstboot-'));
  const root = join(dir, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'boot/firmware'), { recursive: true });
  const uid = process.getuid!();
  const gid = process.getgid!();
  writeFileSync(
    join(root, 'etc/passwd'),
    `root:x:0:0:root:/root:/bin/sh\nhearth:x:${uid}:${gid}:hearth runtime:/var/lib/hearth:/usr/sbin/nologin\n`,
  );
  writeFileSync(join(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n127.0.1.1\thearth\n::1\t\tlocalhost ip6-localhost\n');
  const fat = join(root, 'boot/firmware/hearth.json');
  writeFileSync(fat, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  const calls: string[] = [];
  const live: LiveSystem = {
    setHostname: async (n) => {
      calls.push(`hostname ${n}`);
    },
    startUnit: async (u) => {
      calls.push(`start ${u}`);
    },
    syncFs: async (p) => {
      calls.push(`sync ${p.slice(p.lastIndexOf('/') + 1)}`);
    },
    wipeFreeSpace: async (p, secrets) => {
      calls.push(`wipe ${p.slice(p.lastIndexOf('/') + 1)} ${secrets.join('|')}`);
      return 'recorded';
    },
  };
  const stateDir = join(root, 'var/lib/hearth');
  return { dir, root, fat, stateDir, calls, live, log: memoryLogger(), wall: () => Date.UTC(2026, 0, 2, 3, 4, 5) };
}

test('imports config, SSH key, Wi-Fi and host name, then scrubs the FAT copy', async () => {
  const s = setup(file());
  try {
    const r = await runFirstboot({ file: s.fat, stateDir: s.stateDir, root: s.root, live: s.live, log: s.log, wall: s.wall });
    assert.equal(r, { outcome: 'imported', revision: 1, id: 'kitchen', hostname: 'kitchen', sshKeys: 1, wifi: true });

    const stored = await readConfigFile(join(s.stateDir, 'config.json'));
    assert.is(stored?.revision, 1);
    assert.is(stored?.config.mqtt.password, 's3cret-broker', 'the device keeps its real secret');
    assert.is(statSync(join(s.stateDir, 'config.json')).mode & 0o777, 0o600);

    const keys = readFileSync(join(s.root, 'root/.ssh/authorized_keys'), 'utf8');
    assert.ok(keys.includes(KEY));
    assert.is(statSync(join(s.root, 'root/.ssh')).mode & 0o777, 0o700);
    assert.is(statSync(join(s.root, 'root/.ssh/authorized_keys')).mode & 0o777, 0o600);

    const wpa = readFileSync(join(s.root, 'etc/wpa_supplicant/wpa_supplicant-wlan0.conf'), 'utf8');
    // IEEE 802.11i test vector: passphrase "password", SSID "IEEE".
    assert.ok(wpa.includes('psk=f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e'), wpa);
    assert.not.ok(wpa.includes('password'), 'the passphrase itself is not stored');
    assert.ok(wpa.includes('country=DE'));
    assert.ok(wpa.includes(`ssid=${Buffer.from('IEEE').toString('hex')}`));
    assert.is(statSync(join(s.root, 'etc/wpa_supplicant/wpa_supplicant-wlan0.conf')).mode & 0o777, 0o600);
    assert.is(
      readlinkSync(join(s.root, 'etc/systemd/system/multi-user.target.wants/wpa_supplicant@wlan0.service')),
      '/usr/lib/systemd/system/wpa_supplicant@.service',
    );

    assert.is(readFileSync(join(s.root, 'etc/hostname'), 'utf8'), 'kitchen\n');
    assert.ok(readFileSync(join(s.root, 'etc/hosts'), 'utf8').includes('127.0.1.1\tkitchen\n'));
    assert.equal(s.calls, [
      'start wpa_supplicant@wlan0.service',
      'hostname kitchen',
      'sync hearth.json',
      'sync hearth.json',
      'wipe hearth.json s3cret-broker|password',
    ]);

    const fat = readFileSync(s.fat, 'utf8');
    assert.not.ok(fat.includes('s3cret-broker'), 'broker password gone from the FAT');
    assert.not.ok(fat.includes('"psk"'), 'Wi-Fi PSK gone from the FAT');
    const scrubbed = JSON.parse(fat);
    assert.equal(scrubbed.imported, { at: '2026-01-02T03:04:05.000Z', revision: 1 });
    assert.is(scrubbed.config.mqtt.password, '***');
    assert.equal(scrubbed.ssh.authorizedKeys, [KEY]);
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test("the file's own bytes are overwritten in place before it is replaced; the OS clock and updates are set up", async () => {
  const s = setup(file());
  try {
    // A second name for the same inode sees what happens to the file's own data blocks.
    const same = join(s.dir, 'same-inode');
    linkSync(s.fat, same);
    const size = statSync(same).size;
    await runFirstboot({ file: s.fat, stateDir: s.stateDir, root: s.root, live: s.live, log: s.log, wall: s.wall });
    const old = readFileSync(same, 'utf8');
    assert.ok(old.length >= size, `${old.length} >= ${size}`);
    assert.is(old.trim(), '', 'the original bytes are spaces now');
    assert.not.ok(existsSync(`${s.fat}.new`));
    const chrony = readFileSync(join(s.root, 'etc/chrony/chrony.conf'), 'utf8');
    assert.match(chrony, /^server hub\.local iburst/m);
    assert.not.match(chrony, /^(pool|allow|local)/m);
    assert.match(readFileSync(join(s.root, 'etc/apt/apt.conf.d/20auto-upgrades'), 'utf8'), /Unattended-Upgrade "1"/);
    assert.match(readFileSync(join(s.root, 'etc/apt/apt.conf.d/52hearth-unattended-upgrades'), 'utf8'), /Automatic-Reboot "false"/);
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('an import cut off after the in-place overwrite is finished on the next boot', async () => {
  const s = setup('                                        \n');
  try {
    writeFileSync(`${s.fat}.new`, '{"v":2,"imported":{"at":"x","revision":1}}\n');
    const r = await runFirstboot({ file: s.fat, stateDir: s.stateDir, root: s.root, live: s.live, log: s.log });
    assert.is(r.outcome, 'already-imported');
    assert.match(readFileSync(s.fat, 'utf8'), /imported/);
    assert.not.ok(existsSync(`${s.fat}.new`));
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('a second boot does nothing; a freshly written file is imported as the next revision', async () => {
  const s = setup(file());
  try {
    await runFirstboot({ file: s.fat, stateDir: s.stateDir, root: s.root, live: s.live, log: s.log, wall: s.wall });
    const again = await runFirstboot({ file: s.fat, stateDir: s.stateDir, root: s.root, live: s.live, log: s.log, wall: s.wall });
    assert.is(again.outcome, 'already-imported');
    const f = file();
    f.config.mqtt.url = 'mqtt://10.1.1.1:1883';
    delete (f as Partial<typeof f>).wifi;
    writeFileSync(s.fat, JSON.stringify(f));
    const third = await runFirstboot({ file: s.fat, stateDir: s.stateDir, root: s.root, live: s.live, log: s.log, wall: s.wall });
    assert.is(third.outcome === 'imported' && third.revision, 2);
    assert.is((await readConfigFile(join(s.stateDir, 'config.json')))?.config.mqtt.url, 'mqtt://10.1.1.1:1883');
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('an invalid file changes nothing and leaves hearth-error.txt with every error path', async () => {
  const bad = file() as Record<string, any>;
  bad.config.mqtt.url = 'ftp://x';
  bad.wifi.country = 'Germany';
  const s = setup(bad);
  const before = readFileSync(s.fat, 'utf8');
  try {
    try {
      await runFirstboot({ file: s.fat, stateDir: s.stateDir, root: s.root, live: s.live, log: s.log, wall: s.wall });
      assert.unreachable('must refuse');
    } catch (e) {
      assert.instance(e, FirstbootError);
      const paths = (e as FirstbootError).details.map((d) => d.path);
      // Every error in one pass (on a Pi each try is a reboot): the Wi-Fi's and the config's.
      assert.ok(paths.includes('/wifi/country') && paths.includes('/config/mqtt/url'), paths.join(','));
    }
    const err = readFileSync(join(s.root, 'boot/firmware/hearth-error.txt'), 'utf8');
    assert.ok(err.includes('/wifi/country') && err.includes('/config/mqtt/url'), err);
    assert.not.ok(err.includes('s3cret-broker') || err.includes('"password"'), 'the error file repeats no secret');
    assert.is(readFileSync(s.fat, 'utf8'), before, 'the file stays as the person wrote it');
    assert.not.ok(existsSync(join(s.stateDir, 'config.json')));
    assert.not.ok(existsSync(join(s.root, 'root/.ssh')));
    assert.not.ok(existsSync(join(s.root, 'etc/hostname')));
    assert.equal(s.calls, ['sync hearth-error.txt'], 'only the error file was written (and flushed)');

    // Fixed and booted again: imported, and the error file is gone.
    writeFileSync(s.fat, JSON.stringify(file()));
    const r = await runFirstboot({ file: s.fat, stateDir: s.stateDir, root: s.root, live: s.live, log: s.log, wall: s.wall });
    assert.is(r.outcome, 'imported');
    assert.not.ok(existsSync(join(s.root, 'boot/firmware/hearth-error.txt')));
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('not JSON: refused with a readable error file', async () => {
  const s = setup('{ "v": 2, ');
  try {
    await runFirstboot({ file: s.fat, stateDir: s.stateDir, root: s.root, live: s.live, log: s.log }).then(
      () => assert.unreachable('must refuse'),
      (e) => assert.instance(e, FirstbootError),
    );
    assert.ok(readFileSync(join(s.root, 'boot/firmware/hearth-error.txt'), 'utf8').includes('JSON'));
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('no file: nothing to do', async () => {
  const s = setup(file());
  try {
    rmSync(s.fat);
    const r = await runFirstboot({ file: s.fat, stateDir: s.stateDir, root: s.root, live: s.live, log: s.log });
    assert.equal(r, { outcome: 'no-file' });
    assert.equal(s.calls, []);
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('wpa_supplicant config: a 64-hex PSK is used as is; hosts file keeps other lines', () => {
  const c = wpaSupplicantConf('Café', 'AB'.repeat(32), 'FR');
  assert.ok(c.includes(`psk=${'ab'.repeat(32)}`));
  assert.ok(c.includes(`ssid=${Buffer.from('Café', 'utf8').toString('hex')}`));
  assert.is(
    hostsFile('::1 localhost\n127.0.0.1 localhost\n127.0.1.1 old\n', 'new'),
    '::1 localhost\n127.0.0.1 localhost\n127.0.1.1\tnew\n',
  );
  assert.is(hostsFile('', 'x'), '127.0.0.1\tlocalhost\n127.0.1.1\tx\n');
});

test.run();
