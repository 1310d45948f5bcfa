// The role supervisor in virtual time with scripted fake roles: isolation of a failing role,
// restart with capped backoff, failure and recovery reports, applying only what changed, and
// rolling back a failed apply.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../../device/core/clock.ts';
import { memoryLogger } from '../../../device/core/log.ts';
import { Supervisor, ApplyError, type RoleView } from '../../../device/core/supervisor.ts';
import type { Role, RoleDeps, RoleLink } from '../../../device/core/role.ts';

/** How a fake role behaves; changed by the test while it runs. */
interface Script {
  /** Throw from start() this many more times. */
  startFailures: number;
  /** Reject the role's module loader this many more times. */
  loaderFails?: number;
}
// apply() throws for a config with `bad: true` and returns 'restart' for one with `restart: true`.

interface Instance {
  role: string;
  n: number;
  config: unknown;
  deps: RoleDeps<any>;
  stopped: number;
}

const noLink: RoleLink = {
  publishState() {},
  publishEvent() {},
  publishStream() {},
  watchStreams: () => () => {},
  sendCommand: async () => {
    throw new Error('not used');
  },
  connected: true,
};

const flush = async () => {
  for (let i = 0; i < 30; i++) await new Promise((r) => setImmediate(r));
};

function harness(names: string[], o: { restartMinMs?: number; restartMaxMs?: number; stableMs?: number } = {}) {
  const clock = new VirtualClock();
  const calls: string[] = [];
  const views: Array<{ role: string } & RoleView> = [];
  const events: Array<{ role: string; type: string; message: string; data?: Record<string, unknown> }> = [];
  const scripts: Record<string, Script> = {};
  const instances: Instance[] = [];
  const loaders: Record<string, () => Promise<any>> = {};
  for (const name of names) {
    scripts[name] = { startFailures: 0 };
    loaders[name] = async () => {
      const s = scripts[name]!;
      if (s.loaderFails) {
        s.loaderFails--;
        throw new Error(`cannot load ${name}`);
      }
      return (deps: RoleDeps<any>): Role => {
        const inst: Instance = {
          role: name,
          n: instances.filter((i) => i.role === name).length + 1,
          config: deps.config,
          deps,
          stopped: 0,
        };
        instances.push(inst);
        const tag = `${name}#${inst.n}`;
        return {
          async start() {
            calls.push(`${tag} start ${JSON.stringify(inst.config)}`);
            if (s.startFailures > 0) {
              s.startFailures--;
              throw new Error(`${name} cannot start`);
            }
          },
          async apply(c) {
            calls.push(`${tag} apply ${JSON.stringify(c)}`);
            const cfg = c as { bad?: boolean; restart?: boolean };
            if (cfg.bad) throw new Error(`${name} refuses ${JSON.stringify(c)}`);
            if (cfg.restart) return 'restart';
            inst.config = c;
            return 'applied';
          },
          async stop() {
            inst.stopped++;
            calls.push(`${tag} stop`);
          },
          commands: {
            async echo() {
              return { from: tag };
            },
          },
          telemetry: () => ({ n: inst.n }),
        };
      };
    };
  }
  const sup = new Supervisor({
    device: { id: 'dev', baseTopic: 'hearth', stateDir: '/nonexistent' },
    clock,
    log: memoryLogger(),
    hal: {},
    loaders,
    linkFor: () => noLink,
    onStatus: (role, v) => views.push({ role, ...v }),
    onEvent: (role, type, message, data) => events.push({ role, type, message, data }),
    restartMinMs: o.restartMinMs ?? 1000,
    restartMaxMs: o.restartMaxMs ?? 8000,
    stableMs: o.stableMs ?? 60_000,
    order: { hub: -1 },
  });
  const last = (role: string) => [...views].reverse().find((v) => v.role === role)!;
  const live = (role: string) => [...instances].reverse().find((i) => i.role === role)!;
  return { clock, sup, calls, views, events, scripts, instances, last, live };
}

