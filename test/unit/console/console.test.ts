// The console's logic that needs no browser: the merge patch the config editor sends, the
// protocol's own validation of an edited config (errors at JSON paths), and the rule that the
// console builds no topic by hand.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { mergePatchBetween } from '../../../device/console/src/patch.ts';
import { configErrors } from '../../../device/console/src/views/devices.ts';

const SRC = new URL('../../../device/console/src/', import.meta.url).pathname;

test('merge patch: only what changed, null for what was removed, nothing for equal values', () => {
  const from = { v: 2, id: 'k', mqtt: { url: 'mqtt://x', password: '***' }, roles: { player: { stream: 'a', latencyMs: 100 } } };
  assert.is(mergePatchBetween(from, structuredClone(from)), undefined);
  const to = structuredClone(from) as Record<string, any>;
  to.roles.player.latencyMs = 150;
  delete to.roles.player.stream;
  to.name = 'Kitchen';
  assert.equal(mergePatchBetween(from, to), { roles: { player: { stream: null, latencyMs: 150 } }, name: 'Kitchen' });
  // the redacted password is not in the patch, so the device keeps its secret
  assert.not.ok(JSON.stringify(mergePatchBetween(from, to)).includes('***'));
  // arrays are replaced whole (RFC 7396)
  assert.equal(mergePatchBetween({ a: [1, 2] }, { a: [1, 3] }), { a: [1, 3] });
});

test("the config editor reports the protocol's own errors at their JSON paths", () => {
  const ok = { v: 2, id: 'kitchen', mqtt: { url: 'mqtt://hub:1883' }, roles: { player: { stream: 'living/music' } } };
  assert.equal(configErrors(JSON.stringify(ok)), []);
  const bad = structuredClone(ok) as Record<string, any>;
  bad.roles.player.latencyMs = 1;
  bad.roles.player.colour = 'red';
  const errs = configErrors(JSON.stringify(bad));
  assert.ok(
    errs.some((e) => e.path === '/roles/player/latencyMs' && /20/.test(e.message)),
    JSON.stringify(errs),
  );
  assert.ok(
    errs.some((e) => e.path === '/roles/player/colour' && /unknown field/.test(e.message)),
    JSON.stringify(errs),
  );
  const broken = configErrors('{ "v": 2, ');
  assert.is(broken.length, 1);
  assert.is(broken[0]!.path, '');
  assert.match(broken[0]!.message, /not valid JSON/);
});

test('the console builds no topic by hand: every topic comes from protocol/topics.ts', () => {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(SRC);
  assert.ok(files.length >= 8);
  for (const f of files) {
    const text = readFileSync(f, 'utf8').replace(/^\s*\/\/.*$/gm, '');
    for (const pattern of [/['"`][^'"`\n]*\/(cmd|state|event|reply|config\/set|status|telemetry)\b[^'"`\n]*['"`]/, /['"`]hearth\//]) {
      const m = pattern.exec(text);
      assert.not.ok(m, `${f} builds a topic by hand: ${m?.[0]}`);
    }
  }
});

test.run();
