// protocol/config.ts: RFC 7396 merge patch, secret redaction, and normalizeConfig (format 2
// validated, format 1 upgraded, anything else refused with paths).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mergePatch, redact, normalizeConfig, upgradeV1, deviceConfigSchema } from '../../../protocol/config.ts';
import { restoreRedacted } from '../../../protocol/redaction.ts';
import { ProtocolError } from '../../../protocol/envelope.ts';
import { probeSpec } from '../../helpers/test-roles.ts';
import { ROLE_SPECS } from '../../../protocol/roles/index.ts';

const schema = deviceConfigSchema([...ROLE_SPECS, probeSpec]);

function refused(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (e) {
    assert.instance(e, ProtocolError);
    return e as ProtocolError;
  }
  assert.unreachable('expected a ProtocolError');
  throw new Error('unreachable');
}

test('mergePatch: the test vectors of RFC 7396 appendix A', () => {
  const cases: Array<[unknown, unknown, unknown]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, want] of cases)
    assert.equal(mergePatch(target, patch), want, `${JSON.stringify(target)} + ${JSON.stringify(patch)}`);
});

test('mergePatch does not modify its inputs', () => {
  const target = { roles: { probe: { label: 'a', failApply: true } }, mqtt: { url: 'mqtt://x' } };
  const patch = { roles: { probe: { failApply: null, label: 'b' } } };
  const before = structuredClone(target),
    patchBefore = structuredClone(patch);
  const out = mergePatch(target, patch);
  assert.equal(out, { roles: { probe: { label: 'b' } }, mqtt: { url: 'mqtt://x' } });
  assert.equal(target, before);
  assert.equal(patch, patchBefore);
});

test('mergePatch with a "__proto__" key from JSON does not pollute Object.prototype', () => {
  const out = mergePatch({ a: 1 }, JSON.parse('{"__proto__": {"polluted": true}, "b": 2}')) as Record<string, unknown>;
  assert.is(({} as Record<string, unknown>).polluted, undefined);
  assert.is(out.b, 2);
});

test('redact replaces every secret-named field at any depth, in arrays too, and copies', () => {
  const c = {
    mqtt: { url: 'mqtt://hub', username: 'kitchen', password: 'hunter2' },
    roles: {
      waker: { hosts: [{ name: 'pc', secureOn: '01:02:03:04:05:06' }, { name: 'nas' }] },
      x: { token: 't', psk: 'p', secret: 's', passwordHint: 'keep' },
    },
  };
  const before = structuredClone(c);
  const r = redact(c);
  assert.equal(r, {
    mqtt: { url: 'mqtt://hub', username: 'kitchen', password: '***' },
    roles: {
      waker: { hosts: [{ name: 'pc', secureOn: '***' }, { name: 'nas' }] },
      x: { token: '***', psk: '***', secret: '***', passwordHint: 'keep' },
    },
  });
  assert.equal(c, before);
  assert.not.ok(JSON.stringify(r).includes('hunter2'));
});

test('redact leaves an absent secret absent', () => {
  assert.equal(redact({ mqtt: { url: 'u', password: undefined } }), { mqtt: { url: 'u', password: undefined } });
  assert.equal(JSON.stringify(redact({ mqtt: { url: 'u', password: undefined } })), '{"mqtt":{"url":"u"}}');
});

test('restoreRedacted: "***" at a secret key takes the applied value, anywhere; without one the input is returned as is (no copy)', () => {
  const applied = { mqtt: { url: 'u', password: 'hunter2' }, roles: { waker: { hosts: [{ name: 'pc', secureOn: 'aa' }] } } };
  const back = {
    mqtt: { url: 'u2', password: '***' },
    roles: { waker: { hosts: [{ name: 'pc', secureOn: '***' }] }, x: { label: '***' } },
  };
  assert.equal(restoreRedacted(back, applied), {
    mqtt: { url: 'u2', password: 'hunter2' },
    roles: { waker: { hosts: [{ name: 'pc', secureOn: 'aa' }] }, x: { label: '***' } },
  });
  const plain = { mqtt: { url: 'u', password: 'new' }, roles: { x: { label: '***', list: [{ token: 't' }] } } };
  assert.is(restoreRedacted(plain, applied), plain);
  assert.throws(
    () => restoreRedacted({ roles: { x: [{ token: '***' }] } }, applied),
    (e: ProtocolError) => e.details?.[0]?.path === '/roles/x/0/token',
  );
});

const v2 = { v: 2, id: 'kitchen', mqtt: { url: 'mqtt://hub.local:1883' }, roles: { probe: { label: 'x' } } };

