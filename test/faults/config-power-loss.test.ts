// Power loss while the config is being written: a child process saves config revisions through
// the real ConfigStore in a loop and is killed with SIGKILL at random moments, many times. After
// every kill the file must parse and validate, and be a whole revision (body matching its
// revision number), never older than the last save the child reported, never corrupt or empty.
//
// What this proves and what it does not: SIGKILL stops the process at any instruction, so a torn
// write or a rename of an unfinished temp file would show. A real power cut also loses the page
// cache; that is what the fsyncs in atomic-file.ts are for and cannot be simulated here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { readConfigFile } from '../../device/core/config-store.ts';
import { deviceConfigSchema } from '../../protocol/config.ts';
import { ROLE_SPECS } from '../../protocol/roles/index.ts';
import { probeSpec } from '../helpers/test-roles.ts';
import { configForRevision } from '../helpers/config-writer.ts';

const KILLS = Number(process.env.HEARTH_POWERCUT_KILLS ?? 60);
const MIN_KILLS = Math.min(KILLS, 50);
const BUDGET_MS = 25_000;
const root = new URL('../../', import.meta.url).pathname;
const schema = deviceConfigSchema([...ROLE_SPECS, probeSpec]);

/** Deterministic pseudo-random kill delays (mulberry32), so a failing run can be repeated. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

test(`config file survives ${MIN_KILLS}–${KILLS} SIGKILLs mid-save: always a whole old or new revision`, async () => {
  const work = mkdtempSync(join(tmpdir(), 'hearth-powercut-'));
  const stateDir = join(work, 'state');
  const file = join(stateDir, 'config.json');
  try {
    // A bundle starts in a fraction of the time tsx needs, so many kills fit in the budget.
    const bundle = join(work, 'writer.mjs');
    await build({
      entryPoints: [join(root, 'test/helpers/config-writer.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: bundle,
      logLevel: 'error',
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
    mkdirSync(stateDir);
    writeFileSync(file, JSON.stringify(configForRevision(0)));

    const seed = Number(process.env.HEARTH_POWERCUT_SEED ?? Date.now() % 1e9);
    const random = rng(seed);
    const t0 = Date.now();
    let lastReported = 0,
      lastSeen = 0,
      kills = 0,
      midSave = 0,
      tempFiles = 0;
    const seenRevisions = new Set<number>();
    // At least MIN_KILLS, then more while the time budget lasts.
    while (kills < MIN_KILLS || (kills < KILLS && Date.now() - t0 < BUDGET_MS)) {
      const child = spawn(process.execPath, [bundle, stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '',
        err = '';
      child.stdout!.on('data', (d) => {
        out += d;
      });
      child.stderr!.on('data', (d) => {
        err += d;
      });
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      // Wait for the first save, then kill after a random 0–25 ms while it keeps saving.
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`writer saved nothing in 10 s (seed ${seed}): ${err}`)), 10_000);
        child.stdout!.on('data', () => {
          clearTimeout(timer);
          resolve();
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`writer exited (${code}) (seed ${seed}): ${err}`));
        });
      });
      await new Promise((r) => setTimeout(r, random() * 25));
      child.kill('SIGKILL');
      await exited;
      assert.is(child.signalCode, 'SIGKILL', `the writer was killed, not finished (seed ${seed}): ${err}`);
      kills++;
      const reported = out.split('\n').filter(Boolean).map(Number);
      if (reported.length) lastReported = Math.max(lastReported, reported.at(-1)!);

      // The check: the file is there, parses, validates, and is one whole revision.
      const text = readFileSync(file, 'utf8');
      assert.ok(text.length > 0, `empty config file after kill ${kills} (seed ${seed})`);
      let stored;
      try {
        stored = await readConfigFile(file, schema);
      } catch (e) {
        assert.unreachable(`config unreadable after kill ${kills} (seed ${seed}): ${(e as Error).message}\n${text.slice(0, 300)}`);
      }
      assert.ok(stored, 'file present');
      const rev = stored!.revision;
      assert.is(stored!.config.roles.probe!.label, `rev-${rev}`, `body and revision disagree after kill ${kills} (seed ${seed})`);
      assert.equal(stored!.config, configForRevision(rev), `revision ${rev} is not exactly what was saved`);
      assert.ok(rev >= lastReported, `revision ${rev} is older than ${lastReported}, which the writer reported saved (seed ${seed})`);
      assert.ok(rev >= lastSeen, `revision went back from ${lastSeen} to ${rev} (seed ${seed})`);
      // A kill during a save leaves that save's temp file behind (nothing removes it later).
      const temps = readdirSync(stateDir).filter((n) => n.startsWith('.config.json.tmp-')).length;
      if (temps > tempFiles) midSave++;
      tempFiles = temps;
      lastSeen = rev;
      seenRevisions.add(rev);
    }
    assert.ok(lastSeen > kills, `the writer made progress (${lastSeen} revisions over ${kills} kills)`);
    // Some kills must land between creating the temp file and the rename (the dangerous window),
    // or the test proves nothing; about one in eight does on an ext4 disk.
    assert.ok(midSave >= 1, `none of ${kills} kills interrupted a write before its rename`);
    console.log(
      `  ${kills} kills in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${lastSeen} revisions written, ${midSave} kills mid-save, ${tempFiles} stale temp files left (seed ${seed})`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test.run();
