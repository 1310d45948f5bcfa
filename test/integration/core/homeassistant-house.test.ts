// Home Assistant against the demo house (in a namespace): every entity with a command topic is
// driven as Home Assistant drives it (its plain payload, no {v, id} envelope) and the device's own
// state follows; removing a host and a role sends their components once as {p} alone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startHouse, type RunningHouse } from '../../helpers/house.ts';
import { waitUntil } from '../../helpers/wait.ts';

let house: RunningHouse;
type Cmps = Record<string, Record<string, unknown> & { p: string; command_topic?: string }>;
const discovery = (id: string) => (house.retained(`homeassistant/device/${id}/config`) as { cmps: Cmps }).cmps;
const detail = (id: string, role: string) => (house.retained(`hearth/${id}/state/${role}`) as { detail: any; since: string }).detail;
const stateOf = (id: string, role: string) =>
  house.retained(`hearth/${id}/state/${role}`) as { since: string; status: string; detail: any };

const until = (what: string, cond: () => boolean, timeoutMs = 20_000) => waitUntil(what, cond, { timeoutMs, everyMs: 250 });

test.before(async () => {
  house = await startHouse({ port: 1884, wsPort: 8081 });
});
test.after(async () => {
  await house?.stop();
});

test('every entity with a command topic works with the payload Home Assistant sends', async () => {
  const driven = new Set<string>();
  const press = (id: string, key: string, payload: string) => {
    const c = discovery(id)[key];
    assert.ok(c?.command_topic, `${id} has ${key}`);
    house.publish(c.command_topic!, payload);
    driven.add(`${id}/${key}`);
  };
  // kitchen: volume, mute, stream (the select lists the streams announced on MQTT)
  await until('kitchen playing', () => detail('kitchen', 'player').playing === true, 30_000);
  await until('the stream options', () => (discovery('kitchen').stream!.options as string[]).includes('living/tone'));
  press('kitchen', 'volume', '0.3');
  await until('volume 0.3', () => detail('kitchen', 'player').volume === 0.3);
  press('kitchen', 'mute', 'ON');
  await until('muted', () => detail('kitchen', 'player').muted === true);
  press('kitchen', 'mute', 'OFF');
  await until('unmuted', () => detail('kitchen', 'player').muted === false);
  press('kitchen', 'stream', 'living/tone');
  await until('the tone', () => detail('kitchen', 'player').stream.id === 'living/tone');
  // living: a switch per stream
  press('living', 'stream_tone', 'OFF');
  await until('tone off', () => detail('living', 'source').streams.find((s: { id: string }) => s.id === 'tone').enabled === false);
  press('living', 'stream_tone', 'ON');
  await until('tone on', () => detail('living', 'source').streams.find((s: { id: string }) => s.id === 'tone').enabled === true);
  press('living', 'stream_music', 'OFF');
  await until('music off', () => detail('living', 'source').streams.find((s: { id: string }) => s.id === 'music').enabled === false);
  press('living', 'stream_music', 'ON');
  await until('music on', () => detail('living', 'source').streams.find((s: { id: string }) => s.id === 'music').enabled === true);
  // hall: wake the NAS
  press('hall', 'wake_nas', 'PRESS');
  await until('the NAS awake', () => detail('hall', 'waker').hosts[0].state === 'awake', 30_000);
  // shack: the three tune buttons (a second apart: the tuner's minimum gap)
  for (const mode of ['bypass', 'memory', 'full']) {
    const before = detail('shack', 'tuner').counts.presses;
    press('shack', `tune_${mode}`, 'PRESS');
    await until(
      `${mode} done`,
      () => {
        const d = detail('shack', 'tuner');
        return d.counts.presses === before + 1 && d.status !== 'pressing' && d.status !== 'tuning' && d.last !== null;
      },
      20_000,
    );
    assert.is(detail('shack', 'tuner').last.mode, mode);
    await new Promise((r) => setTimeout(r, 1200));
  }
  // restart buttons: each role of the device starts again (a new `since`)
  for (const [id, role] of [
    ['kitchen', 'player'],
    ['lounge', 'player'],
    ['study', 'player'],
    ['living', 'source'],
    ['hall', 'waker'],
    ['shack', 'tuner'],
    ['box', 'hub'],
  ] as const) {
    const since = stateOf(id, role).since;
    press(id, 'restart', 'PRESS');
    await until(
      `${id} ${role} restarted`,
      () => {
        const s = stateOf(id, role);
        return s.since !== since && s.status === 'running';
      },
      30_000,
    );
  }
  // every entity that has a command topic was driven
  const all = ['box', 'living', 'kitchen', 'lounge', 'study', 'hall', 'shack'].flatMap((id) =>
    Object.entries(discovery(id))
      .filter(([, c]) => c.command_topic)
      .map(([k]) => `${id}/${k}`),
  );
  const left = all.filter((k) => !driven.has(k) && !/^(lounge|study)\/(volume|mute|stream)$/.test(k));
  assert.equal(left, [], "each kind of entity driven (lounge and study have the kitchen's)");
});

test('a bare payload Home Assistant should not send is refused with a reply, and changes nothing', async () => {
  const volume = detail('kitchen', 'player').volume;
  house.publish('hearth/kitchen/cmd/ha/volume', 'loud');
  await new Promise((r) => setTimeout(r, 1000));
  assert.is(detail('kitchen', 'player').volume, volume);
});

test('removing a host and a role: their components are sent once as {p} alone', async () => {
  house.publish('hearth/hall/config/set', JSON.stringify({ v: 2, id: 'ha-test-1', patch: { roles: { waker: { hosts: [] } } } }));
  await until('the host gone', () => JSON.stringify(discovery('hall').wake_nas) === '{"p":"button"}');
  assert.equal(discovery('hall').awake_nas, { p: 'binary_sensor' });
  house.publish('hearth/shack/config/set', JSON.stringify({ v: 2, id: 'ha-test-2', patch: { roles: { tuner: null } } }));
  await until('the tuner gone', () => JSON.stringify(discovery('shack').tune_full) === '{"p":"button"}');
  assert.equal(discovery('shack').last_outcome, { p: 'sensor' });
  assert.equal(discovery('shack').button, { p: 'event' });
});

test.run();