test('normalizeConfig accepts a valid format-2 config unchanged', () => {
  assert.equal(normalizeConfig(v2, schema), v2);
});

test('normalizeConfig upgrades format 1: flat broker fields → mqtt, telemetryIntervalS → telemetry', () => {
  const v1 = {
    v: 1,
    id: 'kitchen',
    name: 'Kitchen',
    broker: 'mqtt://hub:1883',
    username: 'kitchen',
    password: 'pw',
    baseTopic: 'home',
    telemetryIntervalS: 15,
    roles: { probe: { label: 'x' } },
  };
  const out = normalizeConfig(v1, schema);
  assert.equal(out, {
    v: 2,
    id: 'kitchen',
    name: 'Kitchen',
    mqtt: { url: 'mqtt://hub:1883', username: 'kitchen', password: 'pw', baseTopic: 'home' },
    telemetry: { intervalS: 15 },
    roles: { probe: { label: 'x' } },
  });
  assert.equal(upgradeV1({ v: 1, id: 'a', broker: 'mqtt://h', roles: {} }), { v: 2, id: 'a', mqtt: { url: 'mqtt://h' }, roles: {} });
});

test('a format-1 config with errors is refused with format-1 paths; its upgrade is still checked against format 2', () => {
  const e = refused(() => normalizeConfig({ v: 1, id: 'k', broker: 'ftp://x', roles: {}, extra: 1 }, schema));
  assert.is(e.code, 'invalid');
  const paths = e.details!.map((d) => d.path).sort();
  assert.equal(paths, ['/broker', '/extra']);
  const e2 = refused(() => normalizeConfig({ v: 1, id: 'k', broker: 'mqtt://x', roles: { probe: { label: 5 } } }, schema));
  assert.equal(e2.details, [{ path: '/roles/probe/label', message: 'must be string' }]);
});

test('schema violations: every error, each with its JSON path', () => {
  const bad = {
    v: 2,
    id: 'bad id!',
    mqtt: { url: 'http://x', keepaliveS: 1, colour: 'red' },
    roles: { probe: { label: 3 }, nosuchrole: {} },
  };
  const e = refused(() => normalizeConfig(bad, schema));
  assert.is(e.code, 'invalid');
  const byPath = Object.fromEntries(e.details!.map((d) => [d.path, d.message]));
  assert.equal(
    Object.keys(byPath).sort(),
    ['/id', '/mqtt/colour', '/mqtt/keepaliveS', '/mqtt/url', '/roles/nosuchrole', '/roles/probe/label'].sort(),
  );
  assert.is(byPath['/mqtt/colour'], 'unknown field');
  assert.is(byPath['/roles/nosuchrole'], 'unknown field');
  assert.is(byPath['/mqtt/keepaliveS'], 'must be >= 5');
  assert.match(e.message, '/roles/probe/label');
});

test('missing required fields are named', () => {
  const e = refused(() => normalizeConfig({ v: 2, roles: {} }, schema));
  assert.equal(e.details!.map((d) => d.path).sort(), ['/id', '/mqtt']);
  assert.ok(e.details!.every((d) => d.message === 'is required'));
});

test('no coercion: "2" is not 2, "30" is not 30', () => {
  assert.is(refused(() => normalizeConfig({ ...v2, v: '2' }, schema)).code, 'unsupported-version');
  const e = refused(() => normalizeConfig({ ...v2, mqtt: { url: 'mqtt://x', keepaliveS: '30' } }, schema));
  assert.equal(e.details, [{ path: '/mqtt/keepaliveS', message: 'must be integer' }]);
});

test('unsupported versions and non-objects are refused', () => {
  for (const v of [0, 3, 99, null]) {
    const e = refused(() => normalizeConfig({ ...v2, v }, schema));
    assert.is(e.code, 'unsupported-version', String(v));
    assert.equal(e.details![0]!.path, '/v');
  }
  // A missing version is a missing field, said as such (it once read "config format undefined").
  const { v: _v, ...noV } = v2;
  const e = refused(() => normalizeConfig(noV, schema));
  assert.is(e.code, 'invalid');
  assert.equal(e.details, [{ path: '/v', message: 'is required' }]);
  assert.match(e.message, '"v": 2');
  assert.not.match(e.message, 'undefined');
  for (const x of [null, 'config', 42, [v2]]) assert.is(refused(() => normalizeConfig(x, schema)).code, 'invalid');
});

test('the default schema knows only the built-in roles', () => {
  const e = refused(() => normalizeConfig(v2));
  assert.equal(e.details, [{ path: '/roles/probe', message: 'unknown field' }]);
});

test.run();
