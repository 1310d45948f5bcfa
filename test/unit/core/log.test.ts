// The logger: one level per logger tree (set from the config at run time), syslog priority
// prefixes for journald, and a reader that goes away (`| head`) is not a crash.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createLogger, SYSLOG_PRIORITY } from '../../../device/core/log.ts';

const root = new URL('../../../', import.meta.url).pathname;

function captured(opts: Parameters<typeof createLogger>[0] = {}) {
  const lines: string[] = [];
  const log = createLogger({ format: 'json', journal: false, sink: { write: (l) => lines.push(l) }, ...opts });
  return { log, lines };
}

test('setLevel on a child changes the whole tree, parent and siblings included', () => {
  const { log, lines } = captured({ level: 'info' });
  const a = log.child({ device: 'a' });
  const b = a.child({ role: 'player' });
  b.debug('hidden');
  assert.is(lines.length, 0);
  a.setLevel('debug');
  assert.is(log.level, 'debug');
  b.debug('shown');
  log.debug('shown too');
  assert.is(lines.length, 2);
  b.setLevel('error');
  log.warn('hidden');
  a.info('hidden');
  b.error('shown');
  assert.is(lines.length, 3);
  assert.is(JSON.parse(lines[2]!).msg, 'shown');
});

test('an unknown level is ignored (the tree keeps its level)', () => {
  const { log } = captured({ level: 'warn' });
  log.setLevel('loud' as 'info');
  assert.is(log.level, 'warn');
});

test('under journald every line starts with its syslog priority', () => {
  const { log, lines } = captured({ level: 'debug', journal: true });
  log.debug('d');
  log.info('i');
  log.warn('w');
  log.error('e');
  assert.equal(
    lines.map((l) => l.slice(0, 3)),
    ['<7>', '<6>', '<4>', '<3>'],
  );
  assert.equal(SYSLOG_PRIORITY, { debug: 7, info: 6, warn: 4, error: 3 });
  // the rest of the line is the JSON object as before
  assert.is(JSON.parse(lines[2]!.slice(3)).msg, 'w');
});

test('JOURNAL_STREAM in the environment turns the prefixes on by default', () => {
  const script = "import { createLogger } from './device/core/log.ts'; createLogger({ format: 'json' }).warn('x');";
  const withJ = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env: { ...process.env, JOURNAL_STREAM: '8:12345' },
    encoding: 'utf8',
  });
  const env = { ...process.env };
  delete env.JOURNAL_STREAM;
  const without = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env,
    encoding: 'utf8',
  });
  assert.ok(withJ.stdout.startsWith('<4>{'), withJ.stdout + withJ.stderr);
  assert.ok(without.stdout.startsWith('{'), without.stdout + without.stderr);
});

test('piped into head: the logger stops quietly when the reader has gone (no EPIPE crash)', () => {
  // 20 000 lines into `head -n 1`: head exits after the first, later writes hit a closed pipe.
  const script =
    "import { createLogger } from './device/core/log.ts'; const l = createLogger({ format: 'json' }); " +
    "let i = 0; const tick = () => { for (let k = 0; k < 500; k++) l.info('line ' + i++); if (i < 20000) setTimeout(tick, 1); else setTimeout(() => process.exit(0), 50); }; tick();";
  const r = spawnSync(
    'bash',
    ['-c', `set -o pipefail; "${process.execPath}" --import tsx --input-type=module -e "${script}" | head -n 1 >/dev/null`],
    { cwd: root, encoding: 'utf8' },
  );
  assert.is(r.stderr.includes('EPIPE'), false, r.stderr);
  assert.is(r.status, 0, `exit ${r.status}: ${r.stderr}`);
});

test.run();
