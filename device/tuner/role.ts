// The tuner role: timed START presses (tune, press, erase-memories), KEY watch, optional power
// relay and PTT, and the physical button. Wiring and bookkeeping only: press timing (timing.ts),
// KEY classification (key-watch.ts) and debounce (button.ts) are the pure parts; the GPIO adapter
// times the press itself (hal/gpio.ts).
// Safety rules: START is opened released before any other line; every path that ends an
// operation (done, error, stop, a thrown handler) releases START and PTT; one operation at a
// time — a second request is refused with "busy" (not queued: a tune asked for seconds ago may
// no longer be wanted, and a queued one would transmit when nobody expects it), and the next
// press waits for minGapMs after the last operation ended.
import type { RoleOf, RoleDeps } from '../core/role.ts';
import type { TimerHandle } from '../core/clock.ts';
import { sleep } from '../core/clock.ts';
import type { Gpio, GpioInput, GpioOutput } from '../hal/gpio.ts';
import { openGpio } from '../hal/gpio-select.ts';
import { ProtocolError } from '../../protocol/envelope.ts';
import type { ButtonAction, PressSource, TunerConfig, TunerState, TuneMode, TuneResult, TunerStatus, tunerSpec } from '../../protocol/roles/tuner.ts';
import { checkTunerConfig, type TunerSettings } from './settings.ts';
import { PressTiming } from './timing.ts';
import { KeyWatch, type KeyOutcome } from './key-watch.ts';
import { ButtonWatch, classifyPress } from './button.ts';

/** Longest a pass-through press may hold START (a shorted button must not hold it forever). */
export const PASS_THROUGH_MAX_MS = 10_000;
const r1 = (x: number) => Math.round(x * 10) / 10;
const NO_KEY = { delayMs: null, lowMs: null, totalMs: null, pulses: 0, segments: [] };

interface Operation { kind: 'tune' | 'press' | 'erase'; mode?: TuneMode; source: PressSource; since: number; watch?: KeyWatch }

