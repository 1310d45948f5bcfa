// A child process speaking JSON lines: collects every line, lets a test wait for one, and sends
// requests. Used for the waker device and the WoL receiver running inside namespaces.
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface JsonChild {
  lines: any[];
  stderr: string;
  waitFor(pred: (l: any) => boolean, timeoutMs?: number, from?: number): Promise<any>;
  request(body: Record<string, unknown>, timeoutMs?: number): Promise<any>;
  kill(): Promise<void>;
}

let tags = 0;

export function jsonChild(proc: ChildProcess, name: string): JsonChild {
  const lines: any[] = [];
  const waiters = new Set<() => void>();
  const c: JsonChild = {
    lines,
    stderr: '',
    waitFor(pred, timeoutMs = 10_000, from = 0) {
      return new Promise((resolve, reject) => {
        const look = () => {
          const hit = lines.slice(from).find(pred);
          if (hit) {
            waiters.delete(look);
            clearTimeout(timer);
            resolve(hit);
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          waiters.delete(look);
          reject(new Error(`${name}: timed out after ${timeoutMs} ms; stderr: ${c.stderr.slice(-2000)}`));
        }, timeoutMs);
        if (!look()) waiters.add(look);
      });
    },
    async request(body, timeoutMs = 10_000) {
      const tag = `t${++tags}`;
      proc.stdin!.write(JSON.stringify({ tag, ...body }) + '\n');
      const l = await c.waitFor((x) => x.tag === tag, timeoutMs);
      if (l.error) throw new Error(l.error);
      return l.reply;
    },
    kill() {
      return new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) {
          resolve();
          return;
        }
        const t = setTimeout(() => proc.kill('SIGKILL'), 3_000);
        proc.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        if (proc.stdin && !proc.stdin.destroyed) proc.stdin.end();
        else proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGTERM'), 1_500).unref();
      });
    },
  };
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    try {
      lines.push(JSON.parse(l));
    } catch {
      c.stderr += `[stdout] ${l}\n`;
      return;
    }
    for (const w of [...waiters]) w();
  });
  proc.stderr!.on('data', (d) => {
    c.stderr += d;
  });
  return c;
}
