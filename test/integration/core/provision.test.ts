// Provisioning over MQTT, end to end on real components: a real runtime (in this process) with
// the test `probe` role, a real broker (the embedded Aedes hub, then a real Mosquitto), and a
// controller that talks only MQTT. Every refusal must leave the device exactly as it was: same
// revision in memory, on the retained config topic and in the file on disk.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BROKERS, type TestBroker } from '../../helpers/broker.ts';
import { connectController, type Controller } from '../../helpers/controller.ts';
import { startTestDevice, type TestDevice } from '../../helpers/device.ts';
import { probe } from '../../helpers/test-roles.ts';
import { topics, type Reply } from '../../../protocol/index.ts';

const ID = 'kitchen';
const SECRET = 's3cret-pw';
const t = topics();

interface Ctx {
  broker: TestBroker;
  ctl: Controller;
  dev: TestDevice;
  url: string;
}

function onDisk(dev: TestDevice): { revision: number; config: any } {
  return JSON.parse(readFileSync(join(dev.stateDir, 'config.json'), 'utf8'));
}

function full(url: string, over: Record<string, unknown> = {}, roles: Record<string, unknown> = { probe: { label: 'full' } }) {
  return { v: 2, id: ID, name: 'Kitchen', mqtt: { url, password: SECRET, reconnectMinMs: 50, reconnectMaxMs: 500 }, roles, ...over };
}

function refusedWith(r: Reply, code: string): NonNullable<Reply['error']> {
  assert.is(r.ok, false, `expected a refusal, got ${JSON.stringify(r)}`);
  assert.is(r.error?.code, code, JSON.stringify(r.error));
  assert.ok(r.error!.message.length > 0);
  return r.error!;
}
const paths = (e: NonNullable<Reply['error']>) => (e.details ?? []).map((d) => d.path).sort();

/** Everything the device published (not what the controller sent it). */
function fromDevice(ctl: Controller): string {
  return JSON.stringify(
    ctl.seen('hearth/#').filter((m) => {
      const k = t.parse(m.topic)?.kind;
      return k !== 'config-set' && k !== 'cmd';
    }),
  );
}

