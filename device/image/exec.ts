// Running the image tools (sfdisk, mkfs.vfat, mtools, mke2fs, debugfs, mmdebstrap, dtc...). Every
// call names the program and its arguments, never a shell string, and a failure carries the
// program's own error output, so a person sees why (e.g. "mkfs.vfat: command not found").
import { spawn } from 'node:child_process';

export interface RunOptions {
  input?: string | Buffer;
  env?: Record<string, string>;
  cwd?: string;
  /** Called for each line of stdout and stderr as it arrives (long steps show progress). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export class CommandError extends Error {
  constructor(
    readonly cmd: string,
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`${cmd} failed${code === null ? '' : ` (exit ${code})`}: ${stderr.trim().split('\n').slice(-12).join('\n') || 'no output'}`);
    this.name = 'CommandError';
  }
}

export function run(cmd: string, args: readonly string[], o: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: o.cwd, env: { ...process.env, ...(o.env ?? {}) }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const partial = { stdout: '', stderr: '' };
    const feed = (stream: 'stdout' | 'stderr', chunk: string) => {
      if (!o.onLine) return;
      const text = partial[stream] + chunk;
      const lines = text.split('\n');
      partial[stream] = lines.pop() ?? '';
      for (const l of lines) o.onLine(l, stream);
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      feed('stdout', d);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      feed('stderr', d);
    });
    child.on('error', (e) =>
      reject(new CommandError(cmd, null, (e as NodeJS.ErrnoException).code === 'ENOENT' ? `${cmd}: command not found` : e.message)),
    );
    child.on('close', (code) => {
      for (const s of ['stdout', 'stderr'] as const) if (partial[s] && o.onLine) o.onLine(partial[s], s);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new CommandError(`${cmd} ${args.join(' ')}`.slice(0, 300), code, stderr || stdout));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(o.input ?? '');
  });
}

/** True when `cmd` can be started (found on PATH). */
export async function have(cmd: string): Promise<boolean> {
  try {
    await run('sh', ['-c', 'command -v "$1"', 'sh', cmd]);
    return true;
  } catch {
    return false;
  }
}
