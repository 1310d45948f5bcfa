// Never locked out by a broker setting (issue 12). On the embedded hub with real logins: a
// controller that sends back the retained config (secrets read "***") changes nothing about the
// secret; broker settings that do not work (a closed port, a wrong password) are tried, refused
// with the broker's reason, and the device is back online on its last good settings within the
// trial bound, with the file on disk and the retained config untouched; settings that work are
// kept and reported; `hearth provision` waits for the trial and exits non-zero on a refusal.
// Before this, each bad setting was answered "ok", saved, and the device never came back.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAedes, freePort, type TestBroker } from '../../helpers/broker.ts';
import { connectController, type Controller } from '../../helpers/controller.ts';
import { startTestDevice, type TestDevice } from '../../helpers/device.ts';
import { probe } from '../../helpers/test-roles.ts';
import { addLogin } from '../../../device/hub/credentials.ts';
import { topics, type Reply } from '../../../protocol/index.ts';

const ID = 'kitchen';
const TRIAL_MS = 1500;
const t = topics();
const root = new URL('../../../', import.meta.url).pathname;

interface Ctx {
  dir: string;
  broker: TestBroker;
  ctl: Controller;
  dev: TestDevice;
  pw: string;
  ctlPw: string;
}
const s = suite<Ctx>('broker settings are tried before they are kept', {} as Ctx);

const onDisk = (c: Ctx) => JSON.parse(readFileSync(join(c.dev.stateDir, 'config.json'), 'utf8'));
const retained = (c: Ctx) => c.ctl.seen(t.config(ID)).at(-1)!.payload;

