// How long the machine kept a process's main thread from running though it was ready: the kernel's
// own count (/proc/<pid>/task/<pid>/schedstat, field 2: ns spent runnable on a run queue), sampled
// every 10 ms from the test process. A player is real-time (SCHED_RR 10) but so are other audio
// processes, and round-robin between equals hands out 100 ms slices: a player kept off the CPU
// longer than its DAC queue underruns through no fault of its own. Read from outside the player,
// never from its own report.
import { readFileSync } from 'node:fs';

export interface Starvation {
  /** Wall time (ms) of the sample, and how long (ms) the thread waited to run since the previous one. */
  waits: Array<{ wallMs: number; sinceMs: number; waitedMs: number }>;
  stop(): void;
}

function runDelayNs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[1]);
  } catch {
    return NaN; // gone
  }
}

/** Samples the run-queue wait of `pid`'s main thread (the player's event loop: its output loop). */
export function watchStarvation(pid: number, everyMs = 10): Starvation {
  const waits: Starvation['waits'] = [];
  let last = runDelayNs(pid),
    lastWall = Date.now();
  const timer = setInterval(() => {
    const now = runDelayNs(pid),
      wall = Date.now();
    if (Number.isFinite(now) && Number.isFinite(last) && now > last)
      waits.push({ wallMs: wall, sinceMs: wall - lastWall, waitedMs: (now - last) / 1e6 });
    last = now;
    lastWall = wall;
  }, everyMs);
  timer.unref();
  return { waits, stop: () => clearInterval(timer) };
}

/** Wall intervals (ms) in which the thread waited at least `ms` to run, and how long it waited. */
export function starvedSpans(s: Starvation, ms: number): Array<{ from: number; to: number; waitedMs: number }> {
  return s.waits.filter((w) => w.waitedMs >= ms).map((w) => ({ from: w.wallMs - w.sinceMs, to: w.wallMs, waitedMs: w.waitedMs }));
}
