// A tuner role on a simulated GPIO with a scripted AT-7000 on the far end, in virtual time, with
// an in-memory RoleLink that records states, events and outgoing commands.
import { VirtualClock } from '../../../device/core/clock.ts';
import { memoryLogger } from '../../../device/core/log.ts';
import type { RoleOf, RoleLink } from '../../../device/core/role.ts';
import { SimGpio } from '../../../device/hal/gpio.sim.ts';
import type { Gpio, GpioOutput, OutputOptions } from '../../../device/hal/gpio.ts';
import { At7000, type At7000Options } from '../../../device/tuner/at7000.ts';
import { createTunerRole } from '../../../device/tuner/role.ts';
import type { Reply } from '../../../protocol/index.ts';
import type { TunerConfig, TunerState, tunerSpec } from '../../../protocol/roles/tuner.ts';

export const LINES = { start: 17, key: 27, power: 22, ptt: 23, button: 24 };

export interface Rig {
  clock: VirtualClock;
  sim: SimGpio;
  model: At7000;
  role: RoleOf<typeof tunerSpec>;
  states: TunerState[];
  events: Array<{ type: string; message: string; data?: Record<string, any> }>;
  commands: Array<{ device: string; role: string; action: string; args: Record<string, unknown> }>;
  failures: Error[];
  /** Makes publishState/publishEvent throw (to test crash paths). */
  breakLink: { on: boolean };
  state(): TunerState;
  /** Advances virtual time in small steps until `p` settles (or `maxMs` passes), flushing promises between steps. */
  settle<T>(p: Promise<T>, maxMs?: number): Promise<T>;
  run(ms: number): Promise<void>;
  /** Physical level of a line; START is "pressed" when active (activeLow false → level 1). */
  level(line: number): 0 | 1;
}

export const flush = () => new Promise<void>((r) => setImmediate(r));

export async function makeRig(
  config: Partial<TunerConfig> = {},
  model: Partial<At7000Options> = {},
  opts: { replies?: (action: string) => Reply; stretchMs?: number } = {},
): Promise<Rig> {
  const clock = new VirtualClock(1000);
  const sim = new SimGpio({ clock });
  const states: TunerState[] = [];
  const events: Rig['events'] = [];
  const commands: Rig['commands'] = [];
  const failures: Error[] = [];
  const breakLink = { on: false };
  const link: RoleLink = {
    publishState(d) {
      if (breakLink.on) throw new Error('link broke');
      states.push(structuredClone(d) as TunerState);
    },
    publishEvent(type, message, data) {
      if (breakLink.on) throw new Error('link broke');
      events.push({ type, message, ...(data ? { data } : {}) });
    },
    publishStream() {},
    watchStreams() {
      return () => {};
    },
    async sendCommand(device, role, action, args) {
      commands.push({ device, role, action, args });
      return opts.replies?.(action) ?? { v: 2, id: 'x', ok: true };
    },
    connected: true,
  };
  const cfg: TunerConfig = { gpio: { adapter: 'sim' }, start: { line: LINES.start }, key: { line: LINES.key }, ...config };
  const at = new At7000({
    clock,
    gpio: sim,
    start: { line: LINES.start, activeLow: cfg.start.activeLow },
    key: { line: LINES.key },
    ...(cfg.power ? { power: { line: LINES.power, activeLow: cfg.power.activeLow } } : {}),
    ...model,
  });
  const role = createTunerRole({
    device: { id: 'shack', baseTopic: 'hearth', stateDir: '/tmp' },
    config: cfg,
    clock,
    log: memoryLogger(),
    link,
    hal: { gpio: () => (opts.stretchMs ? stretched(sim, opts.stretchMs) : sim) },
    fail: (e) => {
      failures.push(e);
    },
  });
  const rig: Rig = {
    clock,
    sim,
    model: at,
    role,
    states,
    events,
    commands,
    failures,
    breakLink,
    state: () => states[states.length - 1]!,
    async settle(p, maxMs = 120_000) {
      let done = false;
      let value: any;
      let error: unknown;
      let failed = false;
      p.then(
        (v) => {
          done = true;
          value = v;
        },
        (e) => {
          done = true;
          failed = true;
          error = e;
        },
      );
      for (let t = 0; t < maxMs && !done; t += 5) {
        await flush();
        if (!done) clock.advance(5);
      }
      await flush();
      if (!done) throw new Error(`did not settle within ${maxMs} ms of virtual time`);
      if (failed) throw error;
      return value;
    },
    async run(ms) {
      for (let t = 0; t < ms; t += 5) {
        await flush();
        clock.advance(Math.min(5, ms - t));
      }
      await flush();
    },
    level: (line) => sim.device.level(line),
  };
  return rig;
}

/** The simulated GPIO with every pulse held `ms` longer than asked (a late release). */
function stretched(sim: SimGpio, ms: number): Gpio {
  return new Proxy(sim, {
    get(target, prop, recv) {
      if (prop !== 'output') return Reflect.get(target, prop, recv);
      return async (line: number, o?: OutputOptions): Promise<GpioOutput> => {
        const out = await target.output(line, o);
        return { ...out, line, pulse: (len: number) => out.pulse(len + ms), write: out.write, read: out.read, close: out.close };
      };
    },
  });
}
