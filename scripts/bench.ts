// The benchmark command: `npm run bench -- [name...] [--json] [--quick]`.
// Each name is a module bench/<name>.ts exporting
//   async function run(opts: { json: boolean; quick: boolean }): Promise<Record<string, number>>
// which returns its figures and, without --json, prints its own table. No name runs every module
// in bench/. With --json, stdout carries exactly ONE JSON object (one module: its figures; several:
// { "<name>": {...} }); anything else written to stdout meanwhile is sent to stderr, so the output
// can be piped (use `npm run -s bench -- ... --json` to drop npm's own banner).
// Exit status: 0 when every module ran and returned finite numbers, 1 otherwise, 2 for bad usage.
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

type Figures = Record<string, number>;
type BenchModule = { run(opts: { json: boolean; quick: boolean }): Promise<Figures> };

const root = new URL('..', import.meta.url).pathname;
const benchDir = join(root, 'bench');
const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const unknownFlags = args.filter((a) => a.startsWith('-') && !['--json', '--quick', '--help', '-h'].includes(a));
const available = existsSync(benchDir)
  ? readdirSync(benchDir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.slice(0, -3))
      .sort()
  : [];

if (args.includes('--help') || args.includes('-h')) {
  console.log(
    [
      'usage: npm run bench -- [name...] [--json] [--quick]',
      '',
      '  name     a benchmark in bench/ (default: all of them)',
      '  --json   print one JSON object with the figures (and nothing else on stdout)',
      '  --quick  a short run (fewer samples, smaller fleet), for smoke tests',
      '',
      `available: ${available.join(', ') || '(none)'}`,
    ].join('\n'),
  );
  process.exit(0);
}
const names = args.filter((a) => !a.startsWith('-'));
const missing = names.filter((n) => !available.includes(n));
if (unknownFlags.length || missing.length) {
  if (unknownFlags.length) console.error(`unknown option ${unknownFlags.join(', ')}`);
  if (missing.length) console.error(`no benchmark ${missing.join(', ')} in bench/; available: ${available.join(', ') || '(none)'}`);
  process.exit(2);
}
const selected = names.length ? names : available;
if (selected.length === 0) {
  console.error('there is no benchmark in bench/');
  process.exit(1);
}

// In --json mode stdout is reserved for the result: divert everything else to stderr.
const realStdoutWrite = process.stdout.write.bind(process.stdout);
if (json) process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;

// Ctrl-C or a kill: exit normally so the modules' exit hooks stop their child processes.
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    console.error(`\nbench: ${sig}, stopping`);
    process.exit(130);
  });

const results: Record<string, Figures> = {};
let failed = false;
for (const name of selected) {
  if (!json && selected.length > 1) console.log(`\n== ${name} ==`);
  const t0 = performance.now();
  try {
    const mod = (await import(pathToFileURL(join(benchDir, `${name}.ts`)).href)) as Partial<BenchModule>;
    if (typeof mod.run !== 'function') throw new Error(`bench/${name}.ts does not export run()`);
    const figures = await mod.run({ json, quick });
    const bad = Object.entries(figures ?? {}).filter(([, v]) => typeof v !== 'number' || !Number.isFinite(v));
    if (!figures || Object.keys(figures).length === 0) throw new Error('returned no figures');
    if (bad.length) throw new Error(`returned non-numbers: ${bad.map(([k, v]) => `${k}=${String(v)}`).join(', ')}`);
    results[name] = figures;
    if (!json) console.log(`\n(${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed = true;
    console.error(`bench ${name} failed: ${(e as Error).stack ?? e}`);
  }
}

const done = () => process.exit(failed ? 1 : 0);
if (json) {
  const out = selected.length === 1 ? (results[selected[0]!] ?? {}) : results;
  realStdoutWrite(JSON.stringify(out) + '\n', done);
} else {
  done();
}