async function stillGood(c: Ctx, revision: number) {
  for (let i = 0; c.ctl.seen(t.status(ID)).at(-1)?.payload !== 'online'; i++) {
    if (i > 100) assert.unreachable('the device is not online');
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.is(c.dev.runtime.config().revision, revision);
  const disk = onDisk(c);
  assert.is(disk.revision ?? 0, revision);
  assert.is(disk.config?.mqtt?.password ?? disk.mqtt?.password, c.pw, 'the password on disk is the real one');
  const ping = await c.ctl.cmd(ID, 'device', 'ping', {}, 5000);
  assert.ok(ping.ok, JSON.stringify(ping));
}

s.before(async (c) => {
  c.dir = mkdtempSync(join(tmpdir(), 'hearth-trial-'));
  const creds = join(c.dir, 'credentials.json');
  c.pw = await addLogin(creds, ID, 'device');
  c.ctlPw = await addLogin(creds, 'cli', 'controller');
  c.broker = await startAedes({ credentialsFile: creds });
  c.ctl = await connectController(c.broker.url, { username: 'cli', password: c.ctlPw });
  c.dev = await startTestDevice({
    id: ID,
    brokerUrl: c.broker.url,
    password: c.pw,
    roles: { probe: { label: 'boot' } },
    extraRoles: [probe],
    brokerTrialMs: TRIAL_MS,
  });
  await c.ctl.waitFor(t.status(ID), (p) => p === 'online');
  await c.ctl.waitFor(t.config(ID), (p) => p.revision === 0);
});
s.after(async (c) => {
  await c.dev?.stop();
  await c.ctl?.close();
  await c.broker?.stop();
  rmSync(c.dir, { recursive: true, force: true });
});

s('the retained config sent back ("***" for the password) keeps the real password', async (c) => {
  const back = structuredClone(retained(c).config);
  assert.is(back.mqtt.password, '***');
  back.name = 'Kitchen';
  const r = await c.ctl.configSet(ID, { config: back });
  assert.ok(r.ok, JSON.stringify(r));
  assert.is((r.result as { revision: number }).revision, 1);
  assert.is(onDisk(c).config.mqtt.password, c.pw);
  // A patch copied from the retained config: "***" is "unchanged", so nothing changes at all.
  const p = await c.ctl.configSet(ID, { patch: { mqtt: { password: '***' } } });
  assert.ok(p.ok, JSON.stringify(p));
  assert.is((p.result as { unchanged?: boolean }).unchanged, true);
  // The device still logs in after a broker restart (it once saved "***" and never came back).
  const m = c.ctl.mark();
  await c.broker.restart();
  await c.ctl.waitFor(t.status(ID), (x) => x === 'online', 8000, m);
  await stillGood(c, 1);
});

s('"***" where the device has no secret is refused with its path', async (c) => {
  const r = await c.ctl.configSet(ID, { patch: { roles: { probe: { label: 'x' } } } });
  assert.ok(r.ok);
  const back = structuredClone(retained(c).config);
  back.mqtt.username = 'kitchen';
  back.homeassistant = { enabled: false };
  const e = await c.ctl.configSet(ID, { config: { ...back, roles: { probe: { label: 'y', password: '***' } } } });
  assert.is(e.ok, false);
  assert.ok(['invalid'].includes(e.error!.code), JSON.stringify(e.error));
  assert.equal(
    e.error!.details!.map((d) => d.path),
    ['/roles/probe/password'],
  );
  await stillGood(c, 2);
});

async function bad(c: Ctx, patch: Record<string, unknown>, reason: RegExp): Promise<Reply> {
  const before = c.dev.runtime.config().revision;
  const rev = retained(c).revision;
  const t0 = performance.now();
  const r = await c.ctl.configSet(ID, { patch: { mqtt: patch } }, TRIAL_MS + 8000);
  const ms = performance.now() - t0;
  assert.is(r.ok, false, JSON.stringify(r));
  assert.is(r.error!.code, 'apply-failed');
  assert.match(r.error!.message, reason);
  assert.equal(
    r.error!.details!.map((d) => d.path),
    ['/mqtt'],
  );
  assert.ok(ms < TRIAL_MS + 5000, `the refusal came after ${ms} ms`);
  await stillGood(c, before);
  assert.is(retained(c).revision, rev, 'the retained config did not change');
  return r;
}

s('a closed port is tried, refused with the reason, and the device is back', async (c) => {
  const closed = await freePort();
  await bad(c, { url: `mqtt://127.0.0.1:${closed}` }, /ECONNREFUSED|no connection/);
});

s("a wrong password: the broker's refusal is the reason", async (c) => {
  await bad(c, { password: 'not-the-password' }, /Bad username or password|Not authorized/i);
});

s('settings that work are kept, and the reply says the broker connected', async (c) => {
  const before = c.dev.runtime.config().revision;
  const r = await c.ctl.configSet(ID, { patch: { mqtt: { keepaliveS: 45 } } }, TRIAL_MS + 5000);
  assert.ok(r.ok, JSON.stringify(r));
  const res = r.result as { revision: number; broker: { url: string; connectedInMs: number } };
  assert.is(res.revision, before + 1);
  assert.is(res.broker.url, c.broker.url);
  assert.is(onDisk(c).config.mqtt.keepaliveS, 45);
  await stillGood(c, before + 1);
});

s("hearth provision waits for the trial and exits non-zero with the broker's reason", async (c) => {
  const before = c.dev.runtime.config().revision;
  const file = join(c.dir, 'patch.json');
  writeFileSync(file, JSON.stringify({ mqtt: { url: `mqtt://127.0.0.1:${await freePort()}` } }));
  const out = await new Promise<{ code: number; text: string }>((resolve) => {
    execFile(
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'device/cli/main.ts'),
        'provision',
        ID,
        '--patch',
        '--config',
        file,
        '--broker',
        c.broker.url,
        '--user',
        'cli',
        '--password',
        c.ctlPw,
        '--timeout',
        '20',
      ],
      { cwd: root },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, text: stdout + stderr }),
    );
  });
  assert.is.not(out.code, 0, out.text);
  assert.match(out.text, /apply-failed/);
  assert.match(out.text, /ECONNREFUSED|no connection/);
  assert.not.match(out.text, /applied revision/);
  await stillGood(c, before);
});

s.run();
