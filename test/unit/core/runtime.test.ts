// The runtime's config/set and command paths with a fake link in virtual time: no broker, no
// sockets; the reply is read from what the runtime published. (The same paths over real brokers:
// test/integration/core/.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRuntime, type Runtime } from '../../../device/core/runtime.ts';
import { VirtualClock } from '../../../device/core/clock.ts';
import { createLogger } from '../../../device/core/log.ts';
import { BUILT_IN_ROLES } from '../../../device/cli/roles.ts';
import { topics, defineRole, Obj } from '../../../protocol/index.ts';
import { probe } from '../../helpers/test-roles.ts';
import { FakeLink } from '../../helpers/fake-link.ts';

const t = topics();
// A role whose Home Assistant select lists the streams announced on MQTT (as a player's does).
const listerSpec = defineRole({
  name: 'lister',
  description: 'test role',
  config: Obj({}),
  commands: {},
  state: Obj({}),
  events: {},
  homeassistant: (ha) => [
    { key: 'pick', component: { p: 'select', options: [...ha.streams].sort(), command_topic: ha.haCommandTopic('pick') } },
  ],
});
const lister = {
  spec: listerSpec,
  factory: () => ({
    async start() {},
    async apply() {
      return 'applied' as const;
    },
    async stop() {},
    commands: {},
  }),
};
const quiet = createLogger({ level: 'error', sink: { write: () => {} } });
const settle = async () => {
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
};

async function rig(roles: Record<string, unknown> = { probe: { label: 'a' } }, extra: Record<string, unknown> = {}, log = quiet) {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-rt-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ v: 2, id: 'dev', mqtt: { url: 'mqtt://127.0.0.1:1' }, roles, ...extra }));
  const clock = new VirtualClock();
  const links: FakeLink[] = [];
  const runtime: Runtime = await startRuntime({
    roles: BUILT_IN_ROLES,
    extraRoles: [probe, lister],
    stateDir: dir,
    clock,
    log,
    newLink: () => {
      const l = new FakeLink();
      links.push(l);
      return l;
    },
  });
  const link = links[0]!;
  let n = 0;
  const request = async (topic: string, body: object) => {
    const id = `r${++n}`;
    link.deliver(topic, { v: 2, id, ...body });
    // The reply comes once the handler is done (a config/set writes the config file: real I/O).
    const find = () => link.on(t.reply('dev')).find((r) => (r as { id: string }).id === id);
    for (let i = 0; i < 400 && !find(); i++) await new Promise((res) => setTimeout(res, 5));
    await settle();
    return find() as { ok: boolean; result?: any; error?: { code: string; details?: Array<{ path: string }> } };
  };
  return {
    runtime,
    link,
    clock,
    request,
    async done() {
      await runtime.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('a ping that arrives behind a burst of large invalid config/sets is answered before them; they are all answered, in order', async () => {
  const r = await rig();
  const roles: Record<string, unknown> = {};
  for (let i = 0; JSON.stringify(roles).length < 52_000; i++) roles[`role${i}`] = { x: 'y'.repeat(20) };
  for (let i = 0; i < 5; i++)
    r.link.deliver(t.configSet('dev'), { v: 2, id: `flood${i}`, config: { v: 2, id: 'dev', mqtt: { url: 'mqtt://127.0.0.1:1' }, roles } });
  // The ping comes in a later socket read of the same turn: the configs' synchronous work and
  // promise jobs have run by then, unless they wait for a turn of their own.
  for (let i = 0; i < 20; i++) await Promise.resolve();
  r.link.deliver(t.cmd('dev', 'device', 'ping'), { v: 2, id: 'ping' });
  const ids = () => r.link.on(t.reply('dev')).map((x) => (x as { id: string }).id);
  for (let i = 0; i < 400 && ids().length < 6; i++) await new Promise((res) => setTimeout(res, 5));
  assert.equal(ids(), ['ping', 'flood0', 'flood1', 'flood2', 'flood3', 'flood4']);
  for (const x of r.link.on(t.reply('dev')).slice(1)) assert.is((x as { error: { code: string } }).error.code, 'invalid');
  await r.done();
});

test('config/set: a patch is applied, saved, announced and answered with the new revision', async () => {
  const r = await rig();
  const before = r.runtime.config().revision;
  const reply = await r.request(t.configSet('dev'), { patch: { roles: { probe: { label: 'b' } } } });
  assert.ok(reply.ok, JSON.stringify(reply));
  assert.is(reply.result.revision, before + 1);
  assert.equal(reply.result.changed, ['probe']);
  const cfg = r.link.on(t.config('dev')).at(-1) as { revision: number; config: { roles: { probe: { label: string } } } };
  assert.is(cfg.revision, before + 1);
  assert.is(cfg.config.roles.probe.label, 'b');
  await r.done();
});

test('config/set: a role check refuses with its path and nothing changes (the player latency rule)', async () => {
  const r = await rig();
  const before = r.runtime.config();
  const reply = await r.request(t.configSet('dev'), { patch: { roles: { player: { stream: 'tv/main', latencyMs: 30 } } } });
  assert.is(reply.ok, false);
  assert.is(reply.error!.code, 'invalid');
  assert.equal(
    reply.error!.details!.map((d) => d.path),
    ['/roles/player/output/bufferMs'],
  );
  assert.equal(r.runtime.config(), before);
  await r.done();
});

test('config/set: ifRevision, one of config/patch, and a role that refuses its new slice (rolled back)', async () => {
  const r = await rig();
  const rev = r.runtime.config().revision;
  assert.is((await r.request(t.configSet('dev'), { patch: {}, ifRevision: rev + 5 })).error!.code, 'invalid');
  assert.is((await r.request(t.configSet('dev'), {})).error!.code, 'invalid');
  const refused = await r.request(t.configSet('dev'), { patch: { roles: { probe: { label: 'x', failApply: true } } } });
  assert.is(refused.error!.code, 'apply-failed');
  assert.is(r.runtime.config().revision, rev);
  await r.done();
});

test('commands: dispatched by name with validated arguments; unknown role, command and bad args refused', async () => {
  const r = await rig();
  const ok = await r.request(t.cmd('dev', 'probe', 'echo'), { text: 'hi' });
  assert.equal(ok.result, { text: 'hi', label: 'a' });
  assert.is((await r.request(t.cmd('dev', 'probe', 'dance'), {})).error!.code, 'unknown-command');
  assert.is((await r.request(t.cmd('dev', 'nosuch', 'echo'), {})).error!.code, 'unknown-role');
  const bad = await r.request(t.cmd('dev', 'probe', 'echo'), { text: 5 });
  assert.is(bad.error!.code, 'invalid');
  assert.equal(
    bad.error!.details!.map((d) => d.path),
    ['/text'],
  );
  assert.is((await r.request(t.cmd('dev', 'player', 'volume'), { gain: 1 })).error!.code, 'role-not-running');
  assert.ok((await r.request(t.cmd('dev', 'device', 'ping'), {})).ok);
  await r.done();
});

test('telemetry follows the configured period in virtual time, only while connected', async () => {
  const r = await rig();
  const count = () => r.link.published.filter((p) => p.topic === t.telemetry('dev')).length;
  r.clock.advance(30_000);
  assert.is(count(), 1);
  await r.request(t.configSet('dev'), { patch: { telemetry: { intervalS: 5 } } });
  r.clock.advance(10_000);
  assert.is(count(), 3);
  await r.link.stop();
  r.clock.advance(10_000);
  assert.is(count(), 3);
  await r.done();
});

test('an injected clock without a UDP stack: no house clock, said in a warning and in telemetry (state off, reason)', async () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'warn', sink: { write: (l: string) => void lines.push(l) } });
  const r = await rig(undefined, {}, log);
  assert.ok(
    lines.some((l) => /no house clock: an injected clock without a UDP stack/.test(l)),
    lines.join(''),
  );
  r.clock.advance(30_000);
  const tel = r.link.on(t.telemetry('dev')).at(-1) as { clock?: { state: string; reason?: string } };
  assert.is(tel.clock?.state, 'off');
  assert.match(tel.clock!.reason!, /injected clock without a UDP stack/);
  // Turned off by config instead: that is the reason given, and no warning.
  await r.request(t.configSet('dev'), { patch: { clock: { enabled: false } } });
  r.clock.advance(30_000);
  assert.is((r.link.on(t.telemetry('dev')).at(-1) as { clock: { reason: string } }).clock.reason, 'clock.enabled is false');
  assert.is(lines.filter((l) => /no house clock/.test(l)).length, 1);
  await r.done();
});

