// The core benchmark as a user runs it: `npm run bench -- core --json --quick` in a child process.
// Checks the output contract (stdout holds npm's banner and exactly one JSON object with every
// figure of issue 2 as a finite number) and that the run cleans up after itself (its temp dirs
// are gone and none of its processes is left). No timing is asserted: numbers are the bench's job.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../../..', import.meta.url).pathname;
const FIGURES = [
  'provision_rtt_p50_ms',
  'provision_rtt_p99_ms',
  'reconnect_s',
  'idle_rss_mb',
  'fleet_devices',
  'fleet_total_s_aedes',
  'fleet_total_s_mosquitto',
  'fleet_broker_cpu_s_aedes',
  'fleet_broker_cpu_s_mosquitto',
  'lockouts',
  'flood_ping_delay_ms',
  'fuzz_cases',
  'fuzz_escapes',
];

function runBench(tmp: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Its own TMPDIR, so what the run leaves behind (dirs, processes using them) is visible.
    const child = spawn('npm', ['run', 'bench', '--', 'core', '--json', '--quick'], {
      cwd: root,
      env: { ...process.env, TMPDIR: tmp, HEARTH_BENCH_FLEET_DEVICES: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 150_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Pids of processes whose command line mentions `path`. */
function processesUsing(path: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(path)) out.push(Number(name));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

test('npm run bench -- core --json --quick prints one JSON object with every figure and cleans up', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'hearth-bench-smoke-'));
  try {
    const r = await runBench(tmp);
    assert.is(r.code, 0, `bench exited with ${r.code}:\n${r.stderr.slice(-3000)}`);

    // npm's own banner lines start with "> "; everything else on stdout must be the one JSON line.
    const lines = r.stdout.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('> '));
    assert.is(lines.length, 1, `stdout should hold exactly one JSON line, got:\n${r.stdout}`);
    const figures = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(Object.keys(figures).sort(), [...FIGURES].sort(), 'exactly the figures issues 2 and 12 name');
    for (const k of FIGURES) {
      const v = figures[k];
      assert.type(v, 'number', `${k} is a number`);
      assert.ok(Number.isFinite(v as number), `${k} is finite (${v})`);
      assert.ok((v as number) >= 0, `${k} is not negative (${v})`);
    }
    // Internal consistency, not speed: a p99 is never below the p50; the quick fleet is 25
    // devices; every measured quantity is something (a process uses memory, a run takes time).
    assert.ok((figures.provision_rtt_p99_ms as number) >= (figures.provision_rtt_p50_ms as number), 'p99 ≥ p50');
    assert.is(figures.fleet_devices, 25);
    for (const k of ['provision_rtt_p50_ms', 'reconnect_s', 'idle_rss_mb', 'fleet_total_s_aedes', 'fleet_total_s_mosquitto']) {
      assert.ok((figures[k] as number) > 0, `${k} > 0`);
    }

    // (tsx keeps its compile cache in TMPDIR too; that one is not the bench's.)
    assert.equal(
      readdirSync(tmp).filter((f) => !f.startsWith('tsx-')),
      [],
      'the bench removed every temp dir it made',
    );
    assert.equal(processesUsing(tmp), [], 'no broker, device or fleet process of the run is left');
  } finally {
    for (const pid of processesUsing(tmp)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    rmSync(tmp, { recursive: true, force: true });
  }
});

test.run();
