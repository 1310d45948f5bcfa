// Owns every role's life: start, apply, stop, each inside its own try/catch. A role that fails
// (throws from start, or calls deps.fail later) is stopped, reported on its state topic and as
// an event, and restarted with capped backoff; the others keep running. Applying a new set of
// role configs touches only the roles whose slice changed, and if any of them fails the whole
// apply is rolled back so the device keeps running its last good config.
import { isDeepStrictEqual } from 'node:util';
import type { Clock, TimerHandle } from './clock.ts';
import type { Logger } from './log.ts';
import type { Role, AnyRoleFactory, RoleLink, DeviceIdentity } from './role.ts';
import type { HalOverrides } from '../core/hal-overrides.ts';
import type { RoleStatus } from '../../protocol/messages.ts';
import { Backoff } from './backoff.ts';

export type RoleLoader = () => Promise<AnyRoleFactory>;

export interface SupervisorDeps {
  device: DeviceIdentity;
  clock: Clock;
  log: Logger;
  hal: HalOverrides;
  loaders: Record<string, RoleLoader>;
  /** Builds the RoleLink a role gets (scoped to the role's topics). */
  linkFor(role: string): RoleLink;
  /** Publishes the supervisor's view of a role (merged with the role's own detail by the runtime). */
  onStatus(role: string, s: RoleView): void;
  onEvent(role: string, type: string, message: string, data?: Record<string, unknown>): void;
  restartMinMs?: number;
  restartMaxMs?: number;
  /** A role that ran this long without failing has its backoff reset. */
  stableMs?: number;
  /** Start order by role (RoleSpec.order): lower starts earlier and stops later; default 0. */
  order?: Record<string, number>;
}

export interface RoleView {
  status: RoleStatus;
  since: number;
  restarts: number;
  error?: string;
  nextRestartInMs?: number;
}

interface Slot {
  name: string;
  config: unknown;
  instance?: Role;
  view: RoleView;
  backoff: Backoff;
  restartTimer?: TimerHandle;
  startedAt?: number;
  /** Bumped on every (re)start, so a late failure report from an old instance is ignored. */
  generation: number;
}

export class ApplyError extends Error {
  constructor(
    readonly role: string,
    readonly reason: Error,
  ) {
    super(`role ${role} failed to apply: ${reason.message}`);
    this.name = 'ApplyError';
  }
}

export class Supervisor {
  private readonly slots = new Map<string, Slot>();
  private stopped = false;

  constructor(private readonly d: SupervisorDeps) {}

  roles(): string[] {
    return [...this.slots.keys()];
  }
  private rank(role: string): number {
    return this.d.order?.[role] ?? 0;
  }
  view(role: string): RoleView | undefined {
    return this.slots.get(role)?.view;
  }
  instance(role: string): Role | undefined {
    const s = this.slots.get(role);
    return s?.view.status === 'running' ? s.instance : undefined;
  }

  private setStatus(slot: Slot, status: RoleStatus, extra: Partial<RoleView> = {}): void {
    slot.view = { status, since: this.d.clock.wall(), restarts: slot.view.restarts, ...extra };
    this.d.onStatus(slot.name, slot.view);
  }

  private async instantiate(slot: Slot): Promise<void> {
    // The generation is taken before loading, so a role whose module fails to load is reported
    // and retried like one that throws from start (startSlot expects generation + 1).
    const generation = ++slot.generation;
    const loader = this.d.loaders[slot.name];
    if (!loader) throw new Error(`no role called "${slot.name}" in this runtime`);
    const factory = await loader();
    const log = this.d.log.child({ role: slot.name });
    const deps: Parameters<AnyRoleFactory>[0] = {
      device: this.d.device,
      config: slot.config,
      clock: this.d.clock,
      log,
      hal: this.d.hal,
      link: this.d.linkFor(slot.name),
      fail: (err: Error) => this.failed(slot, generation, err),
    };
    const instance = factory(deps);
    slot.instance = instance;
    this.setStatus(slot, 'starting');
    await instance.start();
    if (slot.generation !== generation) return;
    slot.startedAt = this.d.clock.now();
    this.setStatus(slot, 'running');
  }

