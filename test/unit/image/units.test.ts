// The systemd units and system settings the image ships (images/rootfs).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, mkdtempSync, copyFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { imagesDir } from '../../../device/image/boot-config.ts';

const rootfs = join(imagesDir(), 'rootfs');

/** systemd unit syntax: sections of key=value; a key may repeat (values collected in order). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      section = s[1]!;
      if (!out.has(section)) out.set(section, new Map());
      continue;
    }
    const eq = line.indexOf('=');
    const k = line.slice(0, eq).trim();
    const v = line.slice(eq + 1).trim();
    const sec = out.get(section)!;
    sec.set(k, [...(sec.get(k) ?? []), v]);
  }
  return out;
}
const unit = (rel: string) => parseUnit(readFileSync(join(rootfs, rel), 'utf8'));
const one = (u: Map<string, Map<string, string[]>>, sec: string, key: string) => {
  const v = u.get(sec)?.get(key);
  assert.ok(v && v.length, `${sec}.${key} is set`);
  return v![v!.length - 1]!;
};

test('hearth.service: the documented command, restart on failure, watchdog', () => {
  const u = unit('etc/systemd/system/hearth.service');
  assert.is(
    one(u, 'Service', 'ExecStart'),
    '/usr/bin/node --max-semi-space-size=1 --single-threaded /opt/hearth/dist/hearth.js run --config /var/lib/hearth/config.json --state-dir /var/lib/hearth',
  );
  assert.is(one(u, 'Service', 'Restart'), 'on-failure');
  assert.is(one(u, 'Service', 'Type'), 'notify');
  assert.is(one(u, 'Service', 'NotifyAccess'), 'all', 'the runtime notifies through systemd-notify, a child process');
  assert.match(one(u, 'Service', 'WatchdogSec'), /^\d+s$/);
  assert.is(one(u, 'Unit', 'StartLimitIntervalSec'), '0', 'never gives up restarting');
  assert.ok(one(u, 'Unit', 'After').includes('hearth-firstboot.service'));
  assert.is(one(u, 'Install', 'WantedBy'), 'multi-user.target');
  assert.is(one(u, 'Service', 'SyslogIdentifier'), 'hearth', 'journal entries named hearth, not node');
});

test('hearth.service: stopping it stops the whole control group, so the GPIO line holder releases START and PTT', () => {
  const u = unit('etc/systemd/system/hearth.service');
  assert.is(one(u, 'Service', 'KillMode'), 'control-group');
  assert.is(u.get('Service')!.get('KillSignal'), undefined, 'no KillSignal: SIGTERM, which the holder handles');
});

test('hearth.service: own user in audio and gpio, only the capabilities its roles need (raw ARP, promiscuous capture, real-time threads), nothing gained later', () => {
  const u = unit('etc/systemd/system/hearth.service');
  assert.is(one(u, 'Service', 'User'), 'hearth');
  assert.equal(one(u, 'Service', 'SupplementaryGroups').split(/\s+/).sort(), ['audio', 'gpio']);
  assert.is(one(u, 'Service', 'CapabilityBoundingSet'), 'CAP_NET_RAW CAP_NET_ADMIN CAP_SYS_NICE');
  assert.is(one(u, 'Service', 'AmbientCapabilities'), 'CAP_NET_RAW CAP_NET_ADMIN CAP_SYS_NICE');
  assert.is(one(u, 'Service', 'NoNewPrivileges'), 'yes');
});

test('hearth.service: read-only system, writable state only under /var/lib/hearth, closed devices but sound and GPIO', () => {
  const u = unit('etc/systemd/system/hearth.service');
  assert.is(one(u, 'Service', 'ProtectSystem'), 'strict');
  assert.is(one(u, 'Service', 'ProtectHome'), 'yes');
  assert.is(one(u, 'Service', 'PrivateTmp'), 'yes');
  assert.is(one(u, 'Service', 'StateDirectory'), 'hearth');
  assert.not.ok(u.get('Service')!.has('ReadWritePaths'), 'no other writable path');
  assert.is(one(u, 'Service', 'DevicePolicy'), 'closed');
  const allow = u.get('Service')!.get('DeviceAllow')!;
  assert.ok(allow.includes('char-alsa rw'));
  assert.ok(allow.includes('char-gpiochip rw'));
  for (const k of [
    'ProtectKernelTunables',
    'ProtectKernelModules',
    'ProtectControlGroups',
    'RestrictSUIDSGID',
    'LockPersonality',
    'RestrictNamespaces',
  ])
    assert.is(one(u, 'Service', k), 'yes', k);
  assert.ok(one(u, 'Service', 'RestrictAddressFamilies').split(/\s+/).includes('AF_PACKET'), 'ARP capture needs packet sockets');
});

test('systemd-analyze: hearth.service is verified and its exposure is at most 3.0 ("OK")', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-unit-'));
  try {
    copyFileSync(join(rootfs, 'etc/systemd/system/hearth.service'), join(dir, 'hearth.service'));
    const out = execFileSync('systemd-analyze', ['security', '--offline=true', '--threshold=30', join(dir, 'hearth.service')], {
      encoding: 'utf8',
    });
    const m = /Overall exposure level for hearth\.service: ([\d.]+)/.exec(out);
    assert.ok(m, out.slice(-400));
    assert.ok(Number(m![1]) <= 3.0, `exposure ${m![1]}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hearth-firstboot.service: root oneshot before hearth and ssh, the documented command', () => {
  const u = unit('etc/systemd/system/hearth-firstboot.service');
  assert.is(one(u, 'Service', 'Type'), 'oneshot');
  assert.not.ok(u.get('Service')!.has('User'), 'runs as root: it writes /etc and /root/.ssh');
  assert.is(
    one(u, 'Service', 'ExecStart'),
    '/usr/bin/node /opt/hearth/dist/hearth.js firstboot --file /boot/firmware/hearth.json --state-dir /var/lib/hearth',
  );
  const before = one(u, 'Unit', 'Before').split(/\s+/);
  assert.ok(before.includes('hearth.service') && before.includes('ssh.service'));
  assert.ok(one(u, 'Unit', 'RequiresMountsFor').split(/\s+/).includes('/boot/firmware'));
});

test('hearth-growroot.service: root oneshot, once (marker), before the runtime', () => {
  const u = unit('etc/systemd/system/hearth-growroot.service');
  assert.is(one(u, 'Service', 'Type'), 'oneshot');
  assert.is(one(u, 'Service', 'ExecStart'), '/usr/bin/node /opt/hearth/dist/hearth.js grow-root');
  assert.is(one(u, 'Unit', 'ConditionPathExists'), '!/var/lib/misc/hearth-root-grown');
  assert.is(one(u, 'Service', 'ExecStartPost'), '/usr/bin/touch /var/lib/misc/hearth-root-grown');
  assert.ok(one(u, 'Unit', 'Before').split(/\s+/).includes('hearth.service'));
});

test('no password logins: sshd takes keys only; host keys are made per device', () => {
  const sshd = readFileSync(join(rootfs, 'etc/ssh/sshd_config.d/hearth.conf'), 'utf8');
  assert.match(sshd, /^PasswordAuthentication no$/m);
  assert.match(sshd, /^KbdInteractiveAuthentication no$/m);
  assert.match(sshd, /^PermitRootLogin prohibit-password$/m);
  const dropin = unit('etc/systemd/system/ssh.service.d/hearth-hostkeys.conf');
  // Reset first: Debian's own ExecStartPre (sshd -t) would otherwise run before the keys exist.
  assert.equal(dropin.get('Service')!.get('ExecStartPre'), ['', '/usr/bin/ssh-keygen -A', '/usr/sbin/sshd -t']);
});

test('sysusers: hearth is a system user in audio and gpio; the gpio group exists; udev gives it the pins', () => {
  const lines = readFileSync(join(rootfs, 'usr/lib/sysusers.d/hearth.conf'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(/\s+/).slice(0, 3).join(' '));
  for (const l of ['g gpio -', 'u hearth -', 'm hearth audio', 'm hearth gpio']) assert.ok(lines.includes(l), l);
  const udev = readFileSync(join(rootfs, 'etc/udev/rules.d/60-hearth-gpio.rules'), 'utf8');
  assert.match(udev, /KERNEL=="gpiochip\*", GROUP="gpio", MODE="0660"/);
});

test('time: hearth.service starts without a real time sync; chrony replaces timesyncd and reads what first boot writes', async () => {
  const { ENABLED_UNITS } = await import('../../../device/image/build.ts');
  const u = unit('etc/systemd/system/hearth.service');
  for (const k of ['Wants', 'After', 'Requires'])
    assert.not.ok((u.get('Unit')?.get(k) ?? []).join(' ').includes('time-sync'), `${k} names no time-sync target`);
  const units = ENABLED_UNITS.map(([, f]) => f);
  assert.ok(units.includes('/usr/lib/systemd/system/chrony.service'));
  assert.not.ok(
    units.some((f) => /timesyncd|chrony-wait|time-wait-sync/.test(f)),
    'nothing waits for a synchronised clock',
  );
  assert.ok(one(unit('etc/systemd/system/hearth-firstboot.service'), 'Unit', 'Before').split(/\s+/).includes('chrony.service'));
});

test('names: LLMNR off everywhere, mDNS on; hosts resolved through nss-resolve before plain DNS', async () => {
  const { nsswitchHosts } = await import('../../../device/image/build.ts');
  const resolved = unit('etc/systemd/resolved.conf.d/hearth.conf');
  assert.is(one(resolved, 'Resolve', 'LLMNR'), 'no');
  assert.is(one(resolved, 'Resolve', 'MulticastDNS'), 'yes');
  for (const n of ['20-wired.network', '25-wireless.network'])
    assert.is(one(unit(`etc/systemd/network/${n}`), 'Network', 'LLMNR'), 'no', n);
  assert.is(
    nsswitchHosts('passwd: files\nhosts:          files dns\n'),
    'passwd: files\nhosts:          files myhostname resolve [!UNAVAIL=return] dns\n',
  );
});

test('ephemeral ports: the sysctl drop-in moves them to 49152–65535, above every stream port hearth accepts', async () => {
  const { STREAM_PORT_LIMIT } = await import('../../../protocol/roles/player.ts');
  const settings = readFileSync(join(rootfs, 'usr/lib/sysctl.d/60-hearth-ports.conf'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !/^\s*[#;]/.test(l))
    .map((l) => l.split('=').map((x) => x.trim()));
  assert.equal(settings, [['net.ipv4.ip_local_port_range', '49152 65535']]);
  assert.is(Number(settings[0]![1]!.split(/\s+/)[0]), STREAM_PORT_LIMIT);
});

test('hearth is on PATH in the image', () => {
  const sh = readFileSync(join(rootfs, 'usr/local/bin/hearth'), 'utf8');
  assert.match(sh, /exec \/usr\/bin\/node \/opt\/hearth\/dist\/hearth\.js "\$@"/);
});

test.run();
