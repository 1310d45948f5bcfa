// The tuner's operations and safety rules as a pure state machine: times in, decisions out, no
// timers and no I/O (the role, role.ts, owns the GPIO, the KEY watch and the clock's timers).
// Rules:
// - One operation at a time. A second request is refused with "busy" (not queued: a tune asked for
//   seconds ago may no longer be wanted, and a queued one would transmit when nobody expects it);
//   the next press also waits minGapMs after the last operation ended.
// - Margins: a raw press length within guardMs of a window edge is refused (the tuner's reading
//   there is uncertain). A measured press is trusted only if it sits at least guardMs minus the
//   adapter's worst-case press error inside the asked mode's window: where a press on time could
//   have landed. An untrusted press is a failure (press-window) whatever KEY does.
// - KEY must agree with the mode: after a bypass, KEY asserting means the tuner tuned; after a
//   tune, KEY is classified by the KEY watch. A disagreement is a failure (press-window) and the
//   result names what the tuner most likely did.
// - PTT keys the radio only while KEY asks for carrier during a tune the tuner was asked for
//   (a trusted memory or full press, after START is released), never during a bypass, never for
//   a press it cannot trust, and never past pttMaxMs per operation (then locked until the next).
import type { PressSource, TuneMode, TuneOutcome, TunerStatus } from '../../protocol/roles/tuner.ts';
import { pressWindow } from '../../protocol/roles/tuner-rules.ts';
import type { KeyOutcome } from './key-watch.ts';

export interface MachineRules {
  bypassBelowMs: number;
  fullAboveMs: number;
  targets: Record<TuneMode, number>;
  guardMs: number;
  /** Worst-case press error of the adapter in use (ms). */
  errorMs: number;
  minGapMs: number;
  /** Hard PTT limit per operation (ms); undefined when no PTT is wired. */
  pttMaxMs?: number;
}

export type OpKind = 'tune' | 'press' | 'erase';

export interface Operation {
  kind: OpKind;
  source: PressSource;
  /** The mode asked for (null: pass-through, erase). */
  requested: TuneMode | null;
  since: number;
  phase: 'pressing' | 'tuning' | 'erasing';
  /** After the press: what its measured length reads as, and whether it can be trusted. */
  read?: TuneMode;
  trusted?: boolean;
}

