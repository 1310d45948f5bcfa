// Logins and ACLs on real brokers. First the embedded hub (Aedes with device/hub/credentials.ts
// logins and device/hub/acl.ts rules), then a real Mosquitto running the password_file and
// acl_file documented in docs/mqtt-acl.md (taken from that page, so the page is what is tested).
// In both: a device cannot publish into another device's tree nor read its commands, bad
// credentials are refused, a controller may do everything, and a real device runtime works end
// to end under its own ACL.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { startAedes, startMosquitto, type TestBroker } from '../../helpers/broker.ts';
import { connectController, type Controller } from '../../helpers/controller.ts';
import { startTestDevice, type TestDevice } from '../../helpers/device.ts';
import { probe } from '../../helpers/test-roles.ts';
import { addLogin, newPassword } from '../../../device/hub/credentials.ts';
import { publishFilters, subscribeFilters } from '../../../device/hub/acl.ts';
import { topics, PROTOCOL_VERSION } from '../../../protocol/index.ts';

const t = topics();
const root = new URL('../../../', import.meta.url).pathname;
const A = 'kitchen',
  B = 'hall',
  SPARE = 'porch',
  CTL = 'cli';
/** A second controller login: on Mosquitto one login is one connection (use_username_as_clientid). */
const CTL2 = 'monitor';

interface Env {
  kind: 'aedes' | 'mosquitto';
  broker: TestBroker;
  dir: string;
  pw: Record<string, string>;
  ctl: Controller;
  devA: TestDevice;
  devB: TestDevice;
}

async function connectAs(
  url: string,
  username: string | undefined,
  password: string | undefined,
  clientId = username ?? `anon-${process.pid}`,
): Promise<MqttClient> {
  return mqtt.connectAsync(url, { username, password, clientId, reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4 });
}

async function refusal(url: string, username: string | undefined, password: string | undefined, clientId?: string): Promise<string> {
  let c: MqttClient | undefined;
  try {
    c = await connectAs(url, username, password, clientId);
  } catch (e) {
    return (e as Error).message;
  }
  await c.endAsync(true);
  assert.unreachable(`${username ?? 'anonymous'} (client id ${clientId ?? username}) was let in`);
  return '';
}

