import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseProvisioning, hostnameFor, scrubbedProvisioning } from '../../../protocol/provisioning.ts';
import { ProtocolError } from '../../../protocol/envelope.ts';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKc5m9pH3vQ0vU8m0jvJc3e9D9a0XqvI9y8c0bPpY0dK alice@laptop';
const base = () => ({
  v: 2,
  config: { v: 2, id: 'Kitchen_Pi', mqtt: { url: 'mqtt://hub.local:1883', username: 'kitchen', password: 's3cret' }, roles: {} },
  ssh: { authorizedKeys: [KEY] },
  wifi: { ssid: 'Home', psk: 'correct horse battery', country: 'DE' },
});

function errorsOf(input: unknown): Array<{ path: string; message: string }> {
  try {
    parseProvisioning(input);
  } catch (e) {
    assert.instance(e, ProtocolError);
    return (e as ProtocolError).details ?? [];
  }
  assert.unreachable('expected the file to be refused');
  return [];
}

test('a complete file parses, with its config validated', () => {
  const p = parseProvisioning(base());
  assert.is(p.config.id, 'Kitchen_Pi');
  assert.is(p.config.mqtt.password, 's3cret');
  assert.equal(p.ssh?.authorizedKeys, [KEY]);
  assert.is(p.wifi?.country, 'DE');
});

test('a format-1 config inside is upgraded', () => {
  const f = { v: 2, config: { v: 1, id: 'den', broker: 'mqtt://10.0.0.2:1883', password: 'pw', roles: {} } };
  const p = parseProvisioning(f);
  assert.is(p.config.v, 2);
  assert.is(p.config.mqtt.url, 'mqtt://10.0.0.2:1883');
  assert.is(p.config.mqtt.password, 'pw');
});

test('config errors come back under /config with their paths', () => {
  const f = base() as Record<string, any>;
  f.config.mqtt.url = 'http://nope';
  f.config.colour = 'red';
  const paths = errorsOf(f).map((d) => d.path);
  assert.ok(paths.includes('/config/mqtt/url'), paths.join(','));
  assert.ok(paths.includes('/config/colour'), paths.join(','));
});

test('file-level errors: unknown keys, bad key lines, short PSK, bad country, missing PSK, long SSID', () => {
  const f = base() as Record<string, any>;
  f.extra = 1;
  f.ssh.authorizedKeys = ['not a key'];
  f.wifi.psk = 'short';
  f.wifi.country = 'de';
  const paths = errorsOf(f).map((d) => d.path);
  for (const p of ['/extra', '/ssh/authorizedKeys/0', '/wifi/psk', '/wifi/country'])
    assert.ok(paths.includes(p), `${p} in ${paths.join(',')}`);
  const g = base() as Record<string, any>;
  delete g.wifi.psk;
  assert.equal(
    errorsOf(g).map((d) => d.path),
    ['/wifi/psk'],
  );
  const h = base() as Record<string, any>;
  h.wifi.ssid = 'ä'.repeat(20); // 20 characters, 40 bytes
  assert.equal(
    errorsOf(h).map((d) => d.path),
    ['/wifi/ssid'],
  );
});

test('a 64-hex-digit PSK is accepted as a PSK', () => {
  const f = base();
  f.wifi.psk = 'ab'.repeat(32);
  assert.is(parseProvisioning(f).wifi?.psk, 'ab'.repeat(32));
});

test('host name: given one lower-cased, else derived from the id', () => {
  assert.is(hostnameFor(parseProvisioning(base())), 'kitchen-pi');
  assert.is(hostnameFor(parseProvisioning({ ...base(), hostname: 'Den-Speaker' })), 'den-speaker');
  assert.is(hostnameFor({ config: { id: '__' } as any }), 'hearth');
});

test('the scrubbed copy keeps no secret and is marked imported; it still parses', () => {
  const p = parseProvisioning(base());
  const s = scrubbedProvisioning(p, { at: '2026-01-01T00:00:00.000Z', revision: 1 });
  const text = JSON.stringify(s);
  assert.not.ok(text.includes('s3cret'));
  assert.not.ok(text.includes('correct horse'));
  assert.ok(text.includes(KEY), 'public keys stay');
  assert.equal(s.wifi as object, { ssid: 'Home', country: 'DE' });
  assert.equal(s.imported, { at: '2026-01-01T00:00:00.000Z', revision: 1 });
  const again = parseProvisioning(s);
  assert.is(again.config.mqtt.password, '***');
});

test('every error of the file in one pass: its fields, Wi-Fi, SSH and the device config together', () => {
  const f = base() as Record<string, any>;
  f.hostname = 'bad name!';
  f.wifi = { ssid: 'Home', country: 'Germany' };
  f.ssh = { authorizedKeys: ['not a key'] };
  f.config.mqtt.url = 'ftp://x';
  f.config.roles = { player: { latencyMs: -1 } };
  const paths = errorsOf(f).map((d) => d.path);
  for (const p of [
    '/hostname',
    '/wifi/country',
    '/wifi/psk',
    '/ssh/authorizedKeys/0',
    '/config/mqtt/url',
    '/config/roles/player/latencyMs',
  ]) {
    assert.ok(paths.includes(p), `${p} missing from ${paths.join(', ')}`);
  }
});

test('the secrets to search the card for: every secret-named field, also as JSON escapes it', async () => {
  const { provisioningSecrets } = await import('../../../protocol/provisioning.ts');
  const f = base() as Record<string, any>;
  f.config.mqtt.password = 'a"b';
  assert.equal(provisioningSecrets(f).sort(), ['a"b', 'a\\"b', 'correct horse battery'].sort());
});

test.run();
