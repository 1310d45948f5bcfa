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
import { topics } from '../../../protocol/index.ts';
import { probe } from '../../helpers/test-roles.ts';
import { FakeLink } from '../../helpers/fake-link.ts';

const t = topics();
const quiet = createLogger({ level: 'error', sink: { write: () => {} } });
const settle = async () => { for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r)); };

async function rig(roles: Record<string, unknown> = { probe: { label: 'a' } }) {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-rt-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ v: 2, id: 'dev', mqtt: { url: 'mqtt://127.0.0.1:1' }, roles }));
  const clock = new VirtualClock();
  const links: FakeLink[] = [];
  const runtime: Runtime = await startRuntime({
    roles: BUILT_IN_ROLES, extraRoles: [probe], stateDir: dir, clock, log: quiet,
    newLink: () => { const l = new FakeLink(); links.push(l); return l; },
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
  return { runtime, link, clock, request, async done() { await runtime.stop(); rmSync(dir, { recursive: true, force: true }); } };
}

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
  assert.equal(reply.error!.details!.map((d) => d.path), ['/roles/player/output/bufferMs']);
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
  assert.equal(bad.error!.details!.map((d) => d.path), ['/text']);
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

test.run();
