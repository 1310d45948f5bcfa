// `speaker` 0.5.5 leaked an napi_async_work per write (about 0.45 KB each: gigabytes a day for a
// player). scripts/patch-speaker.mjs fixes the installed addon; this test writes 100 000 blocks
// through the real addon to ALSA's file device (docs/testing.md) and checks the sink process's memory
// stays flat. Unpatched, RSS grows about 35 MB over the measured 80 000 writes; patched, well under 1 MB.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { alsaFiles } from '../../helpers/alsa.ts';

const WRITER = `
const Speaker = require('speaker');
const s = new Speaker({ channels: 2, sampleRate: 48000, bitDepth: 16, signed: true, device: 'sink', samplesPerFrame: 1024 });
const block = Buffer.alloc(240 * 4); // 5 ms, one ALSA write each
const rss = [];
let n = 0;
function next() {
  if (n === 20000 || n === 100000) { global.gc(); rss.push(process.memoryUsage().rss); }
  if (n === 100000) { console.log(JSON.stringify(rss)); process.exit(0); }
  n++;
  s.write(block, next);
}
next();
`;

test('100 000 writes through speaker do not grow the sink process', () => {
  const alsa = alsaFiles([]);
  try {
    // A sink whose file is /dev/null: unpaced, nothing kept on disk. speaker's addon opens the
    // default PCM when it loads (to list formats), so that one must exist too.
    const pcm = (name: string) => `pcm.${name} { type file slave { pcm { type null } } file "/dev/null" format "raw" }`;
    const conf = `</usr/share/alsa/alsa.conf>\n${pcm('!default')}\n${pcm('sink')}\n`;
    execFileSync('sh', ['-c', `printf '%s' "$0" > "$1"`, conf, alsa.confPath]);
    const out = execFileSync(process.execPath, ['--expose-gc', '-e', WRITER], {
      env: { ...process.env, ...alsa.env },
      encoding: 'utf8',
      timeout: 120_000,
    });
    const [at20k, at100k] = JSON.parse(out.trim().split('\n').pop()!) as [number, number];
    const growthMb = (at100k - at20k) / 1e6;
    assert.ok(
      growthMb < 5,
      `sink RSS grew ${growthMb.toFixed(1)} MB over 80 000 writes (leak: ${((growthMb * 1e6) / 80000).toFixed(0)} B/write)`,
    );
  } finally {
    alsa.cleanup();
  }
});

test.run();
