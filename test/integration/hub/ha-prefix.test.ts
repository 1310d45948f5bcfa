// A house whose Home Assistant uses another discovery prefix, against the embedded hub: the hub's
// ACL follows the prefix its device is configured with, so the device's discovery message and its
// `<prefix>/status` subscription are allowed (before: denied, and Aedes closed the connection).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestDevice, type TestDevice } from '../../helpers/device.ts';
import { connectController, type Controller } from '../../helpers/controller.ts';
import { freePort } from '../../helpers/broker.ts';
import { addLogin } from '../../../device/hub/credentials.ts';
import { topics } from '../../../protocol/index.ts';

const t = topics();
let dir = '';
let dev: TestDevice | undefined;
let ctl: Controller | undefined;

test.after(async () => {
  await ctl?.close();
  await dev?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a device with homeassistant.prefix "ha" on its own embedded hub: discovery on ha/device/<id>/config, the connection stays up', async () => {
  dir = mkdtempSync(join(tmpdir(), 'hearth-haprefix-'));
  const credentialsFile = join(dir, 'credentials.json');
  const pw = await addLogin(credentialsFile, 'box');
  const ctlPw = await addLogin(credentialsFile, 'ctl', 'controller');
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  dev = await startTestDevice({
    id: 'box',
    brokerUrl: url,
    username: 'box',
    password: pw,
    stateDir: dir,
    roles: { hub: { host: '127.0.0.1', port, wsPort: 0, credentialsFile } },
    extra: { homeassistant: { enabled: true, prefix: 'ha' } },
  });
  ctl = await connectController(url, { username: 'ctl', password: ctlPw });
  await ctl.client.subscribeAsync('ha/#', { qos: 1 });
  const disc = await ctl.waitFor('ha/device/box/config', (p) => !!p?.dev, 10_000);
  assert.equal(disc.payload.dev.ids, ['hearth_box']);
  await ctl.waitFor(t.status('box'), (p) => p === 'online', 10_000);
  // Home Assistant coming online under its prefix makes the device re-send discovery: its
  // subscription to ha/status was allowed.
  const mark = ctl.mark();
  await ctl.client.publishAsync('ha/status', 'online', { qos: 1 });
  await ctl.waitFor('ha/device/box/config', (p) => !!p?.dev, 5000, mark);
  assert.is(dev.runtime.link().connects, 1, 'one connection: the hub never closed it for a denied topic');
  const denied = ctl.seen(t.event('box', 'hub')).filter((m) => m.payload?.type === 'denied');
  assert.equal(denied, [], JSON.stringify(denied));
});

test.run();
