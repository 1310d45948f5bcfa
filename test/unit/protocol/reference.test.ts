import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { withReference, generateReference } from '../../../protocol/reference.ts';
import { ROLE_SPECS } from '../../../protocol/index.ts';

test('the README reference is generated from the current schemas (run `npm run reference`)', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  assert.is(withReference(readme), readme, 'README.md reference is out of date: run `npm run reference`');
});

test('every role, its config fields and commands appear in the reference', () => {
  const ref = generateReference();
  for (const spec of ROLE_SPECS) {
    assert.ok(ref.includes(`### Role \`${spec.name}\``), spec.name);
    for (const k of Object.keys(spec.config.properties)) assert.ok(ref.includes(`\`${k}\``), `${spec.name}.${k}`);
    for (const c of Object.keys(spec.commands)) assert.ok(ref.includes(`**\`${c}\`**`), `${spec.name}/${c}`);
  }
});

test.run();
