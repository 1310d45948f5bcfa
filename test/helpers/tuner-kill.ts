// SIGKILLs a tuner runtime (test/helpers/tuner-victim.ts) while START or PTT is asserted and
// reads, from the wire's trace (outside every process involved), when the line was released.
import { spawn } from 'node:child_process';
import { readFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fakeGpiod, WIRE_TMP, type TraceEntry } from './fake-gpiod.ts';
import { LINES_FOR_KILL } from './tuner-kill-lines.ts';

export interface KillRun {
  adapter: string;
  scenario: 'press' | 'ptt';
  /** When the line rose, and when its assertion was planned to end at the latest (CLOCK_MONOTONIC ms). */
  rise: number;
  plannedEnd: number;
  killedAt: number;
  /** When the wire went inactive after the kill (undefined: never within the wait). */
  released: number | undefined;
  /** released − plannedEnd (negative: before the planned end). */
  afterPlannedMs: number;
  holderAlive: boolean;
}

const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PRESS_MS = 3500;

export async function killMidway(o: {
  adapter: 'rpio' | 'chardev';
  version?: 1 | 2;
  persist?: boolean;
  scenario: 'press' | 'ptt';
  pttMaxMs?: number;
  killAfterMs?: number;
}): Promise<KillRun> {
  const pttMaxMs = o.pttMaxMs ?? 3000;
  const wire = o.adapter === 'chardev' ? fakeGpiod({ version: o.version ?? 2, persist: !!o.persist }) : undefined;
  const dir = mkdtempSync(join(WIRE_TMP, 'hearth-kill-'));
  const trace = join(dir, 'rpio.trace');
  const readTrace = (): TraceEntry[] => {
    if (wire) return wire.trace();
    if (!existsSync(trace)) return [];
    return readFileSync(trace, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [t, line, level, who] = l.split(' ');
        return { t: Number(t), line: Number(line), level: Number(level), who: who ?? '' };
      });
  };
  const line = o.scenario === 'press' ? LINES_FOR_KILL.start : LINES_FOR_KILL.ptt;
  const script = fileURLToPath(new URL('./tuner-victim.ts', import.meta.url));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', script, JSON.stringify({ adapter: o.adapter, scenario: o.scenario, pttMaxMs, ...(wire ? {} : { trace }) })],
    {
      env: { ...process.env, ...(wire?.env ?? {}) },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let holderPid = 0;
  child.stdout!.on('data', (d: Buffer) => {
    const m = /ready (\d+)/.exec(String(d));
    if (m) holderPid = Number(m[1]);
  });
  try {
    let rise: number | undefined;
    for (const t0 = now(); rise === undefined; await sleep(5)) {
      if (now() - t0 > 60_000) throw new Error(`line ${line} never rose (${o.adapter} ${o.scenario})`);
      if (child.exitCode !== null) throw new Error(`the victim exited (${child.exitCode})`);
      rise = readTrace().find((e) => e.line === line && e.level === 1)?.t;
    }
    const plannedEnd = rise + (o.scenario === 'press' ? PRESS_MS : pttMaxMs);
    await sleep(Math.max(0, rise + (o.killAfterMs ?? 300) - now()));
    const killedAt = now();
    child.kill('SIGKILL');
    await sleep(Math.max(0, plannedEnd + 1500 - now()));
    const released = readTrace().find((e) => e.line === line && e.level === 0 && e.t > rise!)?.t;
    let holderAlive = false;
    try {
      process.kill(holderPid, 0);
      holderAlive = holderPid > 0;
    } catch {
      /* gone */
    }
    return {
      adapter: o.adapter + (wire ? ` v${o.version ?? 2}${o.persist ? ' persist' : ''}` : ''),
      scenario: o.scenario,
      rise,
      plannedEnd,
      killedAt,
      released,
      afterPlannedMs: released === undefined ? Infinity : released - plannedEnd,
      holderAlive,
    };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    if (process.env.KEEP_WIRE) console.error(wire?.dir);
    else wire?.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}
