// A device's life on a real broker (Aedes, then Mosquitto): power cut (SIGKILL of a device
// process) seen as `offline` through the last will; broker restart survived with the whole
// retained picture published again; a failing role isolated, reported and restarted while the
// other roles keep answering; a clean stop that says `offline` itself.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BROKERS, type TestBroker } from '../../helpers/broker.ts';
import { connectController, type Controller } from '../../helpers/controller.ts';
import { startTestDevice, type TestDevice } from '../../helpers/device.ts';
import { probe } from '../../helpers/test-roles.ts';
import { topics, Type, Obj, defineRole } from '../../../protocol/index.ts';
import type { RoleFactory } from '../../../device/core/role.ts';

const t = topics();
const root = new URL('../../../', import.meta.url).pathname;

/** `flaky`: throws from start `failures` times (counted per device), then runs and answers `hello`. */
const flakySpec = defineRole({
  name: 'flaky',
  description: 'test role that fails to start a set number of times',
  config: Obj({ failures: Type.Integer({ minimum: 0 }) }),
  commands: { hello: { description: 'answers', args: Obj({}) } },
  state: Obj({ attempts: Type.Integer() }),
  events: {},
});
function flakyRole(): RoleFactory<typeof flakySpec> {
  let attempts = 0;
  return (deps) => ({
    async start() {
      attempts++;
      if (attempts <= deps.config.failures) throw new Error(`flaky start ${attempts} of ${deps.config.failures} fails`);
      deps.link.publishState({ attempts });
    },
    async apply() {
      return 'restart';
    },
    async stop() {},
    commands: {
      async hello() {
        return { hello: 'world', attempts };
      },
    },
  });
}

/** `announcer`: announces one stream (retained) when it starts, as a source role does. */
const announcerSpec = defineRole({
  name: 'announcer',
  description: 'test role that announces a stream',
  config: Obj({ stream: Type.String() }),
  commands: {},
  state: Obj({}),
  events: {},
});
const announcerRole: RoleFactory<typeof announcerSpec> = (deps) => ({
  async start() {
    deps.link.publishStream(deps.config.stream, {
      v: 2,
      stream: deps.config.stream,
      device: deps.device.id,
      name: 'Test stream',
      group: '239.255.0.1',
      port: 46000,
      encoding: 'L16',
      rate: 48000,
      channels: 2,
      payloadType: 127,
      enabled: true,
    });
  },
  async apply() {
    return 'restart';
  },
  async stop() {},
  commands: {},
});

interface DeviceProc {
  child: ChildProcess;
  pid: number;
  exited: Promise<void>;
}

/** Starts test/helpers/device-process.ts on `stateDir` and waits for its ready line. */
async function spawnDevice(stateDir: string): Promise<DeviceProc> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/helpers/device-process.ts'), stateDir], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const ready = await new Promise<{ pid: number }>((resolve, reject) => {
    // A child that never says ready is killed, or it would keep this file's process alive after the suite.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`device process not ready after 15 s: ${stderr}`));
    }, 15_000);
    createInterface({ input: child.stdout! }).once('line', (l) => {
      clearTimeout(timer);
      resolve(JSON.parse(l));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`device process exited (${code}): ${stderr}`));
    });
  });
  return { child, pid: ready.pid, exited };
}

function writeConfig(stateDir: string, id: string, url: string, roles: Record<string, unknown>) {
  writeFileSync(join(stateDir, 'config.json'), JSON.stringify({ v: 2, id, mqtt: { url, reconnectMinMs: 50, reconnectMaxMs: 500 }, roles }));
}

const retainedOf = async (url: string, filter: string, predicate: (p: any) => boolean) => {
  // A fresh client: what it gets on subscribing is, by definition, retained on the broker.
  const late = await connectController(url);
  try {
    return (await late.waitFor(filter, predicate, 5000)).payload;
  } finally {
    await late.close();
  }
};

/** After a broker restart: resolves once the controller is reconnected and subscribed again (it sees its own message). */
async function controllerBack(ctl: Controller): Promise<void> {
  const nonce = `sync-${Math.random().toString(36).slice(2)}`;
  for (let i = 0; i < 40; i++) {
    ctl.client.publish('hearth/test-sync/event/sync', nonce, { qos: 0 });
    try {
      await ctl.waitFor('hearth/test-sync/event/sync', (p) => p === nonce, 250);
      return;
    } catch {
      /* not yet */
    }
  }
  throw new Error('the controller did not come back after the broker restart');
}

