// The tuner role: timed START presses (tune, press, erase-memories), KEY watch, optional power
// relay and PTT, and the physical button. The rules (busy, minimum gap, margins, what a press and
// KEY mean, when PTT may key) are the pure TunerMachine (machine.ts); KEY classification
// (key-watch.ts) and debounce (button.ts) are pure too. This class wires them to the GPIO, the
// clock's timers and MQTT.
// Safety rules kept here: START is opened released before any other line; every assertion of
// START or PTT is a pulse (timed press) or a hold (PTT, pass-through) whose end or limit the
// adapter itself enforces (line thread, holder process, gpioset), so a stalled or killed runtime
// cannot hold a line past it; every
// way out of an operation (done, error, stop, a thrown handler) releases START and PTT at once.
import type { RoleDeps, RoleOf } from '../core/role.ts';
import type { TimerHandle } from '../core/clock.ts';
import { sleep } from '../core/clock.ts';
import type { Gpio, GpioInput, GpioOutput, PulseTimes } from '../hal/gpio.ts';
import { openGpio } from '../hal/open.ts';
import { ProtocolError } from '../../protocol/envelope.ts';
import type { ButtonAction, PressSource, TunerConfig, TunerState, TuneMode, TuneResult, tunerSpec } from '../../protocol/roles/tuner.ts';
import type { CommandHandlers, EventData } from '../../protocol/index.ts';
import { tunerConfigProblems, resolveTunerSettings, PRESS_ERROR_BOUND_MS, type TunerSettings } from '../../protocol/roles/tuner-rules.ts';
import { TunerMachine, Refusal, type Operation, type PttAction, type Verdict } from './machine.ts';
import { KeyWatch } from './key-watch.ts';
import { ButtonWatch, classifyPress } from './button.ts';

/** Longest a pass-through press may hold START (a shorted button must not hold it forever). */
export const PASS_THROUGH_MAX_MS = 10_000;
/** erase-memories: START is pressed this long before power returns. */
const ERASE_LEAD_MS = 100;
const r1 = (x: number) => Math.round(x * 10) / 10;
const NO_KEY = { delayMs: null, lowMs: null, totalMs: null, pulses: 0, segments: [] };

/** The settings of a config, or an Error listing every problem (the same ones check-config gives). */
export function checkTunerConfig(c: TunerConfig): TunerSettings {
  const problems = tunerConfigProblems(c);
  if (problems.length)
    throw new Error(`tuner config: ${problems.map((p) => `${p.path.replace(/^\/roles\/tuner/, '')}: ${p.message}`).join('; ')}`);
  return resolveTunerSettings(c);
}

function refusal(e: unknown): unknown {
  return e instanceof Refusal ? new ProtocolError(e.code, e.message) : e;
}

interface Held {
  op: Operation;
  watch: KeyWatch;
}

export class TunerRole implements RoleOf<typeof tunerSpec> {
  private s!: TunerSettings;
  private m!: TunerMachine;
  private gpio: Gpio | undefined;
  private start_: GpioOutput | undefined;
  private key: GpioInput | undefined;
  private power: GpioOutput | undefined;
  private ptt: GpioOutput | undefined;
  private button: ButtonWatch | undefined;
  private stopped = false;
  private started = false;
  private watch: KeyWatch | undefined;
  private last: TuneResult | null = null;
  private error: string | undefined;
  private pttLimitTimer: TimerHandle | undefined;
  private pass: (Held & { up: boolean }) | undefined;
  private readonly counts = { presses: 0, tunes: 0, failures: 0, buttonPresses: 0, faults: 0 };

  constructor(private readonly deps: RoleDeps<typeof tunerSpec>) {}

  private get clock() {
    return this.deps.clock;
  }
  private iso(clockMs = this.clock.now()): string {
    return new Date(this.clock.wall() - (this.clock.now() - clockMs)).toISOString();
  }

  private state(): TunerState {
    const o = this.m.op;
    return {
      status: this.m.status(this.error !== undefined),
      adapter: this.gpio?.kind ?? 'none',
      operation: o ? { kind: o.kind, ...(o.requested ? { mode: o.requested } : {}), source: o.source, since: this.iso(o.since) } : null,
      key: this.key?.read() ?? false,
      start: this.start_?.read() ?? false,
      ...(this.ptt ? { ptt: this.ptt.read() } : {}),
      ...(this.power ? { powered: this.power.read() !== this.s.power!.cutsPower } : {}),
      ...(this.s.button ? { button: this.s.button.mode } : {}),
      last: this.last,
      ...(this.error && !o ? { error: this.error } : {}),
      counts: { ...this.counts },
    };
  }

