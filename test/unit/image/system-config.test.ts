// What first boot writes for the OS clock (chrony) and security updates, per hearth.json.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { timePlan, chronyConf, autoUpgradesConf, unattendedConf, brokerHost } from '../../../device/image/system-config.ts';
import { parseProvisioning } from '../../../protocol/provisioning.ts';

const prov = (extra: Record<string, unknown> = {}, url = 'mqtt://hub.local:1883', roles: Record<string, unknown> = {}) =>
  parseProvisioning({ v: 2, config: { v: 2, id: 'kitchen', mqtt: { url }, roles }, ...extra });

test("a player follows the broker's host and serves nothing", () => {
  const c = chronyConf(timePlan(prov()));
  assert.match(c, /^server hub\.local iburst minpoll 4 maxpoll 6$/m);
  assert.match(c, /^makestep 1 -1$/m);
  assert.not.match(c, /^(pool|allow|local) /m);
});

test('a hub serves the LAN at local stratum 10, from the public pool when it has internet', () => {
  const c = chronyConf(timePlan(prov({}, 'mqtt://127.0.0.1:1883', { hub: {} })));
  assert.match(c, /^pool 2\.debian\.pool\.ntp\.org iburst$/m);
  assert.match(c, /^local stratum 10$/m);
  assert.match(c, /^allow 192\.168\.0\.0\/16$/m);
  assert.not.match(c, /^allow\s*$/m, 'never the whole internet');
  assert.not.match(c, /^server /m);
});

test('named servers win; serve can be set either way', () => {
  const c = chronyConf(timePlan(prov({ time: { servers: ['10.0.0.5', 'ntp.lan'], serve: true } })));
  assert.match(c, /^server 10\.0\.0\.5 iburst/m);
  assert.match(c, /^server ntp\.lan iburst/m);
  assert.match(c, /^local stratum 10$/m);
  assert.not.match(c, /^pool /m);
  assert.equal(timePlan(prov({ time: { serve: false } }, 'mqtt://localhost:1883', { hub: {} })), {
    servers: [],
    pool: '2.debian.pool.ntp.org',
    serve: false,
  });
  assert.is(brokerHost('mqtts://[fd00::1]:8883'), 'fd00::1');
});

test("the device config's house clock reference is the OS clock's too, unless time.servers says otherwise", () => {
  const withClock = parseProvisioning({
    v: 2,
    config: { v: 2, id: 'k', mqtt: { url: 'mqtt://hub.local:1883' }, clock: { server: '10.0.0.9', port: 1123 }, roles: {} },
  });
  assert.match(chronyConf(timePlan(withClock)), /^server 10\.0\.0\.9 port 1123 iburst/m);
  assert.equal(timePlan({ ...withClock, time: { servers: ['ntp.lan'] } }).servers, ['ntp.lan']);
});

test('bad time and update settings are refused with their paths', () => {
  try {
    prov({ time: { servers: ['bad host'] }, updates: { rebootAt: '25:00' } });
    assert.unreachable('must refuse');
  } catch (e) {
    const paths = (e as { details: Array<{ path: string }> }).details.map((d) => d.path);
    assert.ok(paths.includes('/time/servers/0') && paths.includes('/updates/rebootAt'), paths.join(','));
  }
});

test('security updates: on by default, the -security suite only, reboots only at the window', () => {
  assert.match(autoUpgradesConf(undefined), /Unattended-Upgrade "1"/);
  assert.match(autoUpgradesConf({ security: false }), /Unattended-Upgrade "0"/);
  const u = unattendedConf(undefined);
  assert.match(u, /#clear Unattended-Upgrade::Origins-Pattern;/);
  assert.match(u, /codename=\$\{distro_codename\}-security,label=Debian-Security/);
  assert.match(u, /Automatic-Reboot "false"/);
  const r = unattendedConf({ rebootAt: '03:30' });
  assert.match(r, /Automatic-Reboot "true"/);
  assert.match(r, /Automatic-Reboot-Time "03:30"/);
});

test.run();
