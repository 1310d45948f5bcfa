// The hub's ACL rules (device/hub/acl.ts), pure: topic matching, filter coverage, and what a
// device or a controller may publish and subscribe to.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { topicMatches, filterCovers, mayPublish, maySubscribe, type AclSubject } from '../../../device/hub/acl.ts';
import { topics } from '../../../protocol/topics.ts';

const A: AclSubject = { user: 'kitchen', rights: 'device' };
const CTL: AclSubject = { user: 'admin', rights: 'controller' };
const t = topics();

test('topicMatches: exact, + for one level, # for the rest (and the parent)', () => {
  const yes: Array<[string, string]> = [
    ['a/b', 'a/b'],
    ['a/+', 'a/b'],
    ['+/b', 'a/b'],
    ['a/#', 'a'],
    ['a/#', 'a/b'],
    ['a/#', 'a/b/c'],
    ['#', 'a'],
    ['#', 'a/b/c'],
    ['a/+/c', 'a/x/c'],
    ['+', 'a'],
    ['a/+', 'a/'],
    ['+/+', '/x'],
    ['hearth/+/cmd/+/+', 'hearth/k/cmd/probe/echo'],
  ];
  const no: Array<[string, string]> = [
    ['a/b', 'a/c'],
    ['a/b', 'a/b/c'],
    ['a/b/c', 'a/b'],
    ['a/+', 'a'],
    ['a/+', 'a/b/c'],
    ['+', 'a/b'],
    ['a/#', 'b'],
    ['a/#', 'ab/c'],
    ['hearth/+/cmd/+/+', 'hearth/k/cmd/probe'],
    ['hearth/k/#', 'hearth/kitchen/status'],
  ];
  for (const [f, x] of yes) assert.ok(topicMatches(f, x), `${f} should match ${x}`);
  for (const [f, x] of no) assert.not.ok(topicMatches(f, x), `${f} should not match ${x}`);
});

test('filterCovers: outer covers inner only when every topic of inner is in outer', () => {
  const yes: Array<[string, string]> = [
    ['hearth/kitchen/cmd/#', 'hearth/kitchen/cmd/#'],
    ['hearth/kitchen/cmd/#', 'hearth/kitchen/cmd/+/+'],
    ['hearth/kitchen/cmd/#', 'hearth/kitchen/cmd/probe/echo'],
    ['hearth/kitchen/cmd/#', 'hearth/kitchen/cmd'],
    ['#', '#'],
    ['#', 'a/+/#'],
    ['a/+', 'a/b'],
    ['a/+', 'a/+'],
    ['hearth/streams/#', 'hearth/streams/+/+'],
  ];
  const no: Array<[string, string]> = [
    ['hearth/kitchen/cmd/#', 'hearth/+/cmd/#'],
    ['hearth/kitchen/cmd/#', 'hearth/#'],
    ['hearth/kitchen/cmd/#', '#'],
    ['a/+', 'a/#'],
    ['a/b', 'a/+'],
    ['a/+', 'a/b/c'],
    ['a/b', 'a/b/c'],
    ['a/b/c', 'a/b'],
    ['hearth/kitchen/config/set', 'hearth/kitchen/config/+'],
  ];
  for (const [o, i] of yes) assert.ok(filterCovers(o, i), `${o} should cover ${i}`);
  for (const [o, i] of no) assert.not.ok(filterCovers(o, i), `${o} should not cover ${i}`);
});

// Small alphabets so that random filters and topics actually collide.
const level = fc.constantFrom('a', 'b', 'c', '');
const topicArb = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/'));
const filterArb = fc
  .tuple(fc.array(fc.constantFrom('a', 'b', '+'), { minLength: 0, maxLength: 4 }), fc.boolean())
  .filter(([l, hash]) => l.length > 0 || hash)
  .map(([l, hash]) => [...l, ...(hash ? ['#'] : [])].join('/'));

test('property: covers(outer, inner) and inner matches t ⇒ outer matches t (no ACL widening)', () => {
  fc.assert(
    fc.property(filterArb, filterArb, topicArb, (outer, inner, topic) => {
      if (filterCovers(outer, inner) && topicMatches(inner, topic)) return topicMatches(outer, topic);
      return true;
    }),
    { numRuns: 5000 },
  );
});