  private publish(): void {
    if (!this.stopped) this.deps.link.publishState(this.state());
  }

  private fault(kind: string, message: string, extra: Omit<EventData<typeof tunerSpec, 'fault'>, 'fault'> = {}): void {
    this.counts.faults++;
    this.deps.log.warn(message, { fault: kind });
    if (!this.stopped) this.deps.link.publishEvent('fault', message, { fault: kind, ...extra });
  }

  /** Releases START and PTT whatever happens; used on every way out. */
  private releaseAll(): void {
    for (const o of [this.start_, this.ptt]) {
      try {
        if (o?.read()) o.write(false);
      } catch (e) {
        this.deps.log.error(`could not release GPIO ${o?.line}: ${(e as Error).message}`);
      }
    }
    this.clock.clearTimeout(this.pttLimitTimer);
    this.pttLimitTimer = undefined;
    if (this.m?.op) this.m.pttLimit(this.clock.now());
  }

  /** Runs a handler; a throw releases the lines and hands the role to the supervisor. */
  private guarded(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.releaseAll();
      this.deps.log.error(`tuner handler failed: ${(e as Error).message}`);
      this.deps.fail(e as Error);
    }
  }

  private setPower(on: boolean): void {
    this.power?.write(on !== this.s.power!.cutsPower);
  }

  // --- PTT: the machine decides, the adapter enforces the limit -----------------------------
  private applyPtt(a: PttAction): void {
    if (!a || !this.ptt) return;
    if (a === 'on') {
      const max = this.s.ptt!.maxMs;
      // A hold: the adapter releases PTT at maxMs by itself, even if this process stalls or dies.
      this.ptt.hold(max).catch((e: Error) => this.fault('gpio', `PTT: ${e.message}`));
      this.pttLimitTimer = this.clock.setTimeout(
        () =>
          this.guarded(() => {
            this.pttLimitTimer = undefined;
            if (this.m.pttLimit(this.clock.now()) !== 'off') return;
            this.ptt!.write(false);
            this.fault('ptt-limit', `PTT released after the ${max} ms transmit limit`);
            this.publish();
          }),
        max,
      );
    } else {
      this.clock.clearTimeout(this.pttLimitTimer);
      this.pttLimitTimer = undefined;
      this.ptt.write(false);
    }
    this.publish();
  }

  private onKey(active: boolean, t: number): void {
    this.watch?.edge(active, t);
    this.applyPtt(this.m.key(active, this.clock.now()));
    if (!this.m.op) this.publish();
  }

  // --- operations ----------------------------------------------------------------------------
  private begin(kind: Operation['kind'], source: PressSource, requested: TuneMode | null): Operation {
    let o: Operation;
    try {
      o = this.m.begin(kind, source, requested, this.clock.now());
    } catch (e) {
      throw refusal(e);
    }
    this.error = undefined;
    return o;
  }

  private keyWatch(): KeyWatch {
    const s = this.s;
    this.watch = new KeyWatch(
      this.clock,
      {
        responseMs: s.keyResponseMs,
        maxMs: s.keyMaxMs,
        settleMs: s.settleMs,
        failCount: s.failurePulses.count,
        failMaxMs: s.failurePulses.maxMs,
      },
      () => this.key!.read(),
      () => this.gpio!.now(),
    );
    return this.watch;
  }

  private message(o: Operation, v: Verdict, pressMs: number): string {
    const asked = o.requested ?? o.read!;
    switch (v.outcome) {
      case 'tuned':
        return `${v.mode} tune done: KEY asserted and released normally`;
      case 'bypassed':
        return 'bypass press done: KEY stayed released';
      case 'failed':
        return `${v.mode} tune failed: KEY gave the failure pulse pattern`;
      case 'no-response':
        return `${asked} tune: no KEY response within ${this.s.keyResponseMs} ms`;
      case 'stuck':
        return `${asked} tune: KEY still asserted after ${this.s.keyMaxMs} ms`;
      case 'aborted':
        return `${asked} ${o.kind} aborted: the tuner role stopped`;
      default: {
        const why = !o.trusted
          ? `the press measured ${r1(pressMs)} ms, ${this.m.inside(asked, pressMs) < 0 ? `outside the ${asked} window` : `within ${this.s.guardMs - PRESS_ERROR_BOUND_MS[this.gpio!.kind]} ms of the ${asked} window's edge`}`
          : 'KEY asserted after the bypass press';
        return `${asked} asked, but ${why}: the tuner most likely did ${v.mode === 'bypass' ? 'a bypass' : `a ${v.mode} tune`}`;
      }
    }
  }

  /** After START is released: judge the press, watch KEY, record and report the result. */
  private async finishPress(
    h: Held,
    pressStart: number,
    pressEnd: number,
    requestedMs: number | null,
  ): Promise<{ result: TuneResult; v: Verdict }> {
    const { op: o, watch } = h;
    const pressMs = pressEnd - pressStart;
    const judged = this.m.pressed(pressMs, this.key!.read(), this.clock.now());
    this.applyPtt(judged.ptt);
    this.counts.presses++;
    if (!judged.trusted) {
      const asked = o.requested ?? judged.read;
      this.fault(
        'press-window',
        `a ${asked} press measured ${r1(pressMs)} ms, which is not ${this.s.guardMs} ms inside its window (the tuner reads it as ${judged.read})`,
        { mode: asked, pressMs: r1(pressMs) },
      );
    }
    if (!this.stopped)
      this.deps.link.publishEvent('press', `START pressed ${r1(pressMs)} ms (${judged.read})`, {
        mode: judged.read,
        source: o.source,
        requestedMs,
        pressMs: r1(pressMs),
      });
    this.publish();
    watch.pressEnded(pressEnd);
    const keyOutcome = (await watch.result).outcome;
    const v = this.m.verdict(keyOutcome);
    this.releaseAll();
    const result: TuneResult = {
      mode: v.mode,
      requested: o.requested,
      source: o.source,
      outcome: v.outcome,
      requestedMs,
      pressMs: r1(pressMs),
      key: watch.timings(),
      ...(this.ptt ? { pttMs: Math.round(this.m.ptt.ms) } : {}),
      at: this.iso(o.since),
      message: this.message(o, v, pressMs),
    };
    this.end(result, v.ok);
    if (keyOutcome === 'stuck') this.fault('key-stuck', result.message);
    return { result, v };
  }

  private end(result: TuneResult, ok: boolean): void {
    this.last = result;
    this.counts.tunes++;
    if (!ok) this.counts.failures++;
    this.error = ok ? undefined : result.message;
    this.watch = undefined;
    this.m.end(this.clock.now());
    if (!this.stopped) {
      this.deps.link.publishEvent(result.mode === 'erase' ? 'erase' : 'tune', result.message, {
        mode: result.mode,
        source: result.source,
        result,
      });
      this.publish();
    }
  }

  /** A timed press of `ms`, timed by the adapter (never by this thread's timers), then the KEY watch. */
  private async timedPress(
    kind: 'tune' | 'press',
    ms: number,
    source: PressSource,
    mode: TuneMode,
  ): Promise<{ result: TuneResult; v: Verdict }> {
    const op = this.begin(kind, source, mode);
    const watch = this.keyWatch();
    this.publish();
    let times: PulseTimes;
    try {
      times = await this.start_!.pulse(ms);
    } catch (e) {
      this.releaseAll();
      watch.abort();
      const msg = `START press failed: ${(e as Error).message}`;
      this.fault('gpio', msg);
      this.error = msg;
      this.watch = undefined;
      this.m.end(this.clock.now());
      this.publish();
      throw new ProtocolError('failed', msg);
    }
    return this.finishPress({ op, watch }, times.start, times.end, ms);
  }

  private replyFor({ result, v }: { result: TuneResult; v: Verdict }): TuneResult {
    if (v.ok) return result;
    throw new ProtocolError(v.code ?? 'failed', result.message, undefined, v.reason);
  }

  private async erase(): Promise<TuneResult> {
    if (!this.power)
      throw new ProtocolError('invalid', 'erase-memories needs a power relay: set power.line in the tuner config', [
        { path: '/power', message: 'not configured' },
      ]);
    const o = this.begin('erase', 'command', null);
    this.publish();
    const p = this.s.power!;
    let times: PulseTimes | undefined;
    let failure: string | undefined;
    try {
      this.setPower(false);
      await sleep(this.clock, p.offMs);
      if (this.stopped) throw new Error('stopped');
      // START held across power-up as one pulse with a planned end (released even if we die).
      const held = this.start_!.pulse(ERASE_LEAD_MS + this.s.eraseHoldMs);
      await sleep(this.clock, ERASE_LEAD_MS);
      if (this.stopped) throw new Error('stopped');
      this.setPower(true);
      times = await held;
      if (this.stopped) throw new Error('stopped');
    } catch (e) {
      failure = (e as Error).message;
    }
    if (failure !== undefined || !times) {
      this.releaseAll();
      if (!this.stopped) this.setPower(true);
      const r: TuneResult = {
        mode: 'erase',
        requested: null,
        source: 'command',
        outcome: 'aborted',
        requestedMs: null,
        pressMs: 0,
        key: NO_KEY,
        at: this.iso(o.since),
        message: `erase aborted: ${failure ?? 'no press'}`,
      };
      this.end(r, false);
      return r;
    }
    const pressMs = times.end - times.start;
    const r: TuneResult = {
      mode: 'erase',
      requested: null,
      source: 'command',
      outcome: 'erased',
      requestedMs: null,
      pressMs: r1(pressMs),
      key: NO_KEY,
      at: this.iso(o.since),
      message: `memories erased: power off ${p.offMs} ms, START held ${r1(pressMs)} ms across power-up`,
    };
    this.end(r, true);
    return r;
  }

  // --- button --------------------------------------------------------------------------------
  private describe(a: ButtonAction | undefined): string {
    if (!a) return 'nothing';
    return 'tune' in a ? `tune ${a.tune}` : `${a.device}/${a.role}/${a.action}`;
  }

  private async runAction(a: ButtonAction): Promise<void> {
    if ('tune' in a) {
      await this.timedPress('tune', this.m.targetMs(a.tune), 'button', a.tune).catch((e) => {
        if (e instanceof ProtocolError && e.code === 'busy') this.fault('busy', `button: ${e.message}`);
      });
      return;
    }
    const reply = await this.deps.link.sendCommand(a.device, a.role, a.action, a.args ?? {});
    if (!reply.ok)
      this.fault('action-failed', `button: ${this.describe(a)} was refused: ${reply.error?.message ?? 'no reason given'}`, {
        action: this.describe(a),
      });
  }

  private onButtonUp(ms: number): void {
    const b = this.s.button!;
    this.counts.buttonPresses++;
    const cls = classifyPress(ms, b.mediumMs, b.longMs);
    if (b.mode === 'pass-through') {
      const h = this.pass;
      if (!h) return;
      h.up = true;
      this.start_!.write(false); // ends the pulse; its promise finishes the press
      if (!this.stopped)
        this.deps.link.publishEvent('button', `button pressed ${r1(ms)} ms, passed through to START`, {
          buttonMs: r1(ms),
          class: cls,
          action: 'pass-through',
        });
      return;
    }
    const a = b.actions[cls];
    if (!this.stopped)
      this.deps.link.publishEvent('button', `button ${cls} press (${r1(ms)} ms): ${this.describe(a)}`, {
        buttonMs: r1(ms),
        class: cls,
        action: this.describe(a),
      });
    this.publish();
    if (a)
      this.runAction(a).catch((e) =>
        this.fault('action-failed', `button: ${this.describe(a)} failed: ${(e as Error).message}`, { action: this.describe(a) }),
      );
  }

  private onButtonDown(): void {
    if (this.s.button!.mode !== 'pass-through') return;
    let op: Operation;
    try {
      op = this.begin('press', 'pass-through', null);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.fault('busy', `button ignored: ${e.message}`);
      return;
    }
    const h = { op, watch: this.keyWatch(), up: false };
    this.pass = h;
    // START follows the button, as one hold the adapter ends at PASS_THROUGH_MAX_MS by itself.
    this.start_!.hold(PASS_THROUGH_MAX_MS).then(
      (t) =>
        this.guarded(() => {
          this.pass = undefined;
          if (!h.up && !this.stopped) this.fault('button-stuck', `button held over ${PASS_THROUGH_MAX_MS} ms: START released`);
          this.finishPress(h, t.start, t.end, null).catch((e) =>
            this.deps.log.error(`pass-through finish failed: ${(e as Error).message}`),
          );
        }),
      (e: Error) =>
        this.guarded(() => {
          throw e;
        }),
    );
    this.publish();
  }

  // --- lifecycle -----------------------------------------------------------------------------
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.button?.stop();
    this.watch?.abort();
    this.releaseAll();
    // gpio stays set: operations still finishing read its clock; `stopped` guards everything else.
    await this.gpio?.close().catch((e: Error) => this.deps.log.error(`closing GPIO: ${e.message}`));
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { hal, clock, log } = this.deps;
    const s = (this.s = checkTunerConfig(this.deps.config));
    const rules = {
      bypassBelowMs: s.bypassBelowMs,
      fullAboveMs: s.fullAboveMs,
      targets: s.presses,
      guardMs: s.guardMs,
      minGapMs: s.minGapMs,
      ...(s.ptt ? { pttMaxMs: s.ptt.maxMs } : {}),
    };
    this.m = new TunerMachine({ ...rules, errorMs: PRESS_ERROR_BOUND_MS.rpio });
    try {
      const gpio = (this.gpio = await openGpio({ adapter: s.adapter, chip: s.chip }, { hal, clock, log }));
      if (this.stopped) {
        await gpio.close();
        return;
      }
      this.m = new TunerMachine({ ...rules, errorMs: PRESS_ERROR_BOUND_MS[gpio.kind] });
      // START first, released, before anything else.
      this.start_ = await gpio.output(s.start.line, { activeLow: s.start.activeLow, initial: false, label: 'start' });
      if (s.ptt) this.ptt = await gpio.output(s.ptt.line, { activeLow: s.ptt.activeLow, initial: false, label: 'ptt' });
      if (s.power)
        this.power = await gpio.output(s.power.line, { activeLow: s.power.activeLow, initial: !s.power.cutsPower, label: 'power' });
      this.key = await gpio.input(s.key.line, { activeLow: s.key.activeLow, bias: s.key.bias, label: 'key' });
      this.key.watch((e) => this.guarded(() => this.onKey(e.active, e.t)));
      if (s.button) {
        const b = await gpio.input(s.button.line, { activeLow: s.button.activeLow, bias: s.button.bias, label: 'button' });
        const watch = (this.button = new ButtonWatch(
          clock,
          s.button.debounceMs,
          {
            down: () => this.guarded(() => this.onButtonDown()),
            up: (ms) => this.guarded(() => this.onButtonUp(ms)),
          },
          b.read(),
        ));
        b.watch((e) => watch.edge(e.active, e.t));
      }
      if (this.stopped) return;
    } catch (e) {
      await this.stop();
      throw e;
    }
    log.info(
      `tuner on ${this.gpio!.kind} GPIO: START ${s.start.line}, KEY ${s.key.line}${s.power ? `, power ${s.power.line}` : ''}${s.ptt ? `, PTT ${s.ptt.line}` : ''}${s.button ? `, button ${s.button.line} (${s.button.mode})` : ''}`,
    );
    this.publish();
  }

  async apply(next: TunerConfig): Promise<'applied' | 'restart'> {
    checkTunerConfig(next);
    return 'restart';
  }

  /** The spec's commands (arguments already validated against it; the checks here are a second guard). */
  readonly commands: CommandHandlers<typeof tunerSpec> = {
    tune: async ({ mode }) => {
      this.running();
      if (!['bypass', 'memory', 'full'].includes(mode))
        throw new ProtocolError('invalid', `unknown mode "${String(mode)}"; modes are bypass, memory and full`, [
          { path: '/mode', message: 'must be bypass, memory or full' },
        ]);
      return this.replyFor(await this.timedPress('tune', this.m.targetMs(mode), 'command', mode));
    },
    press: async ({ ms }) => {
      this.running();
      if (!Number.isFinite(ms) || ms < 20 || ms > 10_000)
        throw new ProtocolError('invalid', `press length ${String(ms)} ms is out of range (20–10000 ms)`, [
          { path: '/ms', message: 'must be 20–10000' },
        ]);
      let mode: TuneMode;
      try {
        mode = this.m.rawPressMode(ms);
      } catch (e) {
        throw refusal(e);
      }
      return this.replyFor(await this.timedPress('press', ms, 'command', mode));
    },
    'erase-memories': async () => {
      this.running();
      const r = await this.erase();
      if (r.outcome !== 'erased') throw new ProtocolError('failed', r.message);
      return r;
    },
  };

  private running(): void {
    if (!this.gpio || this.stopped) throw new ProtocolError('role-not-running', 'the tuner is not running');
  }

  telemetry(): Record<string, number> {
    return { ...this.counts, busy: this.m?.op ? 1 : 0, keyActive: this.key?.read() ? 1 : 0, buttonBounces: this.button?.bounces ?? 0 };
  }
}

export function createTunerRole(deps: RoleDeps<typeof tunerSpec>): RoleOf<typeof tunerSpec> {
  return new TunerRole(deps);
}
