// Child processes and temp dirs for benchmarks, with cleanup guaranteed: everything spawned or
// created through here is killed / removed by `cleanupAll()`, and again (synchronously) when the
// bench process exits for any reason, so no broker or device outlives a run.
// Also: what Linux says about a process (RSS, CPU seconds), and small port helpers.
import { spawn, execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Child {
  proc: ChildProcess;
  readonly pid: number;
  /** Last few KiB of stderr, for error messages. */
  stderr(): string;
  exited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const children = new Set<Child>();
const dirs = new Set<string>();

export function spawnChild(cmd: string, args: string[], opts: SpawnOptions = {}): Child {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
  if (proc.pid === undefined) throw new Error(`could not start ${cmd}`);
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4096);
  });
  const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const child: Child = {
    proc,
    pid: proc.pid,
    stderr: () => err,
    exited: () => proc.exitCode !== null || proc.signalCode !== null,
    async stop(graceMs = 3000) {
      children.delete(child);
      if (child.exited()) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!child.exited()) proc.kill('SIGKILL');
      }, graceMs);
      await gone;
      clearTimeout(timer);
    },
  };
  children.add(child);
  return child;
}

export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(d);
  return d;
}

export function removeDir(d: string): void {
  rmSync(d, { recursive: true, force: true });
  dirs.delete(d);
}

/** Stops every child still running and removes every temp dir. */
export async function cleanupAll(): Promise<void> {
  await Promise.all([...children].map((c) => c.stop(1000)));
  for (const d of [...dirs]) removeDir(d);
}

process.on('exit', () => {
  for (const c of children) if (!c.exited()) c.proc.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Resident set size from /proc/<pid>/status (VmRSS), in MB (10^6 bytes). */
export function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return (Number(m[1]) * 1024) / 1e6;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds a process has used so far: utime + stime from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; the fields after its closing ")" are fixed.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]); // field 14
  const stime = Number(rest[12]); // field 15
  return (utime + stime) / ticksPerSecond();
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port (polled every `everyMs`). */
export async function waitForPort(port: number, timeoutMs = 10_000, everyMs = 5, alive?: () => boolean): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (alive && !alive()) throw new Error(`the process meant to listen on port ${port} exited`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resolves with the first stdout line of `child` (spawned with stdout piped) matching `re`. */
export function waitForLine(child: Child, re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const out = child.proc.stdout;
  if (!out) return Promise.reject(new Error("the child's stdout is not piped"));
  return new Promise((resolve, reject) => {
    let buf = '';
    const done = (f: () => void) => {
      clearTimeout(timer);
      out.off('data', onData);
      child.proc.off('exit', onExit);
      f();
    };
    const onData = (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = re.exec(line);
        if (m) {
          done(() => resolve(m));
          return;
        }
      }
    };
    const onExit = () => done(() => reject(new Error(`process ${child.pid} exited before printing ${re}: ${child.stderr().slice(-1000)}`)));
    const timer = setTimeout(() => done(() => reject(new Error(`no ${re} from process ${child.pid} within ${timeoutMs} ms`))), timeoutMs);
    out.on('data', onData);
    child.proc.once('exit', onExit);
  });
}
