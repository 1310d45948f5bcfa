// Refuse clearly (issue 12): over MQTT, to a real runtime on the embedded hub, every input that
// JSON.parse would take but should not be taken gets a reply with a code, a readable sentence
// and a JSON path, and changes nothing (revision in memory, on disk, retained). Also: a topic
// under the device's cmd/ that is not cmd/<role>/<action> gets a reply (it once got silence),
// and a huge invalid config gets a bounded reply.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAedes, type TestBroker } from '../../helpers/broker.ts';
import { connectController, type Controller } from '../../helpers/controller.ts';
import { startTestDevice, type TestDevice } from '../../helpers/device.ts';
import { probe } from '../../helpers/test-roles.ts';
import { topics, type Reply } from '../../../protocol/index.ts';

const ID = 'kitchen';
const t = topics();
interface Ctx {
  broker: TestBroker;
  ctl: Controller;
  dev: TestDevice;
}
const s = suite<Ctx>('refusals over MQTT', {} as Ctx);

s.before(async (c) => {
  c.broker = await startAedes();
  c.ctl = await connectController(c.broker.url);
  c.dev = await startTestDevice({ id: ID, brokerUrl: c.broker.url, roles: { probe: { label: 'boot' } }, extraRoles: [probe] });
  await c.ctl.waitFor(t.status(ID), (p) => p === 'online');
  await c.ctl.waitFor(t.config(ID), (p) => p.revision === 0);
});
s.after(async (c) => {
  await c.dev?.stop();
  await c.ctl?.close();
  await c.broker?.stop();
});

async function unchanged(c: Ctx) {
  assert.is(c.dev.runtime.config().revision, 0);
  assert.not.ok(
    'revision' in JSON.parse(readFileSync(join(c.dev.stateDir, 'config.json'), 'utf8')),
    'the file on disk is the one written at boot',
  );
  assert.is(c.ctl.seen(t.config(ID)).at(-1)!.payload.revision, 0);
  const p = await c.ctl.cmd(ID, 'device', 'ping');
  assert.ok(p.ok);
}

function refused(r: Reply, code: string, path: string, words: RegExp) {
  assert.is(r.ok, false, JSON.stringify(r));
  assert.is(r.error!.code, code, JSON.stringify(r.error));
  assert.match(r.error!.message, words);
  assert.not.match(r.error!.message, /\uFEFF|\uFFFD|undefined|Maximum call stack/);
  assert.equal(r.error!.details?.[0]?.path, path, JSON.stringify(r.error));
}

const set = (c: Ctx, payload: string | Buffer) => c.ctl.raw(t.configSet(ID), payload, ID);

s('invalid UTF-8 inside a string is refused (it was saved as U+FFFD)', async (c) => {
  const head = Buffer.from('{"v":2,"id":"u8","patch":{"name":"caf');
  const r = await set(c, Buffer.concat([head, Buffer.from([0xe9]), Buffer.from('"}}')]));
  refused(r, 'bad-json', '/patch/name', /not UTF-8/);
  await unchanged(c);
});

s('a byte-order mark is named, not shown as an invisible character', async (c) => {
  refused(
    await set(c, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"v":2,"id":"bom","patch":{}}')])),
    'bad-json',
    '',
    /byte-order mark/,
  );
  await unchanged(c);
});

s('repeated keys are refused (not "last one wins")', async (c) => {
  refused(await set(c, '{"v":2,"id":"dup","patch":{"name":"a","name":"b"}}'), 'invalid', '/patch/name', /repeats the key "name"/);
  await unchanged(c);
});

s('__proto__ and constructor keys are refused (a __proto__ patch once bumped the revision)', async (c) => {
  refused(await set(c, '{"v":2,"id":"proto","patch":{"__proto__":{"name":"x"}}}'), 'invalid', '/patch/__proto__', /__proto__/);
  refused(await set(c, '{"v":2,"id":"ctor","patch":{"roles":{"constructor":{}}}}'), 'invalid', '/patch/roles/constructor', /constructor/);
  await unchanged(c);
});

s('deep nesting is refused before parsing (it was "Maximum call stack size exceeded")', async (c) => {
  const deep = '{"v":2,"id":"deep","patch":{"name":' + '['.repeat(30_000) + ']'.repeat(30_000) + '}}';
  const r = await set(c, deep);
  assert.is(r.error!.code, 'bad-json');
  assert.match(r.error!.message, /nests deeper than 32 levels/);
  assert.ok(r.error!.details![0]!.path.startsWith('/patch/name/0/0'));
  await unchanged(c);
});

s('a missing "v" is named as a missing field', async (c) => {
  refused(await set(c, '{"id":"nov","patch":{}}'), 'invalid', '/v', /"v": 2/);
  refused(await c.ctl.raw(t.cmd(ID, 'device', 'ping'), '{"id":"nov"}', ID), 'invalid', '/v', /"v": 2/);
  await unchanged(c);
});

s('malformed command topics get a reply (they got none)', async (c) => {
  for (const topic of [`hearth/${ID}/cmd/probe/echo/extra`, `hearth/${ID}/cmd/device`, `hearth/${ID}/cmd/`, `hearth/${ID}/cmd`]) {
    const r = await c.ctl.raw(topic, '{"v":2,"id":"m1"}', ID);
    refused(r, 'invalid', '', /is not a command topic/);
    assert.is(r.id, 'm1', 'the request id is echoed');
    assert.is(r.topic, topic);
  }
  await unchanged(c);
});

s('a huge invalid config gets a bounded reply', async (c) => {
  const roles: Record<string, unknown> = {};
  for (let i = 0; i < 1500; i++) roles[`nosuchrole${i}`] = { x: 'y'.repeat(10) };
  const payload = JSON.stringify({ v: 2, id: 'huge', config: { v: 2, id: ID, mqtt: { url: c.broker.url }, roles } });
  assert.ok(payload.length > 50_000);
  const m = c.ctl.mark();
  const r = await set(c, payload);
  assert.is(r.error!.code, 'invalid');
  const raw = c.ctl.seen(t.reply(ID)).slice(-1)[0]!;
  const size = JSON.stringify(raw.payload).length;
  assert.ok(size < 6000, `the reply is ${size} bytes`);
  assert.is(r.error!.details!.length, 11);
  assert.match(r.error!.details!.at(-1)!.message, /and 1490 more errors/);
  assert.ok(m >= 0);
  await unchanged(c);
});

s.run();
