// NTP packet codec and the verdict on replies: garbage and lies are named, never used.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildNtp, buildRequest, checkReply, fromNtp, parseNtp, toNtp, Mode } from '../../../device/clock/ntp-packet.ts';

const cookie = 0x1234_5678_9abc_def1n;
const reply = (over: Partial<Parameters<typeof buildNtp>[0]> = {}) =>
  buildNtp({
    mode: Mode.Server,
    stratum: 10,
    refId: '127.127.1.1',
    origin: cookie,
    receive: toNtp(1_767_225_600_123.456),
    transmit: toNtp(1_767_225_600_123.5),
    ...over,
  });

test('timestamps survive the 64-bit NTP form to well under a microsecond, both eras', () => {
  for (const ms of [1_767_225_600_123.456789, 946_684_800_000.001, 2_200_000_000_000.25 /* 2039: era 1 */]) {
    assert.ok(Math.abs(fromNtp(toNtp(ms)) - ms) < 0.0005, `${ms} → ${fromNtp(toNtp(ms))}`);
  }
  assert.is(fromNtp(0n), 0);
  assert.is(toNtp(0), 0n);
});

test('a request carries only the cookie; a built reply parses back field by field', () => {
  const req = parseNtp(buildRequest(cookie));
  assert.is(req.mode, 3);
  assert.is(req.version, 4);
  assert.is(req.transmit, cookie);
  assert.is(req.receive, 0n);
  assert.is(req.origin, 0n);
  const p = parseNtp(reply({ rootDelayMs: 1.5, leap: 0, poll: 6 }));
  assert.is(p.mode, 4);
  assert.is(p.stratum, 10);
  assert.is(p.refId, '127.127.1.1');
  assert.is(p.poll, 6);
  assert.ok(Math.abs(p.rootDelayMs - 1.5) < 0.02);
  const ok = checkReply(reply(), cookie);
  assert.ok(ok.ok);
  if (ok.ok) assert.ok(Math.abs(ok.t3 - ok.t2 - 0.044) < 0.001);
});

test('garbage and lies are refused with their reason', () => {
  const cases: Array<[Buffer, string]> = [
    [Buffer.alloc(20), 'malformed'],
    [Buffer.from(reply().fill(0, 0, 1)), 'malformed'], // version 0
    [reply({ mode: 3 }), 'not-server'],
    [reply({ origin: cookie + 2n }), 'unexpected'],
    [reply({ stratum: 0, refId: 'RATE' }), 'kiss'],
    [reply({ leap: 3 }), 'unsynchronised'],
    [reply({ stratum: 16 }), 'unsynchronised'],
    [reply({ receive: 0n }), 'bad-timestamps'],
    [reply({ transmit: toNtp(1_767_225_600_100) }), 'bad-timestamps'], // sent before received
    [reply({ transmit: toNtp(1_767_225_605_000) }), 'bad-timestamps'], // held 5 s
  ];
  for (const [buf, fault] of cases) {
    const r = checkReply(buf, cookie);
    assert.is(r.ok, false, fault);
    if (!r.ok) assert.is(r.fault, fault);
  }
});

test.run();