test('boot starts every role in spec order (the hub, order -1, first); each goes starting → running', async () => {
  const h = harness(['a', 'hub', 'b']);
  await h.sup.boot({ a: { x: 1 }, b: { x: 2 }, hub: {}, absent: undefined });
  assert.equal(h.calls, ['hub#1 start {}', 'a#1 start {"x":1}', 'b#1 start {"x":2}']);
  assert.equal(
    h.views.map((v) => `${v.role}:${v.status}`),
    ['hub:starting', 'hub:running', 'a:starting', 'a:running', 'b:starting', 'b:running'],
  );
  assert.equal(h.sup.roles().sort(), ['a', 'b', 'hub']);
  assert.ok(h.sup.instance('a'));
});

test('a role that throws at start is isolated: the others run, it is reported and retried with growing delays', async () => {
  const h = harness(['a', 'b']);
  h.scripts.a!.startFailures = 3;
  await h.sup.boot({ a: {}, b: {} });
  await flush();
  assert.is(h.last('b').status, 'running');
  assert.is(h.last('a').status, 'restarting');
  assert.is(h.sup.instance('a'), undefined, 'a failed role takes no commands');
  const delays: number[] = [];
  for (let k = 1; k <= 3; k++) {
    const v = h.last('a');
    assert.is(v.status, 'restarting');
    assert.is(v.restarts, k);
    assert.match(v.error!, 'a cannot start');
    const d = v.nextRestartInMs!;
    delays.push(d);
    const before = h.calls.length;
    h.clock.advance(d - 1);
    await flush();
    assert.is(h.calls.length, before, 'no restart before the backoff delay');
    h.clock.advance(1);
    await flush();
    assert.ok(
      h.calls.slice(before).some((c) => c.startsWith('a#') && c.includes('start')),
      `restart ${k} happened`,
    );
  }
  assert.is(h.last('a').status, 'running');
  assert.is(h.last('a').restarts, 3);
  // min 1000 doubling, ±20 % jitter
  assert.ok(delays[0]! >= 800 && delays[0]! <= 1200, `${delays}`);
  assert.ok(delays[1]! >= 1600 && delays[1]! <= 2400, `${delays}`);
  assert.ok(delays[2]! >= 3200 && delays[2]! <= 4800, `${delays}`);
  const failed = h.events.filter((e) => e.type === 'role-failed');
  assert.is(failed.length, 3);
  assert.ok(failed.every((e) => e.role === 'a' && (e.data!.error as string).includes('cannot start')));
  const restarted = h.events.filter((e) => e.type === 'role-restarted');
  assert.is(restarted.length, 1, 'one recovery, after the third failure');
  assert.is(restarted[0]!.data!.restarts, 3);
  assert.is(h.calls.filter((c) => c.startsWith('b#')).length, 1, 'b never touched');
});

test('the restart delay is capped', async () => {
  const h = harness(['a'], { restartMinMs: 1000, restartMaxMs: 4000 });
  h.scripts.a!.startFailures = 8;
  await h.sup.boot({ a: {} });
  await flush();
  const delays: number[] = [];
  for (let k = 0; k < 8; k++) {
    const d = h.last('a').nextRestartInMs!;
    delays.push(d);
    h.clock.advance(d);
    await flush();
  }
  assert.is(h.last('a').status, 'running');
  assert.ok(
    delays.slice(3).every((d) => d >= 3200 && d <= 4800),
    `${delays}`,
  );
});