test('property: for a plain topic name, covers and matches agree', () => {
  fc.assert(
    fc.property(filterArb, topicArb, (f, topic) => filterCovers(f, topic) === topicMatches(f, topic)),
    { numRuns: 5000 },
  );
});

test('a device publishes under its own tree, its own streams and its own HA discovery only', () => {
  for (const topic of [
    t.status('kitchen'),
    t.info('kitchen'),
    t.config('kitchen'),
    t.reply('kitchen'),
    t.state('kitchen', 'player'),
    t.event('kitchen', 'waker'),
    t.telemetry('kitchen'),
    t.stream('kitchen', 'radio'),
    'homeassistant/device/kitchen/config',
  ]) {
    assert.ok(mayPublish(A, topic), topic);
  }
  for (const topic of [
    t.status('hall'),
    t.cmd('hall', 'waker', 'wake'),
    t.configSet('hall'),
    t.stream('hall', 'radio'),
    'hearth/streams/kitchen/radio/x',
    'homeassistant/device/hall/config',
    'homeassistant/status',
    'hearth/kitchenette/status',
    'other/kitchen/status',
    '$SYS/broker/x',
  ]) {
    assert.not.ok(mayPublish(A, topic), topic);
  }
});

test('a device subscribes to its own config/set, commands, replies, every stream and HA status; nothing wider', () => {
  for (const f of [
    t.configSet('kitchen'),
    t.cmdFilter('kitchen'),
    'hearth/kitchen/cmd/#',
    t.cmd('kitchen', 'probe', 'echo'),
    t.reply('kitchen'),
    t.streamsFilter(),
    'hearth/streams/#',
    'homeassistant/status',
  ]) {
    assert.ok(maySubscribe(A, f), f);
  }
  for (const f of [
    t.cmdFilter('hall'),
    t.configSet('hall'),
    t.reply('hall'),
    'hearth/+/cmd/#',
    'hearth/+/config/set',
    'hearth/#',
    '#',
    '+/kitchen/cmd/#',
    'hearth/kitchen/#',
    t.state('kitchen', 'player'),
    'hearth/kitchen/config/+',
    '$SYS/#',
  ]) {
    assert.not.ok(maySubscribe(A, f), f);
  }
});

test('grants widen one login only', () => {
  const button: AclSubject = {
    user: 'button',
    rights: 'device',
    grants: { publish: ['hearth/hall/cmd/waker/wake'], subscribe: ['hearth/hall/reply'] },
  };
  assert.ok(mayPublish(button, 'hearth/hall/cmd/waker/wake'));
  assert.not.ok(mayPublish(button, 'hearth/hall/cmd/waker/status'));
  assert.ok(maySubscribe(button, 'hearth/hall/reply'));
  assert.not.ok(maySubscribe(button, 'hearth/hall/#'));
  assert.not.ok(mayPublish(A, 'hearth/hall/cmd/waker/wake'));
});

test('a controller may do everything except publish to $ topics', () => {
  for (const topic of [t.cmd('hall', 'waker', 'wake'), t.configSet('kitchen'), t.status('kitchen'), 'anything/else'])
    assert.ok(mayPublish(CTL, topic), topic);
  for (const f of ['#', 'hearth/#', '$SYS/#', 'hearth/+/cmd/#']) assert.ok(maySubscribe(CTL, f), f);
  assert.not.ok(mayPublish(CTL, '$SYS/broker/uptime'));
});

test('a custom base topic moves the device tree', () => {
  assert.ok(mayPublish(A, 'home/kitchen/status', 'home'));
  assert.not.ok(mayPublish(A, 'hearth/kitchen/status', 'home'));
  assert.ok(maySubscribe(A, 'home/kitchen/cmd/+/+', 'home'));
});

test('a device whose login is "streams" gets no rights over other devices\' stream announcements', () => {
  // hearth/streams/<device>/<stream> sits beside the device trees; a login named "streams" must
  // not turn hearth/<login>/# into "every announcement of every device".
  const s: AclSubject = { user: 'streams', rights: 'device' };
  assert.not.ok(mayPublish(s, t.stream('kitchen', 'radio')));
  assert.not.ok(mayPublish(s, 'hearth/streams/kitchen/radio'));
});

test.run();
