#!/usr/bin/env node
// Two changes to `speaker` 0.5.5's addon (the only ALSA output module, see docs/audio.md), applied to
// the installed source and rebuilt (patches/speaker-0.5.5-hearth.patch shows them):
// 1. A native memory leak: every write() created an napi_async_work and never deleted it, about
//    0.45 KB per ALSA write: gigabytes a day for a player (test/integration/hal/speaker-leak.test.ts).
//    Upstream's fix (TooTallNate/node-speaker#144, open since 2020) is not released.
// 2. `delay(handle)`: snd_pcm_delay(), the frames queued between the application and the DAC. A
//    player must know when each frame reaches the DAC; without it, speaker only tells when ALSA
//    accepted a write, and the sink had to guess the device's buffer size.
// Idempotent; fails loudly if the source is not the one these edits were written for.
//
//   node scripts/patch-speaker.mjs                   patch node_modules/speaker and rebuild it (postinstall)
//   node scripts/patch-speaker.mjs DIR --no-rebuild  patch the source in DIR only (the image build
//                                                    compiles it for arm64 itself)
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const DELAY_FN = `
/* hearth: delay(handle) -> frames queued between the application and the DAC (snd_pcm_delay),
   or a negative errno (-EPIPE after an underrun, -ENOSYS on a backend other than ALSA). */
napi_value speaker_delay(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  assert(napi_get_cb_info(env, info, &argc, args, NULL, NULL) == napi_ok);

  Speaker *speaker;
  assert(napi_unwrap(env, args[0], (void**) &speaker) == napi_ok);
  double frames = -38;
#if defined(__linux__)
  if (strcmp(mpg123_output_module_info.name, "alsa") == 0 && speaker->ao.userptr != NULL) {
    snd_pcm_sframes_t d = 0;
    int r = snd_pcm_delay((snd_pcm_t*) speaker->ao.userptr, &d);
    frames = r < 0 ? (double) r : (double) d;
  }
#endif
  napi_value out;
  assert(napi_create_double(env, frames, &out) == napi_ok);
  return out;
}

int get_formats() {`;

const EDITS = [
  // 1. the leak
  [
    '  napi_deferred deferred;\n} WriteData;',
    '  napi_deferred deferred;\n  napi_async_work work; /* hearth: napi_delete_async_work */\n} WriteData;',
  ],
  [
    '  assert(napi_resolve_deferred(env, data->deferred, written) == napi_ok);\n\n  free(_data);',
    '  assert(napi_resolve_deferred(env, data->deferred, written) == napi_ok);\n\n  napi_delete_async_work(env, data->work);\n  free(_data);',
  ],
  [
    '  assert(napi_queue_async_work(env, work) == napi_ok);',
    '  data->work = work;\n  assert(napi_queue_async_work(env, work) == napi_ok);',
  ],
  // 2. delay()
  ['#include "output.h"\n', '#include "output.h"\n\n#if defined(__linux__)\n#include <alsa/asoundlib.h> /* hearth: delay() */\n#endif\n'],
  ['\nint get_formats() {', DELAY_FN],
  [
    '  napi_value close_fn;\n',
    '  napi_value delay_fn; /* hearth */\n  assert(napi_create_function(env, "delay", NAPI_AUTO_LENGTH, speaker_delay, NULL, &delay_fn) == napi_ok);\n  assert(napi_set_named_property(env, result, "delay", delay_fn) == napi_ok);\n\n  napi_value close_fn;\n',
  ],
];

/** Patches speaker's binding.c in `dir`; returns true if it changed the file, false if every edit was in already. */
export function patchSpeaker(dir) {
  const file = join(dir, 'src/binding.c');
  const original = readFileSync(file, 'utf8');
  let src = original;
  const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  for (const [from, to] of EDITS) {
    if (src.includes(to)) continue;
    if (src.split(from).length !== 2)
      throw new Error(`speaker ${version}: ${file} is not the source these edits were written for (0.5.5); check patches/ and upstream`);
    src = src.replace(from, to);
  }
  if (src === original) return false;
  writeFileSync(file, src);
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const dir = args.find((a) => !a.startsWith('--')) ?? 'node_modules/speaker';
  const changed = patchSpeaker(dir);
  console.log(`[patch-speaker] ${dir}: ${changed ? 'patched' : 'already patched'}`);
  if (changed && !args.includes('--no-rebuild')) {
    console.log('[patch-speaker] rebuilding the speaker addon');
    execFileSync('npm', ['rebuild', 'speaker', '--loglevel=error'], { stdio: 'inherit' });
  }
}