test('deps.fail from a running role: old instance stopped, a new one started after backoff; stale reports ignored', async () => {
  const h = harness(['a', 'b']);
  await h.sup.boot({ a: { k: 1 }, b: {} });
  const first = h.live('a');
  first.deps.fail(new Error('socket died'));
  await flush();
  assert.is(first.stopped, 1);
  assert.is(h.last('a').status, 'restarting');
  assert.is(h.events.at(-1)!.type, 'role-failed');
  assert.match(h.events.at(-1)!.message, 'socket died');
  // A second report from the same (already failed) instance does not count again.
  first.deps.fail(new Error('socket died again'));
  await flush();
  assert.is(h.events.filter((e) => e.type === 'role-failed').length, 1);
  h.clock.advance(h.last('a').nextRestartInMs!);
  await flush();
  const second = h.live('a');
  assert.is(second.n, 2);
  assert.equal(second.config, { k: 1 }, 'restarted with the same config');
  assert.is(h.last('a').status, 'running');
  assert.is(h.last('a').restarts, 1);
  // The old instance's late failure report must not kill the new one.
  first.deps.fail(new Error('late'));
  await flush();
  assert.is(h.last('a').status, 'running');
  assert.is(second.stopped, 0);
  assert.is(h.sup.telemetry().a!.restarts, 1);
  assert.is(h.sup.telemetry().a!.running, 1);
  assert.is(h.calls.filter((c) => c.startsWith('b#')).length, 1);
});

test('a role that ran for stableMs starts its backoff again from the minimum', async () => {
  const h = harness(['a'], { stableMs: 10_000 });
  h.scripts.a!.startFailures = 2;
  await h.sup.boot({ a: {} });
  await flush();
  h.clock.advance(h.last('a').nextRestartInMs!);
  await flush();
  const d2 = h.last('a').nextRestartInMs!;
  assert.ok(d2 >= 1600, `second delay ${d2}`);
  h.clock.advance(d2);
  await flush();
  assert.is(h.last('a').status, 'running');
  h.clock.advance(10_000);
  h.live('a').deps.fail(new Error('later failure'));
  await flush();
  const d3 = h.last('a').nextRestartInMs!;
  assert.ok(d3 >= 800 && d3 <= 1200, `backoff reset, got ${d3}`);
});

test('apply touches only what changed: in place, by restart, added and removed', async () => {
  const h = harness(['a', 'b', 'c', 'd', 'e']);
  await h.sup.boot({ a: { v: 1 }, b: { v: 1 }, c: { v: 1 }, d: { v: 1 } });
  h.calls.length = 0;
  const r = await h.sup.apply({ a: { v: 1 }, b: { v: 2 }, c: { v: 2, restart: true }, e: { v: 1 } });
  assert.equal(r, { started: ['e'], stopped: ['d'], changed: ['b', 'c'] });
  assert.equal(h.calls, [
    'd#1 stop',
    'b#1 apply {"v":2}',
    'c#1 apply {"v":2,"restart":true}',
    'c#1 stop',
    'c#2 start {"v":2,"restart":true}',
    'e#1 start {"v":1}',
  ]);
  assert.is(h.last('d').status, 'stopped');
  assert.not.ok(h.sup.roles().includes('d'));
  assert.equal(h.sup.roles().sort(), ['a', 'b', 'c', 'e']);
  // Applying the same again changes nothing at all.
  h.calls.length = 0;
  assert.equal(await h.sup.apply({ a: { v: 1 }, b: { v: 2 }, c: { v: 2, restart: true }, e: { v: 1 } }), {
    started: [],
    stopped: [],
    changed: [],
  });
  assert.equal(h.calls, []);
});

test('a failed apply is rolled back: removed roles come back, changed roles get their old config, added ones go', async () => {
  const h = harness(['a', 'b', 'c', 'd']);
  await h.sup.boot({ a: { v: 1 }, b: { v: 1 }, c: { v: 1 } });
  h.calls.length = 0;
  let err: unknown;
  try {
    await h.sup.apply({ a: { v: 2 }, b: { v: 2, bad: true }, d: { v: 1 } });
  } catch (e) {
    err = e;
  }
  assert.instance(err, ApplyError);
  assert.is((err as ApplyError).role, 'b');
  assert.match((err as ApplyError).message, 'b refuses');
  assert.equal(h.sup.roles().sort(), ['a', 'b', 'c']);
  assert.not.ok(
    h.calls.some((c) => c.startsWith('d#')),
    'd never started (b failed first)',
  );
  assert.ok(h.calls.includes('a#1 apply {"v":2}'));
  assert.ok(h.calls.includes('a#1 apply {"v":1}'), 'a given its old config back');
  assert.equal(h.live('a').config, { v: 1 });
  assert.equal(h.live('c').config, { v: 1 }, 'c restarted with its old config');
  for (const r of ['a', 'b', 'c']) assert.is(h.sup.view(r)!.status, 'running', r);
  // A later good apply still works from the restored state.
  assert.equal((await h.sup.apply({ a: { v: 1 }, b: { v: 3 }, c: { v: 1 } })).changed, ['b']);
});