for (const { kind, start } of BROKERS) {
  const s = suite<Ctx>(`provision over ${kind}`, {} as Ctx);

  /** The device still runs `revision` with probe label `label`: in memory, retained, on disk, and it answers. */
  async function unchanged(c: Ctx, revision: number, label: string) {
    assert.is(c.dev.runtime.config().revision, revision);
    assert.is(onDisk(c.dev).revision ?? 0, revision);
    const retained = c.ctl.seen(t.config(ID)).at(-1)!.payload;
    assert.is(retained.revision, revision);
    const echo = await c.ctl.cmd(ID, 'probe', 'echo', { text: 'still there?' });
    assert.ok(echo.ok, JSON.stringify(echo));
    assert.equal(echo.result, { text: 'still there?', label });
  }

  s.before(async (c) => {
    c.broker = await start();
    c.url = c.broker.url;
    c.ctl = await connectController(c.url);
    c.dev = await startTestDevice({
      id: ID,
      brokerUrl: c.url,
      password: SECRET,
      roles: { probe: { label: 'boot' } },
      extraRoles: [probe],
      extra: { name: 'Kitchen' },
    });
    await c.ctl.waitFor(t.status(ID), (p) => p === 'online');
    await c.ctl.waitFor(t.config(ID), (p) => p.revision === 0);
  });
  s.after(async (c) => {
    await c.dev?.stop();
    await c.ctl?.close();
    await c.broker?.stop();
  });

  s('birth: retained info and config (secrets redacted) are there before any request', async (c) => {
    const info = (await c.ctl.waitFor(t.info(ID))).payload;
    assert.is(info.device, ID);
    assert.equal(info.roles, ['probe']);
    assert.equal(info.accepts, [1, 2]);
    const cfg = (await c.ctl.waitFor(t.config(ID))).payload;
    assert.is(cfg.config.mqtt.password, '***');
    assert.not.ok(fromDevice(c.ctl).includes(SECRET), 'the device never publishes the secret');
    const st = (await c.ctl.waitFor(t.state(ID, 'probe'), (p) => p.status === 'running')).payload;
    assert.is(st.detail.label, 'boot');
  });

  s('full config: applied, revision 1 in the reply, retained config and the file on disk', async (c) => {
    const mark = c.ctl.mark();
    const r = await c.ctl.configSet(ID, { config: full(c.url, {}, { probe: { label: 'full' } }) });
    assert.ok(r.ok, JSON.stringify(r));
    assert.is((r.result as any).revision, 1);
    assert.equal((r.result as any).changed, ['probe']);
    assert.is(r.topic, t.configSet(ID));
    const cfg = (await c.ctl.waitFor(t.config(ID), (p) => p.revision === 1, 3000, mark)).payload;
    assert.is(cfg.v, 2);
    assert.is(cfg.config.roles.probe.label, 'full');
    assert.is(cfg.config.mqtt.password, '***');
    assert.ok(!Number.isNaN(Date.parse(cfg.appliedAt)));
    const disk = onDisk(c.dev);
    assert.is(disk.revision, 1);
    assert.is(disk.config.roles.probe.label, 'full');
    assert.is(disk.config.mqtt.password, SECRET, 'the file keeps the real secret');
    assert.is(statSync(join(c.dev.stateDir, 'config.json')).mode & 0o077, 0, 'the file is private to its owner');
    const st = (await c.ctl.waitFor(t.state(ID, 'probe'), (p) => p.detail?.label === 'full', 3000, mark)).payload;
    assert.is(st.status, 'running');
    // A controller that connects later gets the retained picture.
    const late = await connectController(c.url);
    try {
      const got = (await late.waitFor(t.config(ID), (p) => p.revision === 1, 3000)).raw;
      assert.not.ok(got.toString().includes(SECRET));
    } finally {
      await late.close();
    }
    assert.not.ok(fromDevice(c.ctl).includes(SECRET));
  });

  s('merge patch: revision 2; the same patch again is answered "unchanged" and writes nothing', async (c) => {
    const r = await c.ctl.configSet(ID, { patch: { roles: { probe: { label: 'patched' } } } });
    assert.ok(r.ok, JSON.stringify(r));
    assert.is((r.result as any).revision, 2);
    assert.is(onDisk(c.dev).revision, 2);
    const again = await c.ctl.configSet(ID, { patch: { roles: { probe: { label: 'patched' } } } });
    assert.ok(again.ok);
    assert.equal(again.result, { revision: 2, unchanged: true });
    await unchanged(c, 2, 'patched');
  });

  s('malformed JSON and non-object payloads: bad-json / invalid, nothing changes', async (c) => {
    const r = await c.ctl.raw(t.configSet(ID), '{"v":2,"id":"x", patch: }', ID);
    refusedWith(r, 'bad-json');
    assert.is(r.id, '');
    assert.is(r.topic, t.configSet(ID));
    refusedWith(await c.ctl.raw(t.configSet(ID), '[1,2,3]', ID), 'invalid');
    refusedWith(await c.ctl.raw(t.configSet(ID), '"text"', ID), 'invalid');
    refusedWith(await c.ctl.raw(t.configSet(ID), '', ID), 'bad-json');
    refusedWith(await c.ctl.raw(t.cmd(ID, 'probe', 'echo'), 'not json', ID), 'bad-json');
    await unchanged(c, 2, 'patched');
  });

  s('schema violations: every error named by its JSON path, request id echoed', async (c) => {
    const r = await c.ctl.configSet(ID, {
      patch: { mqtt: { keepaliveS: 1, url: 'http://nope' }, roles: { probe: { label: 5 } }, telemetry: { intervalS: 0 } },
    });
    const e = refusedWith(r, 'invalid');
    assert.ok(r.id.length > 0, 'the request id is echoed');
    assert.equal(paths(e), ['/mqtt/keepaliveS', '/mqtt/url', '/roles/probe/label', '/telemetry/intervalS']);
    assert.match(e.message, '/roles/probe/label');
    // The envelope itself: both config and patch, a wrong type, no id.
    refusedWith(await c.ctl.configSet(ID, { config: full(c.url), patch: {} }), 'invalid');
    const e2 = refusedWith(await c.ctl.configSet(ID, { patch: 'label=x' as unknown as Record<string, unknown> }), 'invalid');
    assert.equal(paths(e2), ['/patch']);
    refusedWith(await c.ctl.raw(t.configSet(ID), JSON.stringify({ v: 2, patch: {} }), ID), 'invalid');
    await unchanged(c, 2, 'patched');
  });

  s('unknown fields are refused at every level (config, role slice, envelope)', async (c) => {
    const e1 = refusedWith(
      await c.ctl.configSet(ID, { patch: { colour: 'red', roles: { probe: { volume: 3 } }, mqtt: { qos: 2 } } }),
      'invalid',
    ); // (mqtt.tls is a field now)
    assert.equal(paths(e1), ['/colour', '/mqtt/qos', '/roles/probe/volume']);
    assert.ok(e1.details!.every((d) => d.message === 'unknown field'));
    const e2 = refusedWith(await c.ctl.configSet(ID, { patch: { roles: { nosuchrole: {} } } }), 'invalid');
    assert.equal(paths(e2), ['/roles/nosuchrole']);
    const e3 = refusedWith(await c.ctl.raw(t.configSet(ID), JSON.stringify({ v: 2, id: 'x1', patch: {}, force: true }), ID), 'invalid');
    assert.equal(paths(e3), ['/force']);
    assert.is((await c.ctl.raw(t.configSet(ID), JSON.stringify({ v: 2, id: 'x1', patch: {}, force: true }), ID)).id, 'x1');
    await unchanged(c, 2, 'patched');
  });

  s('oversize payload (> 64 KiB): too-large, nothing changes', async (c) => {
    const big = JSON.stringify({ v: 2, id: 'big', patch: { name: 'x'.repeat(70 * 1024) } });
    assert.ok(Buffer.byteLength(big) > 64 * 1024);
    const e = refusedWith(await c.ctl.raw(t.configSet(ID), big, ID), 'too-large');
    assert.match(e.message, '65536');
    refusedWith(await c.ctl.raw(t.cmd(ID, 'probe', 'echo'), big, ID), 'too-large');
    // Just under the limit is parsed (and then refused by the schema's own limits, not the size).
    const under = JSON.stringify({ v: 2, id: 'under', patch: { name: 'y'.repeat(60 * 1024) } });
    const e2 = refusedWith(await c.ctl.raw(t.configSet(ID), under, ID), 'invalid');
    assert.equal(paths(e2), ['/name']);
    await unchanged(c, 2, 'patched');
  });

  s('unsupported versions: envelope v3, config v3, config without v', async (c) => {
    const r = await c.ctl.raw(t.configSet(ID), JSON.stringify({ v: 3, id: 'v3', patch: {} }), ID);
    const e = refusedWith(r, 'unsupported-version');
    assert.is(r.id, 'v3');
    assert.equal(paths(e), ['/v']);
    const e2 = refusedWith(await c.ctl.configSet(ID, { config: { ...full(c.url), v: 3 } }), 'unsupported-version');
    assert.equal(paths(e2), ['/v']);
    const { v: _v, ...noV } = full(c.url);
    const e3 = refusedWith(await c.ctl.configSet(ID, { config: noV }), 'invalid');
    assert.equal(paths(e3), ['/v']);
    assert.not.match(e3.message, 'undefined');
    // A request without its own "v" is named as such too.
    const e4 = refusedWith(await c.ctl.raw(t.configSet(ID), JSON.stringify({ id: 'nov', patch: {} }), ID), 'invalid');
    assert.equal(paths(e4), ['/v']);
    assert.match(e4.message, '"v": 2');
    refusedWith(await c.ctl.cmd(ID, 'device', 'ping', { v: 0 } as Record<string, unknown>), 'unsupported-version');
    await unchanged(c, 2, 'patched');
  });

  s('ifRevision: a stale revision is refused, the current one applies', async (c) => {
    const e = refusedWith(await c.ctl.configSet(ID, { patch: { roles: { probe: { label: 'stale' } } }, ifRevision: 1 }), 'invalid');
    assert.equal(e.details, [{ path: '/ifRevision', message: 'must be 2' }]);
    await unchanged(c, 2, 'patched');
    const ok = await c.ctl.configSet(ID, { patch: { roles: { probe: { label: 'guarded' } } }, ifRevision: 2 });
    assert.ok(ok.ok, JSON.stringify(ok));
    assert.is((ok.result as any).revision, 3);
    await unchanged(c, 3, 'guarded');
  });

  s('a config cannot change the device id', async (c) => {
    const e = refusedWith(await c.ctl.configSet(ID, { config: full(c.url, { id: 'hall' }) }), 'invalid');
    assert.equal(e.details, [{ path: '/id', message: `must be "${ID}"` }]);
    refusedWith(await c.ctl.configSet(ID, { patch: { id: 'hall' } }), 'invalid');
    await unchanged(c, 3, 'guarded');
  });

  s('apply failure: apply-failed naming the role; the old config keeps running and stays on disk', async (c) => {
    const mark = c.ctl.mark();
    const e = refusedWith(await c.ctl.configSet(ID, { patch: { roles: { probe: { label: 'never', failApply: true } } } }), 'apply-failed');
    assert.equal(paths(e), ['/roles/probe']);
    assert.match(e.message, 'keeps revision 3');
    await unchanged(c, 3, 'guarded');
    assert.is(onDisk(c.dev).config.roles.probe.label, 'guarded');
    assert.not.ok(c.ctl.seen(t.config(ID)).slice(mark).length, 'no new retained config was published');
    // A role that would have to restart and cannot start: rolled back too.
    const mark2 = c.ctl.mark();
    const e2 = refusedWith(await c.ctl.configSet(ID, { patch: { roles: { probe: { label: 'nope', failStart: true } } } }), 'apply-failed');
    assert.equal(paths(e2), ['/roles/probe']);
    await c.ctl.waitFor(t.state(ID, 'probe'), (p) => p.status === 'running' && p.detail?.label === 'guarded', 3000, mark2);
    await unchanged(c, 3, 'guarded');
  });

  s('commands: unknown role, unknown command, invalid args, role not running; good ones answered', async (c) => {
    const ok = await c.ctl.cmd(ID, 'probe', 'echo', { text: 'hi' });
    assert.ok(ok.ok);
    assert.equal(ok.result, { text: 'hi', label: 'guarded' });
    assert.is(ok.topic, t.cmd(ID, 'probe', 'echo'));
    assert.match(refusedWith(await c.ctl.cmd(ID, 'nosuchrole', 'echo', { text: 'x' }), 'unknown-role').message, 'nosuchrole');
    assert.match(refusedWith(await c.ctl.cmd(ID, 'probe', 'dance', {}), 'unknown-command').message, 'echo');
    const inv = refusedWith(await c.ctl.cmd(ID, 'probe', 'echo', { text: 5, loud: true }), 'invalid');
    assert.equal(paths(inv), ['/loud', '/text']);
    const missing = refusedWith(await c.ctl.cmd(ID, 'probe', 'echo', {}), 'invalid');
    assert.equal(missing.details, [{ path: '/text', message: 'is required' }]);
    const tooLong = refusedWith(await c.ctl.cmd(ID, 'probe', 'echo', { text: 'z'.repeat(101) }), 'invalid');
    assert.equal(paths(tooLong), ['/text']);
    // waker is a known role that this device does not run.
    assert.match(refusedWith(await c.ctl.cmd(ID, 'waker', 'status', {}), 'role-not-running').message, 'not configured');
    const ping = await c.ctl.cmd(ID, 'device', 'ping');
    assert.ok(ping.ok);
    assert.type((ping.result as any).uptimeS, 'number');
    refusedWith(await c.ctl.cmd(ID, 'device', 'reboot'), 'unknown-command');
    refusedWith(await c.ctl.cmd(ID, 'device', 'restart-role', { role: 'waker' }), 'unknown-role');
    await unchanged(c, 3, 'guarded');
  });

  s('N-1: a format-1 config in a version-1 request is accepted, upgraded, stored as format 2', async (c) => {
    const v1 = {
      v: 1,
      id: ID,
      name: 'Old kitchen',
      broker: c.url,
      password: SECRET,
      telemetryIntervalS: 600,
      roles: { probe: { label: 'from-v1' } },
    };
    const id = 'old-controller-1';
    const mark = c.ctl.mark();
    const r = await c.ctl.raw(t.configSet(ID), JSON.stringify({ v: 1, id, config: v1 }), ID, 10_000);
    assert.ok(r.ok, JSON.stringify(r));
    assert.is(r.id, id);
    assert.is((r.result as any).revision, 4);
    const disk = onDisk(c.dev);
    assert.is(disk.revision, 4);
    assert.equal(disk.config, {
      v: 2,
      id: ID,
      name: 'Old kitchen',
      mqtt: { url: c.url, password: SECRET },
      telemetry: { intervalS: 600 },
      roles: { probe: { label: 'from-v1' } },
    });
    const cfg = (await c.ctl.waitFor(t.config(ID), (p) => p.revision === 4)).payload;
    assert.is(cfg.config.v, 2);
    assert.is(cfg.config.mqtt.password, '***');
    // The broker settings changed (v1 has no reconnect tuning), so the device reconnected: it still answers.
    await c.ctl.waitFor(t.status(ID), (p) => p === 'offline', 5000, mark);
    await c.ctl.waitFor(t.status(ID), (p) => p === 'online', 5000, mark);
    const echo = await c.ctl.cmd(ID, 'probe', 'echo', { text: 'v1' }, 10_000);
    assert.equal(echo.result, { text: 'v1', label: 'from-v1' });
  });

  s.run();
}
