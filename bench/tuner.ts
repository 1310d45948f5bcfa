// Tuner press-timing benchmark: how far each START press (measured edge to edge with hrtime on the
// GPIO line thread) lands from its target, for bypass, memory and full tune presses, idle and
// while this same process does player-like work on its main thread.
// - Adapter: rpio on its line thread (the Pi 1–4 production path) in rpio's mock mode: everything
//   but the register write is the real code (Atomics.wait until shortly before the release, then
//   spin on hrtime; SCHED_FIFO when allowed).
// - Load ("loaded"): every 6.67 ms (a 48 kHz / 320-frame RTP packet) a 1280-byte L16 packet goes
//   through a loopback UDP socket, is decoded and resampled by the project's polyphase resampler
//   (device/audio/engine/resampler.ts), plus 3 ms of extra synchronous resampling per packet to stand in
//   for GC, MQTT and JSON bursts: the main thread is busy about half of the time.
// - Presses run on 16 lines in parallel (the thread times them all) so ≥ 200 presses per mode fit
//   in a couple of minutes; each line presses, waits 50 ms, presses the next mode.
// - For contrast, the table also shows a main-thread press (setTimeout, the simulated adapter)
//   under the same load; that figure is not one of the JSON figures.
import { createSocket } from 'node:dgram';
import { RpioGpio } from '../device/hal/gpio.rpio.ts';
import { SimGpio } from '../device/hal/gpio.sim.ts';
import type { Gpio } from '../device/hal/gpio.ts';
import { RealClock } from '../device/core/clock.ts';
import { Resampler } from '../device/audio/engine/resampler.ts';
import { TunerMachine } from '../device/tuner/machine.ts';
import { TUNER_DEFAULTS as DEFAULTS } from '../protocol/roles/tuner-rules.ts';
import type { TuneMode } from '../protocol/roles/tuner.ts';
import { percentile, round } from './lib/stats.ts';
import { formatTable, atMost } from './lib/table.ts';
import { truthRun, killFigure, pressesOf, type Adapter, type TruthFigures } from './tuner-truth.ts';
import { holderMemory, type HolderMemory } from './tuner-holder.ts';
import { startWakeProbe, explainedByStall, type ProbeResult } from './lib/wake-probe.ts';
import { PRESS_RT_PRIORITY } from '../device/hal/gpio.ts';
import { WIRE_TMP } from '../test/helpers/fake-gpiod.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const MODES: TuneMode[] = ['bypass', 'memory', 'full'];
const LINES = [4, 5, 6, 12, 13, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26];
const machine = new TunerMachine({
  bypassBelowMs: DEFAULTS.bypassBelowMs,
  fullAboveMs: DEFAULTS.fullAboveMs,
  targets: DEFAULTS.presses,
  guardMs: DEFAULTS.guardMs,
  errorMs: 5,
  minGapMs: 0,
});
const timing = { targetMs: (m: TuneMode) => machine.targetMs(m), inWindow: (m: TuneMode, ms: number) => machine.modeOf(ms) === m };

interface Sample {
  mode: TuneMode;
  err: number;
  inside: boolean;
  line: number;
  due: number;
}

/**
 * Runs `perMode` presses of each mode over the lines in parallel; returns one sample per press.
 * With `trace` (rpio's register-write trace), lengths come from the wire, not from pulse()'s report.
 */
async function pressAll(gpio: Gpio, perMode: number, trace?: string): Promise<Sample[]> {
  const jobs: TuneMode[] = [];
  for (let i = 0; i < perMode; i++) jobs.push(...MODES);
  const samples: Sample[] = [];
  const outs = await Promise.all(LINES.map((l) => gpio.output(l, { label: 'bench' })));
  await Promise.all(
    outs.map(async (o, k) => {
      await new Promise((r) => setTimeout(r, k * 7)); // stagger the lines
      for (let mode = jobs.shift(); mode; mode = jobs.shift()) {
        const target = timing.targetMs(mode);
        const p = await o.pulse(target);
        const ms = p.end - p.start;
        samples.push({ mode, err: Math.abs(ms - target), inside: timing.inWindow(mode, ms), line: o.line, due: p.start + target });
        await new Promise((r) => setTimeout(r, 50));
      }
    }),
  );
  for (const o of outs) o.close();
  if (!trace) return samples;
  // The wire: this run's rises and falls per line (the trace holds every run on this GPIO).
  const edges = readFileSync(trace, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' '))
    .map((p) => ({ t: Number(p[0]), line: Number(p[1]), level: Number(p[2]) }));
  for (const line of LINES) {
    const mine = samples.filter((x) => x.line === line);
    const wire = pressesOf(edges.filter((e) => e.line === line)).slice(-mine.length);
    if (wire.length !== mine.length) throw new Error(`line ${line}: ${wire.length} presses on the wire for ${mine.length} asked`);
    mine.forEach((x, i) => {
      const target = timing.targetMs(x.mode);
      x.err = Math.abs(wire[i]!.ms - target);
      x.inside = timing.inWindow(x.mode, wire[i]!.ms);
      x.due = wire[i]!.rise + target;
    });
  }
  return samples;
}

