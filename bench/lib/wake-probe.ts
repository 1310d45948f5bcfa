// The machine's wake-up latency floor while a benchmark runs (wake-probe.c, built here with the C
// compiler the native addons need): the stalls a real-time thread just above the press threads
// suffered, with their times, so a late press can be told apart from a machine that was not
// running anything at that priority (a virtual machine whose CPU the host took away, interrupts).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export interface Stall {
  cpu: number;
  due: number;
  late: number;
}
export interface ProbeResult {
  stalls: Stall[];
  cpus: Array<{ cpu: number; cycles: number; maxLateMs: number; sched: string }>;
}

const SOURCE = fileURLToPath(new URL('./wake-probe.c', import.meta.url));

function build(): string {
  const src = readFileSync(SOURCE);
  const dir = fileURLToPath(new URL('../../node_modules/.cache/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const bin = join(dir, `hearth-wake-probe-${createHash('sha256').update(src).digest('hex').slice(0, 12)}`);
  if (!existsSync(bin)) execFileSync('cc', ['-O2', '-pthread', '-o', bin, SOURCE], { stdio: 'inherit' });
  return bin;
}

/** Starts the probe at `priority` (SCHED_FIFO), waking every `periodUs`, recording wake-ups later than `thresholdUs`. */
export async function startWakeProbe(o: {
  priority: number;
  periodUs?: number;
  thresholdUs?: number;
}): Promise<{ stop(): Promise<ProbeResult> }> {
  const p: ChildProcess = spawn(build(), [String(o.priority), String(o.periodUs ?? 1000), String(o.thresholdUs ?? 200)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const rl = createInterface({ input: p.stdout! });
  await new Promise<void>((resolve, reject) => {
    rl.on('line', (l) => {
      if (l === 'ready') resolve();
      else lines.push(l);
    });
    p.once('exit', (code) => reject(new Error(`wake-probe exited (${code})`)));
  });
  return {
    async stop() {
      const done = new Promise<void>((r) => p.once('exit', () => r()));
      p.stdin!.end();
      await done;
      const stalls: Stall[] = [];
      const cpus: ProbeResult['cpus'] = [];
      for (const l of lines) {
        const f = l.split(' ');
        if (f[0] === 'S') stalls.push({ cpu: Number(f[1]), due: Number(f[2]), late: Number(f[3]) });
        if (f[0] === 'M') cpus.push({ cpu: Number(f[1]), cycles: Number(f[2]), maxLateMs: Number(f[3]), sched: f[4] ?? '' });
      }
      return { stalls, cpus };
    },
  };
}

/**
 * Whether a release due at `due` and made `late` ms after it coincides with a machine stall:
 * some probe thread (any CPU: a thread stuck on a CPU the host took away cannot move) woke at
 * least `late − slackMs` late, its sleep overlapping [due − 2, due + late].
 */
export function explainedByStall(stalls: Stall[], due: number, late: number, slackMs = 1): Stall | undefined {
  return stalls.find((s) => s.late >= late - slackMs && s.due <= due + late && s.due + s.late >= due - 2);
}