  private async stopInstance(slot: Slot): Promise<void> {
    const inst = slot.instance;
    slot.instance = undefined;
    slot.generation++;
    if (!inst) return;
    try {
      await inst.stop();
    } catch (e) {
      this.d.log.error(`role ${slot.name} threw while stopping: ${(e as Error).message}`, { role: slot.name, error: e });
    }
  }

  /** A running role reports it can no longer work (or threw at start): restart it with backoff. */
  private failed(slot: Slot, generation: number, err: Error): void {
    if (this.stopped || slot.generation !== generation || this.slots.get(slot.name) !== slot) return;
    const ranMs = slot.startedAt !== undefined ? this.d.clock.now() - slot.startedAt : 0;
    if (ranMs >= (this.d.stableMs ?? 60_000)) slot.backoff.reset();
    const delay = slot.backoff.next();
    slot.view.restarts++;
    this.d.log.error(`role ${slot.name} failed: ${err.message}; restarting in ${delay} ms`, { role: slot.name, error: err });
    this.d.onEvent(slot.name, 'role-failed', `${slot.name} failed: ${err.message}; restarting in ${Math.round(delay)} ms`, {
      error: err.message,
      restartInMs: delay,
      restarts: slot.view.restarts,
    });
    this.setStatus(slot, 'restarting', { error: err.message, nextRestartInMs: delay });
    void this.stopInstance(slot).then(() => {
      if (this.stopped || this.slots.get(slot.name) !== slot) return;
      slot.restartTimer = this.d.clock.setTimeout(() => {
        slot.restartTimer = undefined;
        if (this.stopped || this.slots.get(slot.name) !== slot) return;
        void this.startSlot(slot, true);
      }, delay);
    });
  }

  private async startSlot(slot: Slot, isRestart: boolean): Promise<void> {
    const gen = slot.generation + 1;
    try {
      await this.instantiate(slot);
      if (isRestart)
        this.d.onEvent(slot.name, 'role-restarted', `${slot.name} is running again after ${slot.view.restarts} restart(s)`, {
          restarts: slot.view.restarts,
        });
    } catch (e) {
      this.failed(slot, gen, e as Error);
    }
  }

  /**
   * Boot: starts every configured role. A role that fails to start is reported and retried with
   * backoff; it does not stop the others (there is no older config to go back to).
   */
  async boot(roles: Record<string, unknown>): Promise<void> {
    // Lower order first (the hub's broker before a link that goes through it); stable otherwise.
    const names = Object.keys(roles)
      .filter((n) => roles[n] !== undefined)
      .sort((a, b) => this.rank(a) - this.rank(b));
    for (const name of names) {
      const slot = this.newSlot(name, roles[name]);
      this.slots.set(name, slot);
      await this.startSlot(slot, false);
    }
  }

  private newSlot(name: string, config: unknown): Slot {
    return {
      name,
      config,
      generation: 0,
      view: { status: 'stopped', since: this.d.clock.wall(), restarts: 0 },
      backoff: new Backoff({ minMs: this.d.restartMinMs ?? 1000, maxMs: this.d.restartMaxMs ?? 60_000 }),
    };
  }