export function createTunerRole(deps: RoleDeps<typeof tunerSpec>): RoleOf<typeof tunerSpec> {
  const { clock, log, link, hal } = deps;
  let s: TunerSettings;
  let timing: PressTiming;
  let gpio: Gpio | undefined;
  let start: GpioOutput | undefined;
  let key: GpioInput | undefined;
  let power: GpioOutput | undefined;
  let ptt: GpioOutput | undefined;
  let buttonIn: GpioInput | undefined;
  let button: ButtonWatch | undefined;
  let stopped = false;
  let started = false;
  let status: TunerStatus = 'idle';
  let op: Operation | undefined;
  let last: TuneResult | null = null;
  let error: string | undefined;
  let lastEnd = -Infinity;
  let pttOn: { since: number; limit: TimerHandle } | undefined;
  let pttMs = 0;
  let pttLocked = false;
  let passHold: { start: number; limit: TimerHandle; ignored: boolean } | undefined;
  const counts = { presses: 0, tunes: 0, failures: 0, buttonPresses: 0, faults: 0 };
  const iso = (clockMs = clock.now()) => new Date(clock.wall() - (clock.now() - clockMs)).toISOString();

  function state(): TunerState {
    return {
      status, adapter: gpio?.kind ?? 'none',
      operation: op ? { kind: op.kind, ...(op.mode ? { mode: op.mode } : {}), source: op.source, since: iso(op.since) } : null,
      key: key?.read() ?? false, start: start?.read() ?? false,
      ...(ptt ? { ptt: ptt.read() } : {}),
      ...(power ? { powered: power.read() !== s.power!.cutsPower } : {}),
      ...(s?.button ? { button: s.button.mode } : {}),
      last, ...(status === 'error' && error ? { error } : {}), counts: { ...counts },
    };
  }
  const publish = () => { if (!stopped) link.publishState(state()); };

  function fault(kind: string, message: string, extra: Record<string, unknown> = {}): void {
    counts.faults++;
    log.warn(message, { fault: kind });
    if (!stopped) link.publishEvent('fault', message, { fault: kind, ...extra });
  }

  /** Releases START and PTT whatever happens; used on every way out. */
  function releaseAll(): void {
    for (const o of [start, ptt]) { try { if (o?.read()) o.write(false); } catch (e) { log.error(`could not release GPIO ${o?.line}: ${(e as Error).message}`); } }
    if (pttOn) { clock.clearTimeout(pttOn.limit); pttMs += clock.now() - pttOn.since; pttOn = undefined; }
  }

  /** Runs a handler; a throw releases the lines and hands the role to the supervisor. */
  function guarded(fn: () => void): void {
    try { fn(); } catch (e) {
      releaseAll();
      log.error(`tuner handler failed: ${(e as Error).message}`);
      deps.fail(e as Error);
    }
  }

  function setPower(on: boolean): void { power?.write(on !== s.power!.cutsPower); }

  // --- PTT follows KEY during an operation, with a hard limit --------------------------------
  function pttFollow(keyActive: boolean): void {
    if (!ptt || !op || op.kind === 'erase') return;
    if (keyActive && !pttOn && !pttLocked) {
      ptt.write(true);
      pttOn = {
        since: clock.now(),
        limit: clock.setTimeout(() => guarded(() => {
          pttLocked = true;
          releaseAll();
          fault('ptt-limit', `PTT released after the ${s.ptt!.maxMs} ms transmit limit`);
          publish();
        }), s.ptt!.maxMs),
      };
      publish();
    } else if (!keyActive && pttOn) {
      ptt.write(false);
      clock.clearTimeout(pttOn.limit);
      pttMs += clock.now() - pttOn.since;
      pttOn = undefined;
      publish();
    }
  }

  function onKey(active: boolean, t: number): void {
    op?.watch?.edge(active, t);
    pttFollow(active);
    if (!op) publish();
  }

  // --- operations ------------------------------------------------------------------------------
  function begin(kind: Operation['kind'], source: PressSource, mode?: TuneMode): Operation {
    if (op) throw new ProtocolError('busy', `the tuner is ${status} (${op.kind}${op.mode ? ` ${op.mode}` : ''} from ${op.source}); try again when it is idle`);
    const wait = lastEnd + s.minGapMs - clock.now();
    if (wait > 0) throw new ProtocolError('busy', `presses need ${s.minGapMs} ms between them; try again in ${Math.ceil(wait)} ms`);
    op = { kind, source, ...(mode ? { mode } : {}), since: clock.now() };
    pttMs = 0;
    pttLocked = false;
    status = kind === 'erase' ? 'erasing' : 'pressing';
    error = undefined;
    return op;
  }

  function keyWatch(): KeyWatch {
    return new KeyWatch(clock, {
      responseMs: s.keyResponseMs, maxMs: s.keyMaxMs, settleMs: s.settleMs, failCount: s.failurePulses.count, failMaxMs: s.failurePulses.maxMs,
    }, () => key!.read(), () => gpio!.now());
  }

  const MESSAGES: Record<KeyOutcome | 'bypassed', (m: string) => string> = {
    tuned: (m) => `${m} tune done: KEY asserted and released normally`,
    bypassed: () => 'bypass press done',
    failed: (m) => `${m} tune failed: KEY gave the failure pulse pattern`,
    'no-response': (m) => `${m} tune: no KEY response within ${s.keyResponseMs} ms`,
    stuck: (m) => `${m} tune: KEY still asserted after ${s.keyMaxMs} ms`,
    aborted: (m) => `${m} tune aborted: the tuner role stopped`,
  };

  /** After START is released: classify the press, watch KEY, record and report the result. */
  async function finishPress(o: Operation, pressStart: number, pressEnd: number, requestedMs: number | null): Promise<TuneResult> {
    const at = iso(o.since);
    const pressMs = pressEnd - pressStart;
    const mode = timing.modeOf(pressMs);
    counts.presses++;
    if (o.mode && mode !== o.mode) fault('press-window', `a ${o.mode} press measured ${r1(pressMs)} ms, which the tuner reads as ${mode}`, { mode: o.mode, pressMs: r1(pressMs) });
    if (!stopped) link.publishEvent('press', `START pressed ${r1(pressMs)} ms (${mode})`, { mode, source: o.source, requestedMs, pressMs: r1(pressMs) });
    const watch = o.watch!;
    let outcome: KeyOutcome | 'bypassed';
    if (mode === 'bypass') {
      watch.abort();
      outcome = 'bypassed';
    } else {
      status = 'tuning';
      publish();
      watch.pressEnded(pressEnd);
      outcome = (await watch.result).outcome;
    }
    releaseAll();
    const key = watch.timings();
    const result: TuneResult = {
      mode, source: o.source, outcome, requestedMs, pressMs: r1(pressMs), key,
      ...(ptt ? { pttMs: Math.round(pttMs) } : {}), at, message: MESSAGES[outcome](mode),
    };
    end(result, outcome === 'tuned' || outcome === 'bypassed');
    if (outcome === 'stuck') fault('key-stuck', result.message);
    return result;
  }

  function end(result: TuneResult, ok: boolean): void {
    last = result;
    counts.tunes++;
    if (!ok) counts.failures++;
    status = ok ? 'idle' : 'error';
    error = ok ? undefined : result.message;
    op = undefined;
    lastEnd = clock.now();
    if (!stopped) {
      link.publishEvent(result.mode === 'erase' ? 'erase' : 'tune', result.message, { mode: result.mode, source: result.source, result });
      publish();
    }
  }

  /** A timed press of `ms` through the adapter (off the event loop where it can), then the KEY watch. */
  async function timedPress(kind: 'tune' | 'press', ms: number, source: PressSource, mode: TuneMode): Promise<TuneResult> {
    const o = begin(kind, source, kind === 'tune' ? mode : undefined);
    o.watch = keyWatch();
    publish();
    let times: { start: number; end: number };
    try {
      times = await start!.pulse(ms);
    } catch (e) {
      releaseAll();
      o.watch.abort();
      const msg = `START press failed: ${(e as Error).message}`;
      fault('gpio', msg);
      op = undefined;
      status = 'error';
      error = msg;
      lastEnd = clock.now();
      publish();
      throw new ProtocolError('failed', msg);
    }
    return finishPress(o, times.start, times.end, ms);
  }

  function replyFor(r: TuneResult): TuneResult {
    if (r.outcome === 'tuned' || r.outcome === 'bypassed' || r.outcome === 'erased') return r;
    throw new ProtocolError(r.outcome === 'failed' || r.outcome === 'aborted' ? 'failed' : 'timeout', r.message);
  }

  async function erase(): Promise<TuneResult> {
    if (!power) throw new ProtocolError('invalid', 'erase-memories needs a power relay: set power.line in the tuner config', [{ path: '/power', message: 'not configured' }]);
    const o = begin('erase', 'command');
    publish();
    const p = s.power!;
    let pressStart = 0;
    try {
      setPower(false);
      await sleep(clock, p.offMs);
      if (stopped) throw new Error('stopped');
      start!.write(true);
      pressStart = gpio!.now();
      await sleep(clock, 100);
      if (stopped) throw new Error('stopped');
      setPower(true);
      await sleep(clock, s.eraseHoldMs);
    } catch (e) {
      releaseAll();
      if (!stopped) setPower(true);
      const r: TuneResult = { mode: 'erase', source: 'command', outcome: 'aborted', requestedMs: null, pressMs: 0, key: NO_KEY, at: iso(o.since), message: `erase aborted: ${(e as Error).message}` };
      end(r, false);
      return r;
    }
    start!.write(false);
    const pressMs = gpio!.now() - pressStart;
    const r: TuneResult = {
      mode: 'erase', source: 'command', outcome: 'erased', requestedMs: null, pressMs: r1(pressMs),
      key: NO_KEY, at: iso(o.since),
      message: `memories erased: power off ${p.offMs} ms, START held ${r1(pressMs)} ms across power-up`,
    };
    end(r, true);
    return r;
  }

  // --- button ---------------------------------------------------------------------------------
  function describe(a: ButtonAction | undefined): string {
    if (!a) return 'nothing';
    return 'tune' in a ? `tune ${a.tune}` : `${a.device}/${a.role}/${a.action}`;
  }

  async function runAction(a: ButtonAction): Promise<void> {
    if ('tune' in a) {
      await timedPress('tune', timing.targetMs(a.tune), 'button', a.tune).catch((e) => {
        if (e instanceof ProtocolError && e.code === 'busy') fault('busy', `button: ${e.message}`);
      });
      return;
    }
    const reply = await link.sendCommand(a.device, a.role, a.action, a.args ?? {});
    if (!reply.ok) fault('action-failed', `button: ${describe(a)} was refused: ${reply.error?.message ?? 'no reason given'}`, { action: describe(a) });
  }

  function onButtonUp(ms: number): void {
    const b = s.button!;
    counts.buttonPresses++;
    const cls = classifyPress(ms, b.mediumMs, b.longMs);
    if (b.mode === 'pass-through') {
      const hold = passHold;
      passHold = undefined;
      if (!hold) return;
      clock.clearTimeout(hold.limit);
      if (hold.ignored) return;
      start!.write(false);
      const pressEnd = gpio!.now();
      if (!stopped) link.publishEvent('button', `button pressed ${r1(ms)} ms, passed through to START`, { buttonMs: r1(ms), class: cls, action: 'pass-through' });
      if (op) finishPress(op, hold.start, pressEnd, null).catch((e) => log.error(`pass-through finish failed: ${(e as Error).message}`));
      return;
    }
    const a = b.actions[cls];
    if (!stopped) link.publishEvent('button', `button ${cls} press (${r1(ms)} ms): ${describe(a)}`, { buttonMs: r1(ms), class: cls, action: describe(a) });
    publish();
    if (a) runAction(a).catch((e) => fault('action-failed', `button: ${describe(a)} failed: ${(e as Error).message}`, { action: describe(a) }));
  }

  function onButtonDown(): void {
    if (s.button!.mode !== 'pass-through') return;
    let ignored = false;
    try {
      const o = begin('press', 'pass-through');
      o.watch = keyWatch();
      start!.write(true);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      ignored = true;
      fault('busy', `button ignored: ${e.message}`);
    }
    const pressStart = gpio!.now();
    passHold = {
      start: pressStart, ignored,
      limit: clock.setTimeout(() => guarded(() => {
        if (!passHold || passHold.ignored) return;
        const h = passHold;
        passHold = undefined;
        start!.write(false);
        fault('button-stuck', `button held over ${PASS_THROUGH_MAX_MS} ms: START released`);
        if (op) void finishPress(op, h.start, gpio!.now(), null);
      }), PASS_THROUGH_MAX_MS),
    };
    publish();
  }

  // --- lifecycle ------------------------------------------------------------------------------
  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    button?.stop();
    if (passHold) clock.clearTimeout(passHold.limit);
    op?.watch?.abort();
    releaseAll();
    // gpio stays set: operations still finishing read its clock; `stopped` guards everything else.
    await gpio?.close().catch((e: Error) => log.error(`closing GPIO: ${e.message}`));
  }

  return {
    async start() {
      if (started) return;
      started = true;
      s = checkTunerConfig(deps.config);
      timing = new PressTiming({ bypassBelowMs: s.bypassBelowMs, fullAboveMs: s.fullAboveMs }, s.presses);
      try {
        gpio = hal.gpio ? await hal.gpio({ chip: s.chip }) : await openGpio({ adapter: s.adapter, chip: s.chip, clock, log });
        if (stopped) { await gpio.close(); return; }
        // START first, released, before anything else.
        start = await gpio.output(s.start.line, { activeLow: s.start.activeLow, initial: false, label: 'start' });
        if (s.ptt) ptt = await gpio.output(s.ptt.line, { activeLow: s.ptt.activeLow, initial: false, label: 'ptt' });
        if (s.power) power = await gpio.output(s.power.line, { activeLow: s.power.activeLow, initial: !s.power.cutsPower, label: 'power' });
        key = await gpio.input(s.key.line, { activeLow: s.key.activeLow, bias: s.key.bias, label: 'key' });
        key.watch((e) => guarded(() => onKey(e.active, e.t)));
        if (s.button) {
          buttonIn = await gpio.input(s.button.line, { activeLow: s.button.activeLow, bias: s.button.bias, label: 'button' });
          button = new ButtonWatch(clock, s.button.debounceMs, {
            down: () => guarded(onButtonDown),
            up: (ms) => guarded(() => onButtonUp(ms)),
          }, buttonIn.read());
          buttonIn.watch((e) => button!.edge(e.active, e.t));
        }
        if (stopped) return;
      } catch (e) {
        await stop();
        throw e;
      }
      log.info(`tuner on ${gpio.kind} GPIO: START ${s.start.line}, KEY ${s.key.line}${s.power ? `, power ${s.power.line}` : ''}${s.ptt ? `, PTT ${s.ptt.line}` : ''}${s.button ? `, button ${s.button.line} (${s.button.mode})` : ''}`);
      publish();
    },

    async apply(next) {
      checkTunerConfig(next);
      return 'restart';
    },

    stop,

    commands: {
      async tune({ mode }) {
        if (!gpio || stopped) throw new ProtocolError('role-not-running', 'the tuner is not running');
        return replyFor(await timedPress('tune', timing.targetMs(mode), 'command', mode));
      },
      async press({ ms }) {
        if (!gpio || stopped) throw new ProtocolError('role-not-running', 'the tuner is not running');
        return replyFor(await timedPress('press', ms, 'command', timing.modeOf(ms)));
      },
      async 'erase-memories'() {
        if (!gpio || stopped) throw new ProtocolError('role-not-running', 'the tuner is not running');
        return replyFor(await erase());
      },
    },

    telemetry() {
      return { ...counts, busy: op ? 1 : 0, keyActive: key?.read() ? 1 : 0, buttonBounces: button?.bounces ?? 0 };
    },
  };
}
