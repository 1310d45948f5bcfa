// The layering rule (protocol ← core ← hal ← roles ← tools ← cli) and no import cycles, checked
// over every file of protocol/ and device/ (scripts/architecture.ts walks the imports with the
// TypeScript parser). KNOWN lists what is still to be untangled: the test fails on any other
// cycle or upward import, and on a KNOWN entry that has been fixed (so the list only shrinks).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { graph, cycles, upwardImports, ROOT } from '../../../scripts/architecture.ts';
import { ROLE_SPECS } from '../../../protocol/index.ts';

const KNOWN_CYCLES: string[] = [];
const KNOWN_UPWARD: string[] = [];

const g = graph();

test('no import cycle beyond the known ones', () => {
  const found = cycles(g).map((c) => c.join(' ⇄ '));
  assert.equal(
    found.filter((c) => !KNOWN_CYCLES.includes(c)),
    [],
    'new import cycles',
  );
  assert.equal(
    KNOWN_CYCLES.filter((c) => !found.includes(c)),
    [],
    'fixed: remove these from KNOWN_CYCLES',
  );
});

test('no import runs up a layer beyond the known ones', () => {
  const found = upwardImports(g);
  assert.equal(
    found.filter((u) => !KNOWN_UPWARD.includes(u)),
    [],
    'new upward imports',
  );
  assert.equal(
    KNOWN_UPWARD.filter((u) => !found.includes(u)),
    [],
    'fixed: remove these from KNOWN_UPWARD',
  );
});

test('core names no role: no file of device/core imports a role, and none mentions one by name in code', () => {
  const names = new Set(ROLE_SPECS.map((s) => s.name));
  for (const [from, tos] of g) {
    if (!from.startsWith('device/core/')) continue;
    for (const to of tos) assert.not.match(to, /^device\/(audio|tuner|waker|hub)\//, `${from} imports ${to}`);
    assert.equal(roleLiterals(from, names), [], `${from} names a role in a string`);
  }
  assert.equal(roleLiterals('protocol/roles/player.ts', names), ['player'], 'the check sees a role named in code');
});

/** String literals of a file (comments aside) that are a role's name. */
function roleLiterals(file: string, names: Set<string>): string[] {
  const src = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, false);
  const out = new Set<string>();
  const visit = (n: ts.Node) => {
    if ((ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) && names.has(n.text)) out.add(n.text);
    ts.forEachChild(n, visit);
  };
  visit(src);
  return [...out];
}

test('the walker sees a cycle and an upward import when there is one', () => {
  const fake = new Map<string, string[]>([
    ['device/core/a.ts', ['device/hub/b.ts']],
    ['device/hub/b.ts', ['device/core/a.ts']],
    ['protocol/c.ts', []],
  ]);
  assert.equal(cycles(fake), [['device/core/a.ts', 'device/hub/b.ts']]);
  assert.equal(upwardImports(fake), ['device/core/a.ts (core) → device/hub/b.ts (roles)']);
});

test('protocol/ imports no node: module: the console bundles it for the browser', () => {
  const nodeImports: string[] = [];
  for (const [from] of g) {
    if (!from.startsWith('protocol/')) continue;
    const src = ts.createSourceFile(from, readFileSync(join(ROOT, from), 'utf8'), ts.ScriptTarget.Latest, false);
    for (const st of src.statements) {
      if ((ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier)) {
        if (st.moduleSpecifier.text.startsWith('node:')) nodeImports.push(`${from} imports ${st.moduleSpecifier.text}`);
      }
    }
  }
  assert.ok(g.has('protocol/json.ts'), 'the graph covers protocol/');
  assert.equal(nodeImports, []);
});

test.run();
