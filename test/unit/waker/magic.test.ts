import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildMagicPacket, buildWolFrame, checkMagicPacket, wolPayloadOfFrame, MAGIC_LENGTH } from '../../../device/waker/magic.ts';
import { parseSecureOn } from '../../../device/waker/addr.ts';

const MAC = '00:1a:2b:3c:4d:5e';

test('magic packet: 6 × 0xFF then the MAC 16 times, 102 bytes', () => {
  const p = buildMagicPacket(MAC);
  assert.is(p.length, 102);
  const expected = 'ff'.repeat(6) + '001a2b3c4d5e'.repeat(16);
  assert.is(p.toString('hex'), expected);
});

test('magic packet accepts dash-separated and upper-case MACs identically', () => {
  assert.equal(buildMagicPacket('00-1A-2B-3C-4D-5E'), buildMagicPacket(MAC));
});

test('SecureOn: 6-byte password appended after the 16 copies (108 bytes)', () => {
  const p = buildMagicPacket(MAC, parseSecureOn('a1:b2:c3:d4:e5:f6'));
  assert.is(p.length, 108);
  assert.is(p.subarray(0, 102).toString('hex'), 'ff'.repeat(6) + '001a2b3c4d5e'.repeat(16));
  assert.is(p.subarray(102).toString('hex'), 'a1b2c3d4e5f6');
});

test('SecureOn: 4-byte password as hex or dotted quad (106 bytes)', () => {
  const a = buildMagicPacket(MAC, parseSecureOn('c0:a8:01:02'));
  const b = buildMagicPacket(MAC, parseSecureOn('192.168.1.2'));
  assert.is(a.length, 106);
  assert.is(a.subarray(102).toString('hex'), 'c0a80102');
  assert.equal(a, b);
});

test('bad passwords and MACs are refused with a clear error', () => {
  assert.throws(() => parseSecureOn('a1:b2:c3'), /4 bytes/);
  assert.throws(() => parseSecureOn('zz:b2:c3:d4'), /6 bytes/);
  assert.throws(() => buildMagicPacket('00:1a:2b:3c:4d'), /not a MAC/);
  assert.throws(() => buildMagicPacket(MAC, Buffer.alloc(5)), /4 or 6 bytes/);
});

test('checkMagicPacket accepts exactly what was built, with the right MAC and password', () => {
  const pw = parseSecureOn('a1:b2:c3:d4:e5:f6');
  const p = buildMagicPacket(MAC, pw);
  const r = checkMagicPacket(p, { mac: MAC, password: pw });
  assert.ok(r.ok);
  assert.ok(checkMagicPacket(buildMagicPacket(MAC), { mac: MAC, password: undefined }).ok);
});

test('checkMagicPacket refuses wrong sync, a differing copy, wrong length, wrong MAC or password', () => {
  const good = buildMagicPacket(MAC);
  const badSync = Buffer.from(good);
  badSync[3] = 0xfe;
  assert.is(checkMagicPacket(badSync).ok, false);
  const badCopy = Buffer.from(good);
  badCopy[6 + 6 * 9 + 2]! ^= 1;
  const r = checkMagicPacket(badCopy);
  assert.is(r.ok, false);
  assert.match((r as { reason: string }).reason, /copy 10/);
  assert.is(checkMagicPacket(good.subarray(0, 101)).ok, false);
  assert.is(checkMagicPacket(Buffer.concat([good, Buffer.alloc(1)])).ok, false);
  assert.is(checkMagicPacket(good, { mac: '00:1a:2b:3c:4d:5f' }).ok, false);
  assert.is(checkMagicPacket(good, { mac: MAC, password: Buffer.from([1, 2, 3, 4]) }).ok, false);
  const withPw = buildMagicPacket(MAC, Buffer.from([1, 2, 3, 4]));
  assert.is(checkMagicPacket(withPw, { mac: MAC, password: undefined }).ok, false);
  assert.is(checkMagicPacket(withPw, { mac: MAC, password: Buffer.from([1, 2, 3, 5]) }).ok, false);
});

test('raw Ethernet WoL frame: broadcast dst, our src, EtherType 0x0842, magic payload', () => {
  const payload = buildMagicPacket(MAC);
  const f = buildWolFrame('02:00:00:00:00:01', payload);
  assert.is(f.length, 14 + MAGIC_LENGTH);
  assert.is(f.subarray(0, 14).toString('hex'), 'ffffffffffff' + '020000000001' + '0842');
  assert.equal(wolPayloadOfFrame(f), payload);
  const notWol = Buffer.from(f);
  notWol[13] = 0x06;
  assert.is(wolPayloadOfFrame(notWol), undefined);
});

test.run();
