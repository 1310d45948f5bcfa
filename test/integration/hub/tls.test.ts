// TLS end to end (issue 12): `initTls` (what `hearth hub init-tls` runs) makes a house CA and a
// hub certificate with Debian's openssl; the embedded hub listens with TLS beside plain MQTT; a
// real device runtime connects over mqtts:// trusting the CA given inline in its config, or a
// CA file plus a pinned fingerprint; a CA that did not sign the hub's certificate is refused by
// the broker trial (apply-failed, the device stays on its working settings).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../../device/hub/broker.ts';
import { initTls } from '../../../device/hub/tls.ts';
import { createLogger } from '../../../device/core/log.ts';
import { connectController, type Controller } from '../../helpers/controller.ts';
import type { TestDevice } from '../../helpers/device.ts';
import { topics } from '../../../protocol/index.ts';
import { BUILT_IN_ROLES } from '../../../device/cli/roles.ts';

const t = topics();
interface Ctx {
  dir: string;
  hub: RunningBroker;
  ctl: Controller;
  devs: TestDevice[];
  ca: string;
  fp: string;
  otherCa: string;
}
const s = suite<Ctx>('TLS', {} as Ctx);

s.before(async (c) => {
  c.dir = mkdtempSync(join(tmpdir(), 'hearth-tls-'));
  const files = await initTls(join(c.dir, 'tls'), ['localhost'], ['127.0.0.1']);
  assert.ok(files.createdCa);
  const again = await initTls(join(c.dir, 'tls'), ['localhost'], ['127.0.0.1']);
  assert.not.ok(again.createdCa, 'a second run keeps the house CA');
  c.ca = readFileSync(files.caCert, 'utf8');
  c.fp = again.fingerprint256;
  c.otherCa = readFileSync((await initTls(join(c.dir, 'other'), ['localhost'], [])).caCert, 'utf8');
  c.hub = await startBroker({
    host: '127.0.0.1',
    port: 0,
    allowAnonymous: true,
    log: createLogger({ level: 'error' }),
    tls: { port: 0, certFile: again.cert, keyFile: again.key },
  });
  c.ctl = await connectController(`mqtt://127.0.0.1:${c.hub.port}`); // plain MQTT stays
  c.devs = [];
});
s.after(async (c) => {
  for (const d of c.devs) await d.stop();
  await c.ctl?.close();
  await c.hub?.close();
  rmSync(c.dir, { recursive: true, force: true });
});

s('a device trusts the house CA given inline', async (c) => {
  const dev = await startWithTls(c, 'tls-a', `mqtts://localhost:${c.hub.tlsPort}`, { ca: c.ca });
  await c.ctl.waitFor(t.status('tls-a'), (p) => p === 'online', 8000);
  const r = await c.ctl.cmd('tls-a', 'device', 'ping');
  assert.ok(r.ok);
  assert.ok(dev);
});

s('a CA file plus a pinned certificate works by IP address', async (c) => {
  await startWithTls(c, 'tls-b', `mqtts://127.0.0.1:${c.hub.tlsPort}`, { caFile: join(c.dir, 'tls', 'ca.pem'), pinSha256: c.fp });
  await c.ctl.waitFor(t.status('tls-b'), (p) => p === 'online', 8000);
});

s('a CA that did not sign the hub is refused by the trial; the device stays', async (c) => {
  const r = await c.ctl.configSet('tls-a', { patch: { mqtt: { tls: { ca: c.otherCa } } } }, 15_000);
  assert.is(r.ok, false, JSON.stringify(r));
  assert.is(r.error!.code, 'apply-failed');
  assert.match(r.error!.message, /certificate/i);
  const ping = await c.ctl.cmd('tls-a', 'device', 'ping');
  assert.ok(ping.ok);
  // A wrong pin is refused too.
  const p = await c.ctl.configSet('tls-b', { patch: { mqtt: { tls: { pinSha256: 'AA'.repeat(32) } } } }, 15_000);
  assert.is(p.error?.code, 'apply-failed', JSON.stringify(p));
  assert.match(p.error!.message, /not the pinned one/, p.error!.message);
});

async function startWithTls(c: Ctx, id: string, url: string, tls: Record<string, string>): Promise<TestDevice> {
  const { writeFileSync, mkdtempSync: mk } = await import('node:fs');
  const stateDir = mk(join(c.dir, `${id}-`));
  writeFileSync(
    join(stateDir, 'config.json'),
    JSON.stringify({ v: 2, id, mqtt: { url, reconnectMinMs: 50, reconnectMaxMs: 500, tls }, roles: {} }),
  );
  const { startRuntime } = await import('../../../device/core/runtime.ts');
  const runtime = await startRuntime({ roles: BUILT_IN_ROLES, stateDir, log: createLogger({ level: 'error' }), brokerTrialMs: 3000 });
  const d: TestDevice = { runtime, stateDir, stop: () => runtime.stop() };
  c.devs.push(d);
  return d;
}

s.run();