/** Presses late by more than `limitMs`, and how many of those coincide with a machine stall the probe saw. */
function attribute(releases: Array<{ due: number; err: number }>, probe: ProbeResult, limitMs = 5) {
  const over = releases.filter((r) => Math.abs(r.err) > limitMs);
  const unexplained = over.filter((r) => !(r.err > 0 && explainedByStall(probe.stalls, r.due, r.err)));
  return {
    over: over.length,
    explained: over.length - unexplained.length,
    unexplainedMax: Math.max(0, ...releases.filter((r) => !over.includes(r) || unexplained.includes(r)).map((r) => Math.abs(r.err))),
    machineMax: Math.max(0, ...probe.cpus.map((c) => c.maxLateMs)),
  };
}
type Attribution = ReturnType<typeof attribute>;

/** Player-like work on the main thread until stopped. */
export async function startLoad(): Promise<{ stop(): Promise<{ packets: number; busyPct: number }> }> {
  const rx = createSocket('udp4');
  const tx = createSocket('udp4');
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', () => r()));
  const port = rx.address().port;
  const rs = new Resampler({ channels: 2, maxBlockInput: 8192 });
  const extra = new Resampler({ channels: 2, maxBlockInput: 8192 });
  const frames = new Float32Array(320 * 2);
  const out = new Float32Array(400 * 2);
  const big = new Float32Array(4096 * 2).map((_, i) => Math.sin(i / 7));
  const pkt = Buffer.alloc(1280 + 12);
  let packets = 0;
  let busy = 0;
  const t0 = performance.now();
  rx.on('message', (msg) => {
    const a = performance.now();
    for (let i = 0; i < 640; i++) frames[i] = msg.readInt16BE(12 + i * 2) / 32768;
    rs.push(frames, 320);
    rs.process(out, 0, 320, 1.00002);
    // Extra synchronous work standing in for GC, MQTT and JSON bursts (~3 ms).
    const end = a + 3;
    while (performance.now() < end) {
      if (extra.inputEnd() - extra.position() < 8192 - 4096) extra.push(big, 4096);
      extra.process(out, 0, 256, 1.0001);
    }
    packets++;
    busy += performance.now() - a;
  });
  let seq = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < 640; i++) pkt.writeInt16BE(Math.round(Math.sin((seq * 320 + i) / 20) * 8000), 12 + i * 2);
    pkt.writeUInt16BE(seq++ & 0xffff, 2);
    tx.send(pkt, port, '127.0.0.1');
  }, 20 / 3);
  return {
    async stop() {
      clearInterval(timer);
      await new Promise<void>((r) => tx.close(() => r()));
      await new Promise<void>((r) => rx.close(() => r()));
      return { packets, busyPct: (100 * busy) / (performance.now() - t0) };
    },
  };
}

function stats(samples: Sample[]) {
  const errs = samples.map((s) => s.err);
  return {
    p50: percentile(errs, 50),
    p99: percentile(errs, 99),
    max: Math.max(...errs),
    outside: samples.filter((s) => !s.inside).length,
    n: samples.length,
  };
}