test('Home Assistant: streams announced on MQTT reach the entities a second later; discovery is re-sent only if they changed', async () => {
  const announce = {
    v: 2,
    name: 'x',
    group: '239.255.0.1',
    port: 46000,
    format: { encoding: 'L16', rate: 48000, channels: 2, payloadType: 127 },
    enabled: true,
  };
  const discoveries = (r: Awaited<ReturnType<typeof rig>>) =>
    r.link.on('homeassistant/device/dev/config') as Array<{ cmps: Record<string, { options?: string[] }> }>;
  const plain = await rig({ probe: { label: 'a' } }, { homeassistant: { enabled: true } });
  const n = discoveries(plain).length;
  assert.ok(n >= 1);
  plain.link.deliver(t.stream('tv', 'main'), announce);
  plain.clock.advance(1500);
  assert.is(discoveries(plain).length, n, 'no entity uses the streams: nothing re-sent');
  await plain.done();

  const r = await rig({ lister: {} }, { homeassistant: { enabled: true } });
  const m = discoveries(r).length;
  r.link.deliver(t.stream('tv', 'main'), announce);
  r.link.deliver(t.stream('radio', 'fm'), announce);
  r.clock.advance(900);
  assert.is(discoveries(r).length, m, 'debounced');
  r.clock.advance(200);
  assert.is(discoveries(r).length, m + 1);
  assert.equal(discoveries(r).at(-1)!.cmps.pick!.options, ['radio/fm', 'tv/main']);
  r.link.deliver(t.stream('radio', 'fm'), '');
  r.clock.advance(1100);
  assert.equal(discoveries(r).at(-1)!.cmps.pick!.options, ['tv/main']);
  await r.done();
});

test.run();