export class Refusal extends Error {
  constructor(
    readonly code: 'busy' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

export interface Verdict {
  outcome: TuneOutcome;
  /** What the tuner most likely did. */
  mode: TuneMode;
  ok: boolean;
  /** Reply error code when not ok. */
  code?: 'failed' | 'timeout';
  reason?: 'press-window';
}

export type PttAction = 'on' | 'off' | undefined;

export class TunerMachine {
  op: Operation | undefined;
  lastEnd = -Infinity;
  /** PTT bookkeeping of the current operation. */
  ptt = { on: false, since: 0, ms: 0, locked: false };

  constructor(readonly rules: MachineRules) {}

  modeOf(ms: number): TuneMode {
    if (ms < this.rules.bypassBelowMs) return 'bypass';
    if (ms <= this.rules.fullAboveMs) return 'memory';
    return 'full';
  }

  /** Distance from `ms` to the nearest edge of the mode's window (negative: outside). */
  inside(mode: TuneMode, ms: number): number {
    const w = pressWindow(mode, this.rules.bypassBelowMs, this.rules.fullAboveMs);
    return Math.min(ms - w.min, w.max - ms);
  }

  targetMs(mode: TuneMode): number {
    return this.rules.targets[mode];
  }

  status(lastFailed: boolean): TunerStatus {
    if (this.op) return this.op.phase;
    return lastFailed ? 'error' : 'idle';
  }

  /** The mode a raw press length asks for, or a Refusal when it sits within the guard of an edge. */
  rawPressMode(ms: number): TuneMode {
    const mode = this.modeOf(ms);
    const inside = this.inside(mode, ms);
    if (inside < this.rules.guardMs) {
      throw new Refusal(
        'invalid',
        `a ${ms} ms press is ${Math.round(inside)} ms from a window edge; the tuner's reading within ${this.rules.guardMs} ms of an edge (margins.guardMs) is uncertain, so it is refused`,
      );
    }
    return mode;
  }

  /** Starts an operation or refuses it (busy, minimum gap). */
  begin(kind: OpKind, source: PressSource, requested: TuneMode | null, now: number): Operation {
    if (this.op) {
      const o = this.op;
      throw new Refusal(
        'busy',
        `the tuner is ${o.phase} (${o.kind}${o.requested ? ` ${o.requested}` : ''} from ${o.source}); try again when it is idle`,
      );
    }
    const wait = this.lastEnd + this.rules.minGapMs - now;
    if (wait > 0) throw new Refusal('busy', `presses need ${this.rules.minGapMs} ms between them; try again in ${Math.ceil(wait)} ms`);
    this.op = { kind, source, requested, since: now, phase: kind === 'erase' ? 'erasing' : 'pressing' };
    this.ptt = { on: false, since: 0, ms: 0, locked: false };
    return this.op;
  }

  /** START was released after `pressMs`: judge the press. KEY active now may turn PTT on. */
  pressed(pressMs: number, keyActive: boolean, now: number): { read: TuneMode; trusted: boolean; ptt: PttAction } {
    const o = this.op;
    if (!o) throw new Error('pressed() without an operation');
    const read = this.modeOf(pressMs);
    const asked = o.requested ?? read;
    const trusted = read === asked && this.inside(asked, pressMs) >= this.rules.guardMs - this.rules.errorMs;
    o.read = read;
    o.trusted = trusted;
    o.phase = 'tuning';
    return { read, trusted, ptt: this.key(keyActive, now) };
  }

  private pttAllowed(): boolean {
    const o = this.op;
    return (
      !!o && this.rules.pttMaxMs !== undefined && o.phase === 'tuning' && o.trusted === true && o.read !== 'bypass' && !this.ptt.locked
    );
  }

  /** KEY changed (or was read): what PTT must do now. */
  key(active: boolean, now: number): PttAction {
    if (active && !this.ptt.on && this.pttAllowed()) {
      this.ptt.on = true;
      this.ptt.since = now;
      return 'on';
    }
    if (!active && this.ptt.on) return this.pttOff(now);
    return undefined;
  }

  /** When PTT must be released at the latest (undefined while it is off). */
  pttDeadline(): number | undefined {
    return this.ptt.on && this.rules.pttMaxMs !== undefined ? this.ptt.since + this.rules.pttMaxMs : undefined;
  }

  /** The PTT limit was reached: off, and locked for the rest of the operation. */
  pttLimit(now: number): PttAction {
    if (!this.ptt.on) return undefined;
    this.ptt.locked = true;
    return this.pttOff(now);
  }

  private pttOff(now: number): PttAction {
    this.ptt.on = false;
    this.ptt.ms += now - this.ptt.since;
    return 'off';
  }

  /** The KEY watch is over: the outcome of the operation, truthful about what the tuner did. */
  verdict(key: KeyOutcome): Verdict {
    const o = this.op;
    if (!o || o.read === undefined) throw new Error('verdict() before the press was judged');
    const asked = o.requested ?? o.read;
    const keyAsserted = key === 'tuned' || key === 'failed' || key === 'stuck';
    // What the tuner most likely did: a bypass-length press answered by KEY was read as a tune.
    const likely: TuneMode = keyAsserted && o.read === 'bypass' ? 'memory' : o.read;
    if (key === 'aborted') return { outcome: 'aborted', mode: likely, ok: false, code: 'failed' };
    const window = { outcome: 'press-window' as const, mode: likely, ok: false, code: 'failed' as const, reason: 'press-window' as const };
    if (!o.trusted) return window;
    if (asked === 'bypass') return keyAsserted ? window : { outcome: 'bypassed', mode: 'bypass', ok: true };
    if (key === 'tuned') return { outcome: 'tuned', mode: likely, ok: true };
    if (key === 'failed') return { outcome: 'failed', mode: likely, ok: false, code: 'failed' };
    return { outcome: key, mode: likely, ok: false, code: 'timeout' };
  }

  /** The operation is over (PTT must already be off). */
  end(now: number): void {
    if (this.ptt.on) this.pttOff(now);
    this.op = undefined;
    this.lastEnd = now;
  }
}