for (const { kind, start } of BROKERS) {
  const s = suite<{ broker: TestBroker; ctl: Controller; dir: string; procs: DeviceProc[]; devs: TestDevice[] }>(`lifecycle over ${kind}`);

  s.before(async (c) => {
    c.broker = await start();
    c.ctl = await connectController(c.broker.url);
    c.dir = mkdtempSync(join(tmpdir(), 'hearth-life-'));
    c.procs = [];
    c.devs = [];
  });
  s.after(async (c) => {
    for (const p of c.procs)
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGKILL');
        await p.exited;
      }
    for (const d of c.devs) await d.stop().catch(() => {});
    await c.ctl?.close();
    await c.broker?.stop();
    rmSync(c.dir, { recursive: true, force: true });
  });

  s('SIGKILL of a device process: the broker sends its retained last will, "offline"; a new process comes back online', async (c) => {
    const id = `cut-${kind}`;
    writeConfig(c.dir, id, c.broker.url, { probe: { label: 'p' } });
    const mark = c.ctl.mark();
    const p = await spawnDevice(c.dir);
    c.procs.push(p);
    await c.ctl.waitFor(t.status(id), (x) => x === 'online', 5000, mark);
    assert.ok((await c.ctl.cmd(id, 'probe', 'echo', { text: 'alive' })).ok);
    const killMark = c.ctl.mark();
    process.kill(p.pid, 'SIGKILL');
    await p.exited;
    assert.is(p.child.signalCode, 'SIGKILL');
    await c.ctl.waitFor(t.status(id), (x) => x === 'offline', 10_000, killMark);
    assert.is(await retainedOf(c.broker.url, t.status(id), () => true), 'offline', 'offline is retained');
    // The device cannot have said it: only the broker (the will) can.
    const p2 = await spawnDevice(c.dir);
    c.procs.push(p2);
    await c.ctl.waitFor(t.status(id), (x) => x === 'online', 5000, killMark);
    assert.is((await c.ctl.cmd(id, 'probe', 'echo', { text: 'again' })).ok, true);
    const back = c.ctl.mark();
    process.kill(p2.pid, 'SIGTERM');
    await p2.exited;
    assert.is(p2.child.exitCode, 0, 'SIGTERM is a clean exit');
    await c.ctl.waitFor(t.status(id), (x) => x === 'offline', 5000, back);
  });

  s('broker restarted: the device reconnects and republishes online, info, config and role states (retained)', async (c) => {
    const id = `rb-${kind}`;
    const dev = await startTestDevice({ id, brokerUrl: c.broker.url, roles: { probe: { label: 'kept' } }, extraRoles: [probe] });
    c.devs.push(dev);
    await c.ctl.waitFor(t.state(id, 'probe'), (x) => x.status === 'running');
    const set = await c.ctl.configSet(id, { patch: { roles: { probe: { label: 'provisioned' } } } });
    assert.ok(set.ok);
    const linkBefore = dev.runtime.link().connects;
    await c.broker.restart(300);
    // Both brokers run without persistence: anything retained after the restart was published again.
    const late = await connectController(c.broker.url);
    try {
      await late.waitFor(t.status(id), (x) => x === 'online', 10_000);
      const info = (await late.waitFor(t.info(id), () => true, 5000)).payload;
      assert.is(info.device, id);
      assert.equal(info.roles, ['probe']);
      const cfg = (await late.waitFor(t.config(id), () => true, 5000)).payload;
      assert.is(cfg.revision, 1);
      assert.is(cfg.config.roles.probe.label, 'provisioned');
      const st = (await late.waitFor(t.state(id, 'probe'), () => true, 5000)).payload;
      assert.is(st.status, 'running');
      assert.is(st.detail.label, 'provisioned');
    } finally {
      await late.close();
    }
    await controllerBack(c.ctl);
    assert.ok(dev.runtime.link().connects > linkBefore);
    // Subscriptions came back too: commands and config/set work after the restart.
    const echo = await c.ctl.cmd(id, 'probe', 'echo', { text: 'after restart' }, 10_000);
    assert.equal(echo.result, { text: 'after restart', label: 'provisioned' });
    const set2 = await c.ctl.configSet(id, { patch: { roles: { probe: { label: 'after' } } } });
    assert.is((set2.result as any).revision, 2);
  });

  s('broker settings changed by config/set, then the broker restarted: stream announcements are still republished', async (c) => {
    const id = `ann-${kind}`;
    const dev = await startTestDevice({
      id,
      brokerUrl: c.broker.url,
      roles: { announcer: { stream: 'radio' } },
      extraRoles: [{ spec: announcerSpec, factory: announcerRole }],
    });
    c.devs.push(dev);
    await c.ctl.waitFor(t.stream(id, 'radio'), (x) => x.enabled === true);
    const mark = c.ctl.mark();
    const r = await c.ctl.configSet(id, { patch: { mqtt: { keepaliveS: 20 } } }); // a new MQTT link, same broker
    assert.ok(r.ok, JSON.stringify(r));
    await c.ctl.waitFor(t.status(id), (x) => x === 'online', 5000, mark);
    await c.broker.restart(200);
    const late = await connectController(c.broker.url);
    try {
      await late.waitFor(t.status(id), (x) => x === 'online', 10_000);
      const ann = (await late.waitFor(t.stream(id, 'radio'), () => true, 5000)).payload;
      assert.is(ann.device, id);
      assert.is(ann.enabled, true);
    } finally {
      await late.close();
    }
    await controllerBack(c.ctl);
  });

  s('a role that crashes is isolated, reported, refused while down, and restarted; the others keep answering', async (c) => {
    const id = `crash-${kind}`;
    const mark = c.ctl.mark();
    const dev = await startTestDevice({
      id,
      brokerUrl: c.broker.url,
      roles: { probe: { label: 'p' }, flaky: { failures: 1 } },
      extraRoles: [probe, { spec: flakySpec, factory: flakyRole() }],
      restartMinMs: 1500,
    });
    c.devs.push(dev);
    // flaky failed its first start: reported as an event and in its state, while probe runs.
    const ev = (await c.ctl.waitFor(t.event(id, 'flaky'), (x) => x.type === 'role-failed', 5000, mark)).payload;
    assert.match(ev.message, 'flaky start 1 of 1 fails');
    assert.type(ev.data.restartInMs, 'number');
    const down = (await c.ctl.waitFor(t.state(id, 'flaky'), (x) => x.status === 'restarting', 5000, mark)).payload;
    assert.match(down.error, 'flaky start 1');
    assert.is(down.restarts, 1);
    assert.type(down.nextRestartInMs, 'number');
    assert.equal((await c.ctl.cmd(id, 'probe', 'echo', { text: 'x' })).result, { text: 'x', label: 'p' });
    const r = await c.ctl.cmd(id, 'flaky', 'hello');
    assert.is(r.error?.code, 'role-not-running');
    assert.match(r.error!.message, 'restarting');
    await c.ctl.waitFor(t.event(id, 'flaky'), (x) => x.type === 'role-restarted', 5000, mark);
    const up = (await c.ctl.waitFor(t.state(id, 'flaky'), (x) => x.status === 'running', 5000, mark)).payload;
    assert.is(up.restarts, 1);
    assert.equal(up.detail, { attempts: 2 });
    assert.equal((await c.ctl.cmd(id, 'flaky', 'hello')).result, { hello: 'world', attempts: 2 });

    // probe crashes while running (it calls deps.fail): same story, and flaky is untouched.
    const crashMark = c.ctl.mark();
    const flakyStatesBefore = c.ctl.seen(t.state(id, 'flaky')).length;
    assert.ok((await c.ctl.cmd(id, 'probe', 'crash')).ok);
    const ev2 = (await c.ctl.waitFor(t.event(id, 'probe'), (x) => x.type === 'role-failed', 5000, crashMark)).payload;
    assert.match(ev2.message, 'crashed on purpose');
    await c.ctl.waitFor(t.state(id, 'probe'), (x) => x.status === 'restarting' && x.restarts === 1, 5000, crashMark);
    assert.is((await c.ctl.cmd(id, 'probe', 'echo', { text: 'y' })).error?.code, 'role-not-running');
    assert.ok((await c.ctl.cmd(id, 'flaky', 'hello')).ok, 'flaky keeps answering while probe is down');
    await c.ctl.waitFor(t.event(id, 'probe'), (x) => x.type === 'role-restarted', 5000, crashMark);
    const st = (await c.ctl.waitFor(t.state(id, 'probe'), (x) => x.status === 'running', 5000, crashMark)).payload;
    assert.is(st.restarts, 1);
    assert.ok((await c.ctl.cmd(id, 'probe', 'echo', { text: 'z' })).ok);
    assert.is(c.ctl.seen(t.state(id, 'flaky')).length, flakyStatesBefore, "flaky was not touched by probe's crash");
  });

  s('a clean stop publishes "offline" itself (no will needed) and it stays retained', async (c) => {
    const id = `stop-${kind}`;
    const dev = await startTestDevice({ id, brokerUrl: c.broker.url, roles: { probe: { label: 'p' } }, extraRoles: [probe] });
    await c.ctl.waitFor(t.status(id), (x) => x === 'online');
    const mark = c.ctl.mark();
    await dev.stop();
    await c.ctl.waitFor(t.status(id), (x) => x === 'offline', 5000, mark);
    assert.is(await retainedOf(c.broker.url, t.status(id), () => true), 'offline');
  });

  s.run();
}
