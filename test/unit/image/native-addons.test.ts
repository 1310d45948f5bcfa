// The native addons are listed once (native-addons.json); everything else that must agree with
// the list is derived from it or checked here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { NATIVE_ADDONS } from '../../../device/image/native-addons.ts';

const root = new URL('../../../', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
  dependencies: Record<string, string>;
  allowScripts: Record<string, boolean>;
};

test('every native addon is a dependency whose install script (node-gyp) is approved', () => {
  assert.ok(NATIVE_ADDONS.length >= 4);
  for (const a of NATIVE_ADDONS) {
    assert.ok(pkg.dependencies[a], `${a} is a dependency`);
    assert.is(pkg.allowScripts[a], true, `${a}'s install script is approved`);
  }
});

test('no other list of them is left in the build, the image or the bench', () => {
  for (const f of [
    'scripts/build.mjs',
    'device/image/build.ts',
    'images/base/customize-hook.sh',
    'bench/lib/bundle.ts',
    'bench/audio.ts',
  ]) {
    const text = readFileSync(`${root}${f}`, 'utf8');
    assert.not.match(text, /['"]speaker['"],\s*['"]alsa-capture['"]|speaker alsa-capture/, `${f} lists the addons itself`);
  }
});

test.run();
