// protocol/json.ts: what strict parsing refuses, with which code and path, and what it keeps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { parseStrictJson, MAX_JSON_DEPTH, ProtocolError } from '../../../protocol/index.ts';

function refused(input: string | Buffer): ProtocolError {
  try {
    parseStrictJson(input);
  } catch (e) {
    if (e instanceof ProtocolError) return e;
    throw e;
  }
  assert.unreachable(`accepted ${String(input).slice(0, 80)}`);
  throw new Error('unreachable');
}

test('valid JSON parses as JSON.parse does (property: any JSON value within the depth limit)', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 10 }), (v) => {
      const text = JSON.stringify(v);
      const hasBad = /"(__proto__|constructor|prototype)":/.test(text);
      fc.pre(!hasBad);
      assert.equal(parseStrictJson(text), JSON.parse(text));
    }),
    { numRuns: 500 },
  );
});

test('each refusal: code, path, sentence', () => {
  const cases: Array<[string | Buffer, string, string, RegExp]> = [
    [Buffer.concat([Buffer.from('{"a":{"b":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}')]), 'bad-json', '/a/b', /not UTF-8/],
    [Buffer.from([0xed, 0xa0, 0x80]), 'bad-json', '', /not UTF-8/], // a UTF-16 surrogate encoded as UTF-8
    [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{}')]), 'bad-json', '', /byte-order mark/],
    ['{"a":1,"b":{"c":1,"c":2}}', 'invalid', '/b/c', /repeats the key "c"/],
    ['[{"__proto__":1}]', 'invalid', '/0/__proto__', /__proto__/],
    ['{"x":{"constructor":{"prototype":1}}}', 'invalid', '/x/constructor', /constructor/],
    ['{"a/b~c":{"__proto__":0}}', 'invalid', '/a~1b~0c/__proto__', /__proto__/],
    ['', 'bad-json', '', /empty/],
    ['{"a":}', 'bad-json', '', /not valid JSON/],
  ];
  for (const [input, code, path, words] of cases) {
    const e = refused(input);
    assert.is(e.code, code, e.message);
    assert.is(e.details?.[0]?.path, path, e.message);
    assert.match(e.message, words);
  }
});

test('nesting: exactly the limit is fine, one more is refused without recursion', () => {
  const at = (n: number) => '['.repeat(n) + ']'.repeat(n);
  assert.ok(parseStrictJson(at(MAX_JSON_DEPTH)));
  assert.is(refused(at(MAX_JSON_DEPTH + 1)).code, 'bad-json');
  assert.match(refused('['.repeat(1_000_000)).message, /nests deeper than 32 levels/);
});

test('equal keys in different objects are fine; a key inside a string value is not a key', () => {
  assert.equal(parseStrictJson('[{"a":1},{"a":2},{"b":{"a":3}}]'), [{ a: 1 }, { a: 2 }, { b: { a: 3 } }]);
  assert.equal(parseStrictJson('{"a":"\\"a\\":1","b":"{\\"__proto__\\":1}"}'), { a: '"a":1', b: '{"__proto__":1}' });
});

test('the fast path (colon count vs parsed members) and the byte scan agree: duplicates and forbidden keys anywhere, escaped quotes and backslashes in strings', () => {
  // Keys and values made of backslashes, quotes and JSON punctuation: the quick pass must end each string where JSON does.
  const tricky = String.raw`{"a\\\\":1,"b\\\"":"\\\\","c:":":{[","d\"":"\"}]:"}`;
  assert.equal(parseStrictJson(tricky), JSON.parse(tricky));
  const dup = String.raw`{"a\\\\":1,"x":"\\\\\"","a\\\\":2}`;
  assert.is(refused(dup).details?.[0]?.path, '/' + Object.keys(JSON.parse(dup))[0]);
  // Any JSON value, with a repeated key or a forbidden key put inside it, is refused at that path.
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 6 }), fc.constantFrom('"d":1,"d":2', '"__proto__":{}', '"constructor":1'), (v, inner) => {
      const text = JSON.stringify(v);
      fc.pre(!/"(__proto__|constructor|prototype)":/.test(text));
      const e = refused(`[${text},{"k":{${inner}}}]`);
      assert.is(e.code, 'invalid');
      assert.is(e.details?.[0]?.path, `/1/k/${inner.slice(1, inner.indexOf('"', 1))}`);
    }),
    { numRuns: 300 },
  );
  // Syntax errors still yield to an earlier refusal, as the byte scan meets them.
  assert.is(refused('{"a":1,"a":').code, 'invalid');
});

test('the size limit comes first', () => {
  const e = (() => {
    try {
      parseStrictJson('"' + 'x'.repeat(100) + '"', { maxBytes: 50 });
    } catch (x) {
      return x as ProtocolError;
    }
    return undefined;
  })();
  assert.is(e?.code, 'too-large');
});

test('arbitrary bytes never throw anything but a ProtocolError (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        parseStrictJson(Buffer.from(bytes));
      } catch (e) {
        assert.instance(e, ProtocolError);
      }
    }),
    { numRuns: 2000 },
  );
});

test.run();