export async function run(opts: { json: boolean; quick: boolean }): Promise<Record<string, number>> {
  const perMode = opts.quick ? 10 : 200;
  const traceDir = mkdtempSync(join(WIRE_TMP, 'hearth-bench-rpio-'));
  const trace = join(traceDir, 'rpio.trace');
  const gpio = await RpioGpio.open({ mock: 'raspi-4', trace });
  let idle: Sample[];
  let loaded: Sample[];
  let naive: Sample[];
  let load: { packets: number; busyPct: number };
  let threadWhy: Attribution;
  const truth = {} as Record<Adapter, TruthFigures>;
  const why = {} as Record<Adapter, Attribution>;
  const held: Partial<Record<'rpio' | 'chardev', number>> = {};
  const memory = {} as Record<'rpio' | 'chardev', HolderMemory>;
  // The machine's own floor: a real-time C thread one priority above the press threads.
  const probed = async <T>(fn: () => Promise<T>): Promise<[T, ProbeResult]> => {
    const probe = await startWakeProbe({ priority: PRESS_RT_PRIORITY + 1 });
    let r: T;
    try {
      r = await fn();
    } catch (e) {
      await probe.stop();
      throw e;
    }
    return [r, await probe.stop()];
  };
  try {
    idle = await pressAll(gpio, perMode, trace);
    const l = await startLoad();
    try {
      let p: ProbeResult;
      [loaded, p] = await probed(() => pressAll(gpio, perMode, trace));
      threadWhy = attribute(
        loaded.map((x) => ({ due: x.due, err: x.err })),
        p,
      );
      const sim = new SimGpio({ clock: new RealClock(), pulseTimer: 'clock' }); // the old main-thread timing, for contrast
      await sim.ready();
      naive = await pressAll(sim, opts.quick ? 3 : 20);
      await sim.close();
      // The safety figures per adapter, under the same load (bench/tuner-truth.ts).
      for (const a of ['sim', 'rpio', 'chardev'] as const) {
        [truth[a], p] = await probed(() => truthRun(a, opts.quick ? 30 : 300));
        why[a] = attribute(truth[a].releases, p);
      }
      for (const a of ['rpio', 'chardev'] as const) held[a] = await killFigure(a);
      for (const a of ['rpio', 'chardev'] as const) memory[a] = await holderMemory(a);
    } finally {
      load = await l.stop();
    }
  } finally {
    await gpio.close();
    rmSync(traceDir, { recursive: true, force: true });
  }
  const si = stats(idle),
    sl = stats(loaded),
    sn = stats(naive);
  const figures = {
    press_error_p50_ms_idle: round(si.p50, 3),
    press_error_p99_ms_idle: round(si.p99, 3),
    press_error_p99_ms_loaded: round(sl.p99, 3),
    press_error_max_ms_loaded: round(sl.max, 3),
    presses_outside_window: si.outside + sl.outside,
    presses: si.n + sl.n,
    ...Object.fromEntries(
      (['sim', 'rpio', 'chardev'] as const).flatMap((a) => [
        [`press_error_max_ms_loaded_${a}`, round(truth[a].pressErrorMax, 3)],
        [`wrong_window_ok_replies_${a}`, truth[a].wrongOk],
        [`wrong_window_presses_${a}`, truth[a].wrong],
        [`tune_presses_${a}`, truth[a].presses],
      ]),
    ),
    ...Object.fromEntries(
      (['sim', 'rpio', 'chardev'] as const).flatMap((a) => [
        [`presses_over_5ms_${a}`, why[a].over],
        [`presses_over_5ms_in_machine_stall_${a}`, why[a].explained],
        [`press_error_max_ms_loaded_outside_stalls_${a}`, round(why[a].unexplainedMax, 3)],
        [`machine_wake_latency_max_ms_${a}`, round(why[a].machineMax, 3)],
      ]),
    ),
    press_error_max_ms_loaded_outside_stalls: round(threadWhy.unexplainedMax, 3),
    machine_wake_latency_max_ms: round(threadWhy.machineMax, 3),
    holder_rss_mb_rpio: round(memory.rpio.rssMb, 1),
    holder_private_mb_rpio: round(memory.rpio.privateMb, 1),
    holder_rss_mb_chardev: round(memory.chardev.rssMb, 1),
    holder_private_mb_chardev: round(memory.chardev.privateMb, 1),
    line_held_after_kill_ms_rpio: round(held.rpio!, 1),
    line_held_after_kill_ms_chardev: round(held.chardev!, 1),
  };
  if (!opts.json) {
    console.log(
      `tuner press timing: rpio line thread (${gpio.sched}), ${perMode} presses per mode per condition, targets ${MODES.map((m) => `${m} ${timing.targetMs(m)} ms`).join(', ')}`,
    );
    console.log(
      `load: ${load.packets} packets at 150/s through UDP + resampler, main thread busy ${round(load.busyPct, 0)}% of the time\n`,
    );
    console.log(
      formatTable(
        ['figure', 'value', 'target'],
        [
          ['press_error_p50_ms_idle', figures.press_error_p50_ms_idle, ''],
          ['press_error_p99_ms_idle', figures.press_error_p99_ms_idle, atMost(figures.press_error_p99_ms_idle, 2)],
          ['press_error_p99_ms_loaded', figures.press_error_p99_ms_loaded, atMost(figures.press_error_p99_ms_loaded, 2)],
          ['press_error_max_ms_loaded', figures.press_error_max_ms_loaded, atMost(figures.press_error_max_ms_loaded, 5)],
          [
            'press_error_max_ms_loaded_outside_stalls',
            figures.press_error_max_ms_loaded_outside_stalls,
            atMost(figures.press_error_max_ms_loaded_outside_stalls, 5),
          ],
          ['machine_wake_latency_max_ms (probe, same window)', figures.machine_wake_latency_max_ms, ''],
          ['presses_outside_window', figures.presses_outside_window, atMost(figures.presses_outside_window, 0)],
          ['presses', figures.presses, '≥ 400'],
        ],
      ),
    );
    const rows = [];
    for (const [cond, ss] of [
      ['idle', idle],
      ['loaded', loaded],
      ['loaded, main-thread setTimeout (contrast)', naive],
    ] as const) {
      for (const m of MODES) {
        const st = stats(ss.filter((s) => s.mode === m));
        rows.push([cond, m, st.n, round(st.p50, 3), round(st.p99, 3), round(st.max, 3), st.outside]);
      }
    }
    console.log('\n' + formatTable(['condition', 'mode', 'presses', 'p50 ms', 'p99 ms', 'max ms', 'outside'], rows));
    console.log(
      "\nsafety per adapter, loaded (tune commands through the role, presses guardMs = the adapter's error bound from the window edges; wire read from outside):",
    );
    console.log(
      formatTable(
        [
          'adapter',
          'press_error_max_ms_loaded',
          'target',
          'wrong_window_ok_replies',
          'target',
          'wrong-window presses',
          'ok replies',
          'presses',
          'line_held_after_kill_ms',
          'target',
        ],
        (['sim', 'rpio', 'chardev'] as const).map((a) => {
          const t = truth[a];
          const k = a === 'sim' ? undefined : held[a];
          return [
            a === 'chardev' ? 'chardev (stand-in gpiod v2)' : a === 'rpio' ? 'rpio (mock, holder)' : 'sim (thread)',
            round(t.pressErrorMax, 3),
            atMost(t.pressErrorMax, 5),
            t.wrongOk,
            atMost(t.wrongOk, 0),
            t.wrong,
            t.okReplies,
            t.presses,
            k === undefined ? 'n/a (wire dies with the process)' : round(k, 1),
            k === undefined ? '' : atMost(k, 50),
          ];
        }),
      ),
    );
    console.log(
      `\nlate presses against the machine's own floor (wake-probe: a C SCHED_FIFO ${PRESS_RT_PRIORITY + 1} thread per CPU, 1 ms period, during each run; a press late by L is "in a stall" when a probe thread woke ≥ L − 1 ms late over the same moment):`,
    );
    console.log(
      formatTable(
        [
          'adapter',
          'presses > 5 ms off',
          'of them in a machine stall',
          'press_error_max_ms outside stalls',
          'target',
          'machine wake latency max ms',
        ],
        [
          [
            'rpio line thread (bench process)',
            threadWhy.over,
            threadWhy.explained,
            round(threadWhy.unexplainedMax, 3),
            atMost(threadWhy.unexplainedMax, 5),
            round(threadWhy.machineMax, 3),
          ],
          ...(['sim', 'rpio', 'chardev'] as const).map((a) => [
            a,
            why[a].over,
            why[a].explained,
            round(why[a].unexplainedMax, 3),
            atMost(why[a].unexplainedMax, 5),
            round(why[a].machineMax, 3),
          ]),
        ],
      ),
    );
    console.log('\nline holder memory (built holder, flags as forked, START + KEY open, after 20 presses; /proc smaps_rollup):');
    console.log(
      formatTable(
        ['adapter', 'RSS MB', 'private MB'],
        (['rpio', 'chardev'] as const).map((a) => [a, round(memory[a].rssMb, 1), round(memory[a].privateMb, 1)]),
      ),
    );
  }
  return figures;
}
