// The hub serves the console: the page and everything it loads, with the right types; from the
// source tree the TypeScript console is bundled on the first request. (The console itself is
// driven in a real browser by browser.test.ts.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { startBroker, type RunningBroker } from '../../../device/hub/broker.ts';
import { createLogger } from '../../../device/core/log.ts';

const STATIC = new URL('../../../device/console/static/', import.meta.url);
const SRC = new URL('../../../device/console/src/main.ts', import.meta.url);
let broker: RunningBroker;
let http: string;

test.before(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0, wsPort: 0, allowAnonymous: true, log: createLogger({ level: 'error' }) });
  http = `http://127.0.0.1:${broker.wsPort}`;
});
test.after(async () => {
  await broker?.close();
});

test('the hub serves the page and everything it loads, with the right types', async () => {
  const index = await fetch(`${http}/`);
  assert.is(index.status, 200);
  assert.match(index.headers.get('content-type') ?? '', /text\/html/);
  const html = await index.text();
  const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  assert.equal(refs.sort(), ['app.js', 'mqtt.min.js', 'style.css']);
  for (const ref of refs) {
    const r = await fetch(`${http}/${ref}`);
    assert.is(r.status, 200, ref);
    assert.match(r.headers.get('content-type') ?? '', ref.endsWith('.css') ? /text\/css/ : /javascript/, ref);
    const body = await r.text();
    assert.ok(body.length > 1000, `${ref} has content`);
  }
});

test('the bundle is the TypeScript console with protocol/ inside it (schemas, topic builders)', async () => {
  const js = await (await fetch(`${http}/app.js`)).text();
  // the protocol's own strings travel in the bundle: a schema description and a topic-segment check
  assert.ok(js.includes('is not a valid topic segment'), 'topic builders from protocol/topics.ts');
  assert.ok(js.includes('target playout latency'), 'the player state schema from protocol/roles/player.ts');
});

test('main.ts reads only elements index.html has', () => {
  const main = readFileSync(SRC, 'utf8');
  const html = readFileSync(new URL('index.html', STATIC), 'utf8');
  const ids = new Set([...html.matchAll(/id="([^"]+)"/g)].map((m) => m[1]));
  const used = [...main.matchAll(/\$(?:<[^>]+>)?\('([^']+)'\)/g)].map((m) => m[1]!);
  assert.ok(used.length >= 6);
  for (const id of used) assert.ok(ids.has(id), `index.html has #${id}`);
});

test.run();
