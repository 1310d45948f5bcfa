// The image's node_modules keep what the addons load at run time and lose the build tools that
// came in as ordinary dependencies (node-gyp's tree, nan).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, writeFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { pruneToRuntime } from '../../../device/image/runtime-modules.ts';

function tree(pkgs: Record<string, { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> }>): string {
  const nm = join(mkdtempSync(join(tmpdir(), 'hearth-nm-')), 'node_modules');
  for (const [name, m] of Object.entries(pkgs)) {
    mkdirSync(join(nm, name), { recursive: true });
    writeFileSync(join(nm, name, 'package.json'), JSON.stringify({ name, ...m }));
  }
  mkdirSync(join(nm, '.bin'));
  return nm;
}
const list = (nm: string) =>
  readdirSync(nm)
    .flatMap((e) => (e.startsWith('@') ? readdirSync(join(nm, e)).map((s) => `${e}/${s}`) : [e]))
    .sort();

test('keeps the addons and their run-time closure; removes node-gyp, what only it needs, and nan', async () => {
  const nm = tree({
    'alsa-capture': { dependencies: { eventemitter3: '4', nan: '2', 'node-gyp': '9' } },
    speaker: { dependencies: { bindings: '1', debug: '4' }, optionalDependencies: { '@scope/kept': '1', 'not-installed': '1' } },
    bindings: { dependencies: { 'file-uri-to-path': '1' } },
    'file-uri-to-path': {},
    debug: { dependencies: { ms: '2' } },
    ms: {},
    eventemitter3: {},
    nan: {},
    'node-gyp': { dependencies: { tar: '6', '@npmcli/fs': '2', debug: '4' } },
    tar: {},
    '@npmcli/fs': {},
    '@scope/kept': {},
  });
  const removed = await pruneToRuntime(nm, ['speaker', 'alsa-capture']);
  assert.equal(removed, ['@npmcli/fs', 'nan', 'node-gyp', 'tar']);
  assert.equal(list(nm), ['@scope/kept', 'alsa-capture', 'bindings', 'debug', 'eventemitter3', 'file-uri-to-path', 'ms', 'speaker']);
  assert.not.ok(existsSync(join(nm, '.bin')), 'links into removed packages go too');
  rmSync(join(nm, '..'), { recursive: true });
});

test('a missing dependency is an error naming who needs it (the device would fail to load it)', async () => {
  const nm = tree({ cap: { dependencies: { bindings: '1' } } });
  try {
    await pruneToRuntime(nm, ['cap']);
    assert.unreachable('pruned a tree with a missing dependency');
  } catch (e) {
    assert.match((e as Error).message, /bindings \(needed by cap\) is not in/);
  }
  assert.equal(list(nm), ['.bin', 'cap'], 'nothing removed');
  rmSync(join(nm, '..'), { recursive: true });
});

test.run();