test('an added role that fails to start rolls back the whole apply', async () => {
  const h = harness(['a', 'b', 'c']);
  await h.sup.boot({ a: { v: 1 }, b: { v: 1 } });
  h.scripts.c!.startFailures = 1;
  h.calls.length = 0;
  let err: unknown;
  try {
    await h.sup.apply({ a: { v: 2 }, c: {} });
  } catch (e) {
    err = e;
  }
  assert.instance(err, ApplyError);
  assert.is((err as ApplyError).role, 'c');
  assert.equal(h.sup.roles().sort(), ['a', 'b']);
  assert.equal(h.live('a').config, { v: 1 });
  assert.is(h.live('b').n, 2, 'removed b restarted');
  assert.is(h.sup.view('b')!.status, 'running');
  assert.is(h.clock.pending(), 0, 'nothing left scheduled for the rolled-back role');
});

test('a role whose module fails to load at boot is reported and retried', async () => {
  const h = harness(['a', 'b']);
  h.scripts.a!.loaderFails = 1;
  await h.sup.boot({ a: {}, b: {} });
  await flush();
  assert.is(h.sup.view('b')!.status, 'running');
  const failed = h.events.filter((e) => e.type === 'role-failed' && e.role === 'a');
  assert.is(failed.length, 1, 'the load failure is reported');
  assert.match(failed[0]!.message, 'cannot load a');
  assert.is(h.sup.view('a')!.status, 'restarting');
  h.clock.advance(h.sup.view('a')!.nextRestartInMs!);
  await flush();
  assert.is(h.sup.view('a')!.status, 'running');
});

test('restart(role) replaces the instance; if the new one cannot start it is retried with backoff', async () => {
  const h = harness(['a']);
  await h.sup.boot({ a: {} });
  await h.sup.restart('a');
  assert.is(h.live('a').n, 2);
  assert.is(h.instances[0]!.stopped, 1);
  h.scripts.a!.startFailures = 1;
  await h.sup.restart('a').catch(() => {});
  await flush();
  assert.is(h.sup.view('a')!.status, 'restarting', 'not left for dead');
  h.clock.advance(h.sup.view('a')!.nextRestartInMs!);
  await flush();
  assert.is(h.sup.view('a')!.status, 'running');
  const unknown = await h.sup.restart('nope').then(
    () => undefined,
    (e: Error) => e,
  );
  assert.match(String(unknown), 'not configured');
});

test('stop stops every role (hub last), cancels pending restarts, and ignores later failures', async () => {
  const h = harness(['a', 'hub', 'b']);
  h.scripts.b!.startFailures = 1;
  await h.sup.boot({ a: {}, hub: {}, b: {} });
  await flush();
  assert.is(h.sup.view('b')!.status, 'restarting');
  assert.ok(h.clock.pending() > 0);
  h.calls.length = 0;
  const a = h.live('a');
  await h.sup.stop();
  assert.equal(h.calls, ['a#1 stop', 'hub#1 stop']);
  assert.is(h.clock.pending(), 0);
  a.deps.fail(new Error('after stop'));
  h.clock.advance(120_000);
  await flush();
  assert.equal(h.calls, ['a#1 stop', 'hub#1 stop'], 'nothing restarted after stop');
  for (const r of ['a', 'b', 'hub']) assert.is(h.sup.view(r)!.status, 'stopped');
});

test.run();