/** The QoS the broker granted for `filter`: 128 is a refusal. */
async function granted(c: MqttClient, filter: string): Promise<number> {
  try {
    const g = await c.subscribeAsync(filter, { qos: 1 });
    return g[0]!.qos;
  } catch (e) {
    if (/subscribe error/i.test((e as Error).message)) return 128;
    throw e;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Publishes `topic` as the device login SPARE (a device with no runtime, so its connections
 * knock no one off) on a fresh connection, then a marker on its own tree (again on a fresh
 * connection, since Aedes closes a connection that publishes outside its ACL). Once the
 * controller has the marker, anything the broker was going to forward has been forwarded.
 */
async function forge(e: Env, topic: string, payload: string, retain = false): Promise<void> {
  const a = await connectAs(e.broker.url, SPARE, e.pw[SPARE]);
  a.on('error', () => {});
  a.publish(topic, payload, { qos: 0, retain });
  await sleep(100);
  await a.endAsync(true);
  const marker = `marker-${Math.random().toString(36).slice(2)}`;
  const m = await connectAs(e.broker.url, SPARE, e.pw[SPARE]);
  await m.publishAsync(t.event(SPARE, 'acltest'), marker, { qos: 1 });
  await e.ctl.waitFor(t.event(SPARE, 'acltest'), (p) => p === marker, 5000);
  await m.endAsync();
  await sleep(150);
}

function scenarios(s: ReturnType<typeof suite<Env>>) {
  s("the devices' own runtimes work under their ACLs: birth, info, config/set, commands, replies", async (e) => {
    for (const id of [A, B]) {
      await e.ctl.waitFor(t.status(id), (p) => p === 'online', 10_000);
      assert.is((await e.ctl.waitFor(t.info(id))).payload.device, id);
      await e.ctl.waitFor(t.config(id), (p) => p.revision === 0);
      await e.ctl.waitFor(t.state(id, 'probe'), (p) => p.status === 'running');
    }
    const r = await e.ctl.configSet(B, { patch: { roles: { probe: { label: 'provisioned' } } } });
    assert.ok(r.ok, JSON.stringify(r));
    assert.is((r.result as any).revision, 1);
    await e.ctl.waitFor(t.config(B), (p) => p.revision === 1);
    assert.equal((await e.ctl.cmd(B, 'probe', 'echo', { text: 'acl' })).result, { text: 'acl', label: 'provisioned' });
    assert.ok((await e.ctl.cmd(A, 'device', 'ping')).ok);
    assert.is(e.devA.runtime.link().connects, 1, 'A was never disconnected');
  });

  s('wrong password, unknown login and anonymous clients are refused', async (e) => {
    assert.match(await refusal(e.broker.url, A, 'not-the-password'), /refused|authori|bad user/i);
    assert.match(await refusal(e.broker.url, A, e.pw[B]), /refused|authori|bad user/i);
    assert.match(await refusal(e.broker.url, 'nobody', 'whatever'), /refused|authori|bad user/i);
    assert.match(await refusal(e.broker.url, CTL, 'guess'), /refused|authori|bad user/i);
    assert.match(await refusal(e.broker.url, undefined, undefined), /refused|authori|bad user/i);
    const ok = await connectAs(e.broker.url, SPARE, e.pw[SPARE]);
    await ok.endAsync();
  });

  s("a device cannot publish into another device's tree: nothing arrives, B runs nothing, B's retained state stands", async (e) => {
    const mark = e.ctl.mark();
    const forgedId = 'forged-1';
    await forge(e, t.cmd(B, 'probe', 'echo'), JSON.stringify({ v: PROTOCOL_VERSION, id: forgedId, text: 'evil' }));
    await forge(
      e,
      t.configSet(B),
      JSON.stringify({ v: PROTOCOL_VERSION, id: 'forged-2', patch: { roles: { probe: { label: 'pwned' } } } }),
    );
    await forge(e, t.status(B), 'offline', true);
    await forge(e, t.stream(B, 'radio'), '{"fake":true}', true);
    await forge(e, 'homeassistant/device/hall/config', '{}', true);
    const seen = e.ctl.seen('#').slice(mark);
    for (const topic of [
      t.cmd(B, 'probe', 'echo'),
      t.configSet(B),
      t.status(B),
      t.stream(B, 'radio'),
      'homeassistant/device/hall/config',
    ]) {
      assert.not.ok(
        seen.some((m) => m.topic === topic),
        `${topic} reached the controller`,
      );
    }
    assert.not.ok(
      seen.some((m) => m.topic === t.reply(B)),
      'B answered a forged request',
    );
    assert.is(e.devB.runtime.config().revision, 1);
    const late = await connectController(e.broker.url, { username: CTL2, password: e.pw[CTL2] });
    try {
      assert.is((await late.waitFor(t.status(B), () => true, 5000)).payload, 'online', "B's retained status was not overwritten");
    } finally {
      await late.close();
    }
    // Its own tree and own streams are fine.
    const a = await connectAs(e.broker.url, SPARE, e.pw[SPARE]);
    await a.publishAsync(t.stream(SPARE, 'radio'), '{"mine":true}', { qos: 1 });
    await e.ctl.waitFor(t.stream(SPARE, 'radio'), (p) => p.mine === true, 5000);
    await a.publishAsync(t.status(SPARE), 'online', { qos: 1 });
    await e.ctl.waitFor(t.status(SPARE), (p) => p === 'online', 5000);
    await a.endAsync();
    assert.is(e.devA.runtime.link().connects, 1, 'the runtimes were not disturbed');
    assert.is(e.devB.runtime.link().connects, 1);
  });

  s("a device cannot read another device's commands: nothing delivered (Aedes: negative SUBACK); its own it reads", async (e) => {
    const a = await connectAs(e.broker.url, SPARE, e.pw[SPARE]);
    const got: string[] = [];
    a.on('message', (topic) => got.push(topic));
    const subacks: Record<string, number> = {};
    for (const f of [
      t.cmdFilter(B),
      `hearth/${B}/cmd/#`,
      t.configSet(B),
      t.reply(B),
      'hearth/+/cmd/#',
      'hearth/#',
      '#',
      t.state(B, 'probe'),
    ]) {
      subacks[f] = await granted(a, f);
    }
    // The embedded hub refuses each filter; Mosquitto's acl_file grants the SUBACK and then
    // delivers only what the login may read (checked below for both).
    if (e.kind === 'aedes') for (const [f, q] of Object.entries(subacks)) assert.is(q, 128, `${f} granted`);
    assert.not.equal(await granted(a, `hearth/${SPARE}/cmd/#`), 128);
    assert.not.equal(await granted(a, t.streamsFilter()), 128);
    await e.ctl.cmd(B, 'probe', 'echo', { text: 'for B only' });
    const own = e.ctl.cmd(SPARE, 'probe', 'echo', { text: 'for porch' }, 1500).catch(() => undefined); // nobody answers; A just has to see it
    for (let i = 0; i < 50 && !got.includes(t.cmd(SPARE, 'probe', 'echo')); i++) await sleep(50);
    await own;
    assert.ok(got.includes(t.cmd(SPARE, 'probe', 'echo')), 'a device receives its own commands');
    assert.not.ok(
      got.some((x) => x.startsWith(`hearth/${B}/`)),
      `B's traffic leaked: ${got.join(', ')}`,
    );
    await a.endAsync();
  });

  s('a controller may subscribe to everything and publish anywhere', async (e) => {
    const c = await connectAs(e.broker.url, CTL2, e.pw[CTL2], 'any-client-id');
    assert.not.equal(await granted(c, '#'), 128);
    assert.not.equal(await granted(c, 'hearth/+/cmd/#'), 128);
    const got = new Promise<string>((resolve) =>
      c.on('message', (topic, p) => {
        if (topic === t.reply(B)) resolve(p.toString());
      }),
    );
    await c.publishAsync(t.cmd(B, 'probe', 'echo'), JSON.stringify({ v: PROTOCOL_VERSION, id: 'ctl-1', text: 'from a controller' }), {
      qos: 1,
    });
    const reply = JSON.parse(await got);
    assert.is(reply.id, 'ctl-1');
    assert.equal(reply.result, { text: 'from a controller', label: 'provisioned' });
    await c.publishAsync('anything/else', 'x', { qos: 1 });
    await c.endAsync();
  });
}

async function setupLogins(e: Env) {
  await e.ctl.waitFor(t.status(A), (p) => p === 'online', 10_000);
  await e.ctl.waitFor(t.status(B), (p) => p === 'online', 10_000);
}

async function startDevices(e: Env) {
  e.devA = await startTestDevice({
    id: A,
    brokerUrl: e.broker.url,
    username: A,
    password: e.pw[A],
    roles: { probe: { label: 'a' } },
    extraRoles: [probe],
  });
  e.devB = await startTestDevice({
    id: B,
    brokerUrl: e.broker.url,
    username: B,
    password: e.pw[B],
    roles: { probe: { label: 'b' } },
    extraRoles: [probe],
  });
}

async function teardown(e: Env) {
  await e.devA?.stop();
  await e.devB?.stop();
  await e.ctl?.close();
  await e.broker?.stop();
  rmSync(e.dir, { recursive: true, force: true });
}

// --- the embedded hub ---------------------------------------------------------------------------
const hub = suite<Env>('ACL on the embedded hub (Aedes)', { kind: 'aedes' } as Env);
hub.before(async (e) => {
  e.dir = mkdtempSync(join(tmpdir(), 'hearth-acl-'));
  const file = join(e.dir, 'credentials.json');
  e.pw = {};
  for (const id of [A, B, SPARE]) e.pw[id] = await addLogin(file, id);
  e.pw[CTL] = await addLogin(file, CTL, 'controller');
  e.pw[CTL2] = await addLogin(file, CTL2, 'controller');
  e.broker = await startAedes({ credentialsFile: file });
  e.ctl = await connectController(e.broker.url, { username: CTL, password: e.pw[CTL] });
  await startDevices(e);
  await setupLogins(e);
});
hub.after(teardown);

hub('credentials file: scrypt hashes only, private, and "streams" is not a device login', async (e) => {
  const text = readFileSync(join(e.dir, 'credentials.json'), 'utf8');
  for (const pw of Object.values(e.pw)) assert.not.ok(text.includes(pw), 'a password is stored in clear');
  assert.match(text, /"hash": "scrypt\$16384\$8\$1\$/);
  let err = '';
  try {
    await addLogin(join(e.dir, 'credentials.json'), 'streams');
  } catch (x) {
    err = (x as Error).message;
  }
  assert.match(err, 'reserved');
});

hub('a device must use its login as client id', async (e) => {
  assert.match(await refusal(e.broker.url, SPARE, e.pw[SPARE], A), /identifier|refused/i);
  assert.match(await refusal(e.broker.url, SPARE, e.pw[SPARE], `${SPARE}-2`), /identifier|refused/i);
  await sleep(200);
  assert.is(e.devA.runtime.link().connects, 1, 'the real A was not knocked off');
});

scenarios(hub);

hub('a device that publishes outside its ACL is disconnected by the hub, and comes back by itself', async (e) => {
  // The embedded hub closes the connection (MQTT 3.1.1 §3.3.5 allows that or a silent drop);
  // the runtime's reconnect brings the device back online.
  const before = e.devA.runtime.link().connects;
  const mark = e.ctl.mark();
  e.devA.runtime.link().publish(t.cmd(B, 'probe', 'echo'), JSON.stringify({ v: PROTOCOL_VERSION, id: 'stray', text: 'x' }), { qos: 0 });
  await e.ctl.waitFor(t.status(A), (p) => p === 'offline', 5000, mark);
  await e.ctl.waitFor(t.status(A), (p) => p === 'online', 5000, mark);
  assert.ok(e.devA.runtime.link().connects > before);
  assert.not.ok(e.ctl.seen(t.cmd(B, 'probe', 'echo')).some((m) => m.payload?.id === 'stray'));
  assert.ok((await e.ctl.cmd(A, 'probe', 'echo', { text: 'back' })).ok);
});

hub.run();

// --- Mosquitto with docs/mqtt-acl.md --------------------------------------------------------------
function docBlock(lang: string): string {
  const doc = readFileSync(join(root, 'docs/mqtt-acl.md'), 'utf8');
  const m = doc.match(new RegExp('```' + lang + '\\n([\\s\\S]*?)```'));
  if (!m) throw new Error(`docs/mqtt-acl.md has no \`\`\`${lang} block`);
  return m[1]!;
}

const mosq = suite<Env>('ACL on Mosquitto (docs/mqtt-acl.md)', { kind: 'mosquitto' } as Env);

mosq('the documented ACL patterns are exactly the rules of device/hub/acl.ts', () => {
  const lines = docBlock('mosquitto-acl')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('pattern '));
  const want = [
    ...publishFilters({ user: '%u', rights: 'device' }).map((f) => `pattern write ${f}`),
    ...subscribeFilters({ user: '%u', rights: 'device' }).map((f) => `pattern read ${f}`),
  ];
  assert.equal(lines, want);
});

mosq.before(async (e) => {
  e.dir = mkdtempSync(join(tmpdir(), 'hearth-mosq-acl-'));
  chmodSync(e.dir, 0o755); // mosquitto may drop root for its own user before reading the files
  const passwd = join(e.dir, 'hearth.passwd');
  const acl = join(e.dir, 'hearth.acl');
  e.pw = {};
  for (const [i, id] of [A, B, SPARE, CTL, CTL2].entries()) {
    e.pw[id] = newPassword();
    execFileSync('mosquitto_passwd', [...(i === 0 ? ['-c'] : []), '-b', passwd, id, e.pw[id]!], { stdio: 'pipe' });
  }
  chmodSync(passwd, 0o644);
  // The documented file, plus a second controller added the way the page says.
  writeFileSync(acl, `${docBlock('mosquitto-acl')}\nuser ${CTL2}\ntopic readwrite #\n`, { mode: 0o644 });
  const conf = docBlock('mosquitto-conf')
    .split('\n')
    .filter((l) => !/^\s*(#|$|listener\b)/.test(l)) // the test broker has its own loopback listener
    .map((l) => l.replace(/^password_file .*/, `password_file ${passwd}`).replace(/^acl_file .*/, `acl_file ${acl}`));
  assert.ok(conf.some((l) => l.startsWith('acl_file ')) && conf.some((l) => l.startsWith('password_file ')));
  e.broker = await startMosquitto({ extraConfig: conf });
  e.ctl = await connectController(e.broker.url, { username: CTL, password: e.pw[CTL] });
  await startDevices(e);
  await setupLogins(e);
});
mosq.after(teardown);

scenarios(mosq);

mosq("connecting with another device's client id does not knock that device off", async (e) => {
  const mark = e.ctl.mark();
  const before = e.devA.runtime.link().connects;
  const c = await connectAs(e.broker.url, SPARE, e.pw[SPARE], A);
  await sleep(500);
  await c.endAsync();
  assert.not.ok(
    e.ctl
      .seen(t.status(A))
      .slice(mark)
      .some((m) => m.payload === 'offline'),
    'A went offline',
  );
  assert.is(e.devA.runtime.link().connects, before);
  assert.ok((await e.ctl.cmd(A, 'probe', 'echo', { text: 'still here' })).ok);
});

mosq('a device publishing outside its ACL stays connected; the message is dropped', async (e) => {
  const before = e.devA.runtime.link().connects;
  const mark = e.ctl.mark();
  e.devA.runtime.link().publish(t.cmd(B, 'probe', 'echo'), JSON.stringify({ v: PROTOCOL_VERSION, id: 'stray', text: 'x' }), { qos: 1 });
  assert.ok((await e.ctl.cmd(A, 'probe', 'echo', { text: 'after' })).ok);
  await sleep(200);
  assert.is(e.devA.runtime.link().connects, before);
  assert.not.ok(
    e.ctl
      .seen('#')
      .slice(mark)
      .some((m) => m.topic === t.cmd(B, 'probe', 'echo') || (m.topic === t.status(A) && m.payload === 'offline')),
  );
});

mosq.run();
