// The tuner's safety figures per adapter (sim, rpio mock, chardev via the stand-in gpiod v2 tools),
// each under the same load (bench/tuner.ts's player-like main-thread work, on this shared machine):
// - press_error_max_ms_loaded: |press length on the wire − asked length|, the wire read from
//   outside the role: the simulation's edge log, the rpio holder's register-write trace, the
//   stand-in gpioset's trace;
// - wrong_window_ok_replies: tune commands answered ok although the wire's press was not in the
//   asked mode's window (or the scripted tuner read another mode). The presses sit as close to
//   the edges as the config allows (guardMs = the adapter's worst-case error), so any stretched
//   press lands in the wrong window. With no tuner on the far end (rpio, chardev) KEY never
//   asserts, so only bypass can be answered ok there: all tunes are bypass;
// - line_held_after_kill_ms: SIGKILL mid-press and mid-PTT (test/helpers/tuner-kill.ts), released
//   − planned end (negative: released before). The simulated wire dies with its process: n/a.
import { readFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RealClock } from '../device/core/clock.ts';
import { memoryLogger } from '../device/core/log.ts';
import { monotonicMs, type Gpio } from '../device/hal/gpio.ts';
import { SimGpio } from '../device/hal/gpio.sim.ts';
import { HeldGpio } from '../device/hal/gpio.held.ts';
import { At7000 } from '../device/tuner/at7000.ts';
import { TunerRole } from '../device/tuner/role.ts';
import { PRESS_ERROR_BOUND_MS } from '../protocol/roles/tuner-rules.ts';
import type { TuneMode, TunerConfig } from '../protocol/roles/tuner.ts';
import { fakeGpiod, WIRE_TMP, type TraceEntry } from '../test/helpers/fake-gpiod.ts';
import { killMidway } from '../test/helpers/tuner-kill.ts';

export type Adapter = 'sim' | 'rpio' | 'chardev';
export interface TruthFigures {
  presses: number;
  pressErrorMax: number;
  wrong: number;
  wrongOk: number;
  okReplies: number;
  /** Every press from the wire: its planned release (rise + asked length) and length − asked. */
  releases: Array<{ due: number; err: number }>;
}

const W = { bypassBelowMs: 60, fullAboveMs: 160 };

/** Pairs of rising/falling edges of one line, in order. */
export function pressesOf(edges: Array<{ t: number; level: number }>): Array<{ rise: number; ms: number }> {
  const out: Array<{ rise: number; ms: number }> = [];
  let rise: number | undefined;
  for (const e of edges) {
    if (e.level === 1 && rise === undefined) rise = e.t;
    else if (e.level === 0 && rise !== undefined) {
      out.push({ rise, ms: e.t - rise });
      rise = undefined;
    }
  }
  return out;
}

const modeOf = (ms: number): TuneMode => (ms < W.bypassBelowMs ? 'bypass' : ms <= W.fullAboveMs ? 'memory' : 'full');

export async function truthRun(adapter: Adapter, n: number): Promise<TruthFigures> {
  const bound = PRESS_ERROR_BOUND_MS[adapter];
  const targets = { bypassMs: W.bypassBelowMs - bound, memoryMs: W.bypassBelowMs + bound, fullMs: W.fullAboveMs + bound };
  const modes: TuneMode[] = adapter === 'sim' ? ['bypass', 'memory', 'full'] : ['bypass'];
  const clock = new RealClock();
  const dir = mkdtempSync(join(WIRE_TMP, 'hearth-bench-tuner-'));
  const trace = join(dir, 'rpio.trace');
  const wire = adapter === 'chardev' ? fakeGpiod({ version: 2 }) : undefined;
  let gpio: Gpio;
  let model: At7000 | undefined;
  if (adapter === 'sim') {
    const sim = new SimGpio({ clock });
    await sim.ready();
    model = new At7000({ clock, gpio: sim, start: { line: 17 }, key: { line: 27 }, ...W, keyDelayMs: 5, tuneMs: { memory: 30, full: 60 } });
    gpio = sim;
  } else {
    gpio = await HeldGpio.open({ adapter, ...(adapter === 'rpio' ? { mock: 'raspi-4', trace } : {}), ...(wire ? { env: wire.env } : {}) });
  }
  const config: TunerConfig = {
    gpio: { adapter },
    start: { line: 17 },
    key: { line: 27 },
    presses: targets,
    windows: W,
    margins: { guardMs: bound },
    minGapMs: 0,
    keyResponseMs: 50,
    settleMs: 50,
    keyMaxMs: 2000,
  };
  const role = new TunerRole({
    device: { id: 'bench', baseTopic: 'hearth', stateDir: dir },
    config,
    clock,
    log: memoryLogger(),
    link: {
      publishState() {},
      publishEvent() {},
      publishStream() {},
      watchStreams: () => () => {},
      sendCommand: async () => ({ v: 2, id: '', ok: true }),
      connected: true,
    },
    hal: { gpio: () => gpio },
    fail: () => {},
  });
  await role.start();
  const asked: Array<{ mode: TuneMode; ok: boolean; read?: TuneMode }> = [];
  try {
    for (let i = 0; i < n; i++) {
      const mode = modes[i % modes.length]!;
      const ok = await role.commands.tune({ mode }).then(
        () => true,
        () => false,
      );
      asked.push({ mode, ok, ...(model ? { read: model.lastMode } : {}) });
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    await role.stop();
    model?.stop();
  }
  let edges: Array<{ t: number; level: number }>;
  if (gpio instanceof SimGpio) edges = gpio.edgesOf(17).filter((e) => e.by === 'host');
  else if (wire) edges = wire.trace().filter((e: TraceEntry) => e.line === 17);
  else
    edges = existsSync(trace)
      ? readFileSync(trace, 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split(' '))
          .filter((p) => p[1] === '17')
          .map((p) => ({ t: Number(p[0]), level: Number(p[2]) }))
      : [];
  const lengths = pressesOf(edges);
  // The simulation stamps edges on its clock (performance.now()); the rest on CLOCK_MONOTONIC.
  const clockMinusMono = gpio instanceof SimGpio ? clock.now() - monotonicMs() : 0;
  wire?.remove();
  rmSync(dir, { recursive: true, force: true });
  if (lengths.length !== asked.length) throw new Error(`${adapter}: ${lengths.length} presses on the wire for ${asked.length} commands`);
  const target = { bypass: targets.bypassMs, memory: targets.memoryMs, full: targets.fullMs };
  let pressErrorMax = 0,
    wrong = 0,
    wrongOk = 0,
    okReplies = 0;
  const releases: TruthFigures['releases'] = [];
  asked.forEach((a, i) => {
    const { rise, ms } = lengths[i]!;
    pressErrorMax = Math.max(pressErrorMax, Math.abs(ms - target[a.mode]));
    releases.push({ due: rise + target[a.mode] - clockMinusMono, err: ms - target[a.mode] });
    const isWrong = modeOf(ms) !== a.mode || (a.read !== undefined && a.read !== a.mode);
    if (isWrong) wrong++;
    if (a.ok) okReplies++;
    if (isWrong && a.ok) wrongOk++;
  });
  return { presses: asked.length, pressErrorMax, wrong, wrongOk, okReplies, releases };
}

/** Worst release time past the planned end over a mid-press and a mid-PTT kill. */
export async function killFigure(adapter: 'rpio' | 'chardev'): Promise<number> {
  const runs = [
    await killMidway({ adapter, scenario: 'press', persist: true }),
    await killMidway({ adapter, scenario: 'ptt', persist: true }),
  ];
  return Math.max(...runs.map((r) => r.afterPlannedMs));
}
