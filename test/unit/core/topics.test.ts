// protocol/topics.ts: every topic is built in one place, ids cannot smuggle wildcards or
// separators into a topic, and parse() is the inverse of the builders.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { topics, checkSegment, checkBase, haDiscoveryTopic } from '../../../protocol/topics.ts';

const t = topics();

test('builders give the layout of the README topic table under the default base', () => {
  assert.is(t.base, 'hearth');
  assert.is(t.status('kitchen'), 'hearth/kitchen/status');
  assert.is(t.info('kitchen'), 'hearth/kitchen/info');
  assert.is(t.config('kitchen'), 'hearth/kitchen/config');
  assert.is(t.configSet('kitchen'), 'hearth/kitchen/config/set');
  assert.is(t.cmd('kitchen', 'waker', 'wake'), 'hearth/kitchen/cmd/waker/wake');
  assert.is(t.cmdFilter('kitchen'), 'hearth/kitchen/cmd/#');
  assert.is(t.reply('kitchen'), 'hearth/kitchen/reply');
  assert.is(t.state('kitchen', 'player'), 'hearth/kitchen/state/player');
  assert.is(t.event('kitchen', 'player'), 'hearth/kitchen/event/player');
  assert.is(t.telemetry('kitchen'), 'hearth/kitchen/telemetry');
  assert.is(t.stream('kitchen', 'radio'), 'hearth/streams/kitchen/radio');
  assert.is(t.streamsFilter(), 'hearth/streams/+/+');
  assert.is(t.allDevicesFilter(), 'hearth/#');
  assert.is(haDiscoveryTopic('kitchen'), 'homeassistant/device/kitchen/config');
  assert.is(haDiscoveryTopic('kitchen', 'ha'), 'ha/device/kitchen/config');
});

test('a custom base (up to four levels) is used everywhere', () => {
  const h = topics('house/hearth');
  assert.is(h.status('a'), 'house/hearth/a/status');
  assert.is(h.stream('a', 's'), 'house/hearth/streams/a/s');
  assert.equal(h.parse('house/hearth/a/cmd/r/x'), { kind: 'cmd', device: 'a', role: 'r', action: 'x' });
  assert.is(h.parse('hearth/a/status'), undefined);
});

test('builders refuse wildcards, separators, empty and over-long ids', () => {
  const bad = ['+', '#', 'a/b', 'a+', 'k#', '', ' ', 'a b', 'x'.repeat(65), '$SYS', 'a\u0000', 'ünïcode'];
  for (const id of bad) {
    assert.throws(() => t.status(id), /not a valid topic segment/, `device ${JSON.stringify(id)}`);
    assert.throws(() => t.cmd('ok', id, 'x'), /not a valid topic segment/, `role ${JSON.stringify(id)}`);
    assert.throws(() => t.cmd('ok', 'r', id), /not a valid topic segment/, `action ${JSON.stringify(id)}`);
    assert.throws(() => t.stream('ok', id), /not a valid topic segment/, `stream ${JSON.stringify(id)}`);
    assert.throws(() => haDiscoveryTopic(id), /not a valid topic segment/);
  }
  assert.is(checkSegment('x'.repeat(64), 'id'), 'x'.repeat(64));
  assert.is(checkSegment('a.b_c-9', 'id'), 'a.b_c-9');
});

test('bases with wildcards, empty levels or too many levels are refused', () => {
  for (const b of ['', '/', 'a/', '/a', 'a//b', '+', 'a/#', 'a/+/b', 'a/b/c/d/e', 'a b', 'a.b'])
    assert.throws(() => checkBase(b), /invalid/, b);
  for (const b of ['hearth', 'a/b/c/d', 'my-house_1']) assert.is(checkBase(b), b);
  assert.throws(() => topics('hearth/#'));
});

test('parse names every kind of topic and refuses what is not one', () => {
  assert.equal(t.parse('hearth/k/status'), { kind: 'status', device: 'k' });
  assert.equal(t.parse('hearth/k/info'), { kind: 'info', device: 'k' });
  assert.equal(t.parse('hearth/k/config'), { kind: 'config', device: 'k' });
  assert.equal(t.parse('hearth/k/config/set'), { kind: 'config-set', device: 'k' });
  assert.equal(t.parse('hearth/k/reply'), { kind: 'reply', device: 'k' });
  assert.equal(t.parse('hearth/k/telemetry'), { kind: 'telemetry', device: 'k' });
  assert.equal(t.parse('hearth/k/state/player'), { kind: 'state', device: 'k', role: 'player' });
  assert.equal(t.parse('hearth/k/event/player'), { kind: 'event', device: 'k', role: 'player' });
  assert.equal(t.parse('hearth/k/cmd/waker/wake'), { kind: 'cmd', device: 'k', role: 'waker', action: 'wake' });
  assert.equal(t.parse('hearth/streams/k/radio'), { kind: 'stream', device: 'k', stream: 'radio' });
  for (const x of [
    'hearth',
    'hearth/',
    'hearthx/k/status',
    'other/k/status',
    'hearth/k',
    'hearth/k/nothing',
    'hearth/k/status/extra',
    'hearth/k/config/get',
    'hearth/k/state',
    'hearth/k/state/a/b',
    'hearth/k/cmd/waker',
    'hearth/k/cmd/a/b/c',
    'hearth/streams/k',
    'hearth/streams/k/s/x',
    'hearth//status',
  ]) {
    assert.is(t.parse(x), undefined, x);
  }
});

const seg = fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/);
const dev = seg.filter((s) => s !== 'streams');

test('property: parse inverts every builder', () => {
  fc.assert(
    fc.property(dev, seg, seg, (d, r, a) => {
      const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
      return (
        same(t.parse(t.status(d)), { kind: 'status', device: d }) &&
        same(t.parse(t.configSet(d)), { kind: 'config-set', device: d }) &&
        same(t.parse(t.cmd(d, r, a)), { kind: 'cmd', device: d, role: r, action: a }) &&
        same(t.parse(t.state(d, r)), { kind: 'state', device: d, role: r }) &&
        same(t.parse(t.event(d, r)), { kind: 'event', device: d, role: r }) &&
        same(t.parse(t.stream(d, a)), { kind: 'stream', device: d, stream: a })
      );
    }),
    { numRuns: 2000 },
  );
});

test('property: no built topic contains a wildcard, an empty level or a NUL', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 70 }), fc.string({ maxLength: 70 }), (d, r) => {
      let topic: string;
      try {
        topic = t.cmd(d, r, 'x');
      } catch {
        return true;
      }
      return !/[+#\u0000]/.test(topic) && !topic.split('/').some((l) => l === '') && topic.split('/').length === 5;
    }),
    { numRuns: 3000 },
  );
});

test.run();
