// The test command: type-checks the project, then runs every uvu test file in its own Node
// process (integration suites open sockets, brokers and namespaces; isolation keeps one file's
// leftovers from another), two at a time, and ends with the one summary line CI reads:
// "N passed, N failed". A run that executes no test is reported as a failure.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const suiteArg = args.indexOf('--suite');
const suites = suiteArg >= 0 ? args[suiteArg + 1]!.split(',') : ['unit', 'integration', 'interop', 'faults'];
const filters = args.filter((a, i) => !a.startsWith('--') && (suiteArg < 0 || i !== suiteArg + 1));
const skipTypecheck = args.includes('--no-typecheck');
const jobs = Number(process.env.HEARTH_TEST_JOBS ?? 2);
const fileTimeoutMs = Number(process.env.HEARTH_TEST_TIMEOUT_MS ?? 300_000);
// HEARTH_TEST_STREAM=1 (npm run test:image): each file's output is printed as it comes, not at its
// end: an image build and two QEMU boots take many minutes, and their steps should be seen.
const stream = process.env.HEARTH_TEST_STREAM === '1';

function walk(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = suites
  .flatMap((s) => {
    try {
      return walk(join(root, 'test', s));
    } catch {
      return [];
    }
  })
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

interface Result {
  name: string;
  passed: number;
  failed: number;
  skipped: number;
  ms: number;
  output: string;
  ok: boolean;
}

function run(cmd: string, argv: string[], name: string, parse: boolean): Promise<Result> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(cmd, argv, { cwd: root, env: { ...process.env, FORCE_COLOR: '0', HEARTH_TEST: '1' }, detached: true });
    let output = '';
    const take = (d: Buffer) => {
      output += d;
      if (stream && parse) process.stdout.write(String(d).replace(/^(?=.)/gm, `    | `));
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const timer = setTimeout(() => {
      output += `\n[test runner] ${name} timed out after ${fileTimeoutMs} ms\n`;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, fileTimeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = Date.now() - t0;
      if (!parse) {
        resolve({ name, passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0, ms, output, ok: code === 0 });
        return;
      }
      const num = (label: string) => [...output.matchAll(new RegExp(`${label}:\\s+(\\d+)`, 'g'))].reduce((a, m) => a + Number(m[1]), 0);
      const total = num('Total'),
        passed = num('Passed'),
        skipped = num('Skipped');
      let failed = total - passed - skipped;
      // A crash before uvu's summary, a non-zero exit, or a file with no test is a failure too.
      if (code !== 0 && failed === 0) failed = 1;
      if (total === 0 && failed === 0) {
        failed = 1;
        output += '\n[test runner] no test ran in this file\n';
      }
      resolve({ name, passed, failed, skipped, ms, output, ok: code === 0 && failed === 0 });
    });
  });
}

const results: Result[] = [];
const t0 = Date.now();
if (!skipTypecheck && filters.length === 0) {
  process.stdout.write('typecheck (tsc --noEmit) … ');
  const r = await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', '.'], 'typecheck', false);
  console.log(r.ok ? `ok (${(r.ms / 1000).toFixed(1)} s)` : 'FAILED');
  if (!r.ok) console.log(r.output);
  results.push(r);
  // One formatting for the whole tree (.prettierrc.json): an unformatted file fails the run, as a
  // type error does. `npm run format` fixes it.
  process.stdout.write('format (prettier --check) … ');
  const f = await run(
    process.execPath,
    [join(root, 'node_modules/prettier/bin/prettier.cjs'), '--check', '--log-level', 'warn', '**/*.{ts,mts,mjs,js,json}'],
    'format',
    false,
  );
  console.log(f.ok ? `ok (${(f.ms / 1000).toFixed(1)} s)` : 'FAILED (run `npm run format`)');
  if (!f.ok) console.log(f.output);
  results.push(f);
}

// Real-time audio suites (real senders, paced playout, tone analysis) run last and one at a time,
// so a parallel suite cannot steal the CPU they measure against.
const realtime = (f: string) => /test\/(interop|integration\/audio|faults\/audio)\//.test(f) || f.endsWith('speaker-paced.test.ts');
const queue = files.filter((f) => !realtime(f));
const serialQueue = files.filter(realtime);
async function worker() {
  for (let f = queue.shift(); f; f = queue.shift()) {
    const name = relative(root, f);
    if (stream) console.log(`▶ ${name}`);
    const r = await run(process.execPath, ['--import', 'tsx', f], name, true);
    results.push(r);
    const mark = r.ok ? 'ok  ' : 'FAIL';
    console.log(
      `${mark} ${name}  (${r.passed} passed${r.failed ? `, ${r.failed} failed` : ''}${r.skipped ? `, ${r.skipped} skipped` : ''}, ${(r.ms / 1000).toFixed(1)} s)`,
    );
    if ((!r.ok || process.env.HEARTH_TEST_VERBOSE) && !stream) console.log(r.output.replace(/^/gm, '    | '));
  }
}
await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
queue.push(...serialQueue);
await worker();

const passed = results.reduce((a, r) => a + r.passed, 0);
const failed = results.reduce((a, r) => a + r.failed, 0);
const skipped = results.reduce((a, r) => a + r.skipped, 0);
console.log(`\n${files.length} files in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
if (passed + failed === 0) console.log('no test ran');
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