  /**
   * Moves from the current role configs to `next`: starts added roles, stops removed ones, and
   * applies changed slices (in place, or by restart when the role asks). Unchanged roles are not
   * touched. If anything fails, everything done so far is undone and ApplyError is thrown.
   */
  async apply(next: Record<string, unknown>): Promise<{ started: string[]; stopped: string[]; changed: string[] }> {
    const prev = new Map([...this.slots].map(([n, s]) => [n, s.config]));
    const wanted = Object.keys(next).filter((n) => next[n] !== undefined);
    const removed = [...this.slots.keys()].filter((n) => !wanted.includes(n));
    const added = wanted.filter((n) => !this.slots.has(n));
    const changed = wanted.filter((n) => this.slots.has(n) && !isDeepStrictEqual(this.slots.get(n)!.config, next[n]));
    const done: Array<() => Promise<void>> = [];
    try {
      for (const name of removed) {
        const slot = this.slots.get(name)!;
        this.d.clock.clearTimeout(slot.restartTimer);
        await this.stopInstance(slot);
        this.slots.delete(name);
        this.setStatus(slot, 'stopped');
        done.push(async () => {
          const s = this.newSlot(name, prev.get(name));
          this.slots.set(name, s);
          await this.startSlot(s, false);
        });
      }
      for (const name of changed) {
        const slot = this.slots.get(name)!;
        const old = slot.config;
        await this.applyOne(slot, next[name]);
        done.push(async () => {
          await this.applyOne(slot, old).catch(() =>
            this.failed(slot, slot.generation, new Error('could not restore the previous config')),
          );
        });
      }
      for (const name of added) {
        const slot = this.newSlot(name, next[name]);
        this.slots.set(name, slot);
        done.push(async () => {
          this.d.clock.clearTimeout(slot.restartTimer);
          await this.stopInstance(slot);
          this.slots.delete(name);
          this.setStatus(slot, 'stopped');
        });
        try {
          await this.instantiate(slot);
        } catch (e) {
          throw new ApplyError(name, e as Error);
        }
      }
    } catch (e) {
      for (const undo of done.reverse()) await undo();
      throw e instanceof ApplyError ? e : new ApplyError('?', e as Error);
    }
    return { started: added, stopped: removed, changed };
  }

  private async applyOne(slot: Slot, config: unknown): Promise<void> {
    const inst = slot.instance;
    if (!inst || slot.view.status !== 'running') {
      // Not running (failed, waiting to restart): take the new config and start now.
      this.d.clock.clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
      await this.stopInstance(slot);
      slot.config = config;
      try {
        await this.instantiate(slot);
      } catch (e) {
        throw new ApplyError(slot.name, e as Error);
      }
      return;
    }
    let how: 'applied' | 'restart';
    try {
      how = await inst.apply(config);
    } catch (e) {
      throw new ApplyError(slot.name, e as Error);
    }
    const old = slot.config;
    slot.config = config;
    if (how === 'restart') {
      await this.stopInstance(slot);
      try {
        await this.instantiate(slot);
      } catch (e) {
        slot.config = old;
        await this.stopInstance(slot);
        await this.instantiate(slot).catch((err) => this.failed(slot, slot.generation, err as Error));
        throw new ApplyError(slot.name, e as Error);
      }
    }
  }

  /** Restarts one role now (cmd/device/restart-role). */
  async restart(name: string): Promise<void> {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`role ${name} is not configured`);
    this.d.clock.clearTimeout(slot.restartTimer);
    slot.restartTimer = undefined;
    await this.stopInstance(slot);
    const gen = slot.generation + 1;
    try {
      await this.instantiate(slot);
    } catch (e) {
      // Not left dead in "starting": reported and retried with backoff like any failed start.
      this.failed(slot, gen, e as Error);
      throw e;
    }
  }

  telemetry(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [name, slot] of this.slots) {
      let figures: Record<string, number> = {};
      try {
        figures = slot.view.status === 'running' ? (slot.instance?.telemetry?.() ?? {}) : {};
      } catch {
        /* a role's telemetry must not break the message */
      }
      out[name] = { ...figures, restarts: slot.view.restarts, running: slot.view.status === 'running' ? 1 : 0 };
    }
    return out;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const names = [...this.slots.keys()].sort((a, b) => this.rank(b) - this.rank(a)); // reverse start order
    for (const name of names) {
      const slot = this.slots.get(name)!;
      this.d.clock.clearTimeout(slot.restartTimer);
      await this.stopInstance(slot);
      slot.view = { ...slot.view, status: 'stopped', since: this.d.clock.wall() };
    }
  }
}
