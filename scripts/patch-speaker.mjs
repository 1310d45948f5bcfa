#!/usr/bin/env node
// Fixes a native memory leak in `speaker` 0.5.5 (the only ALSA output module, see DESIGN.md):
// every write() creates an napi_async_work and never deletes it, so a player leaks about 0.45 KB
// per ALSA write: gigabytes a day at 100 writes/s (measured: test/integration/hal/speaker-leak.test.ts).
// Upstream's fix (TooTallNate/node-speaker#144, open since 2020) is not released, so we apply the
// same change to the installed source (patches/speaker-0.5.5-delete-async-work.patch shows it) and
// rebuild the addon. Idempotent; fails loudly if the source is not the one the patch was written for.
//
//   node scripts/patch-speaker.mjs                   patch node_modules/speaker and rebuild it (postinstall)
//   node scripts/patch-speaker.mjs DIR --no-rebuild  patch the source in DIR only (the image build
//                                                    compiles it for arm64 itself)
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const MARK = 'hearth: napi_delete_async_work';
const EDITS = [
  ['  napi_deferred deferred;\n} WriteData;', `  napi_deferred deferred;\n  napi_async_work work; /* ${MARK} */\n} WriteData;`],
  ['  assert(napi_resolve_deferred(env, data->deferred, written) == napi_ok);\n\n  free(_data);',
    '  assert(napi_resolve_deferred(env, data->deferred, written) == napi_ok);\n\n  napi_delete_async_work(env, data->work);\n  free(_data);'],
  ['  assert(napi_queue_async_work(env, work) == napi_ok);', '  data->work = work;\n  assert(napi_queue_async_work(env, work) == napi_ok);'],
];

/** Patches speaker's binding.c in `dir`; returns true if it changed the file, false if it was already patched. */
export function patchSpeaker(dir) {
  const file = join(dir, 'src/binding.c');
  let src = readFileSync(file, 'utf8');
  if (src.includes(MARK)) return false;
  const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  for (const [from, to] of EDITS) {
    if (src.split(from).length !== 2) throw new Error(`speaker ${version}: ${file} is not the source the leak fix was written for (0.5.5); check patches/ and upstream`);
    src = src.replace(from, to);
  }
  writeFileSync(file, src);
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const dir = args.find((a) => !a.startsWith('--')) ?? 'node_modules/speaker';
  const changed = patchSpeaker(dir);
  console.log(`[patch-speaker] ${dir}: ${changed ? 'leak fix applied' : 'already patched'}`);
  if (changed && !args.includes('--no-rebuild')) {
    console.log('[patch-speaker] rebuilding the speaker addon');
    execFileSync('npm', ['rebuild', 'speaker', '--loglevel=error'], { stdio: 'inherit' });
  }
}
