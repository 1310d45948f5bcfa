// takeover.ts: short-lived connections that reconnect at once are a fight over the client id;
// an outage (failed attempts in between) is not; a stable connection ends the run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FlapDetector } from '../../../device/core/takeover.ts';

test('four connections in a row that close within seconds, reconnecting at once: a conflict', () => {
  const f = new FlapDetector({ stableMs: 5000, threshold: 4 });
  let now = 0;
  const verdicts = [];
  for (let i = 0; i < 5; i++) {
    f.connected(now);
    now += 300;
    verdicts.push(f.closed(now));
    now += 50;
  }
  assert.equal(
    verdicts.map((v) => v.conflict),
    [false, false, false, true, true],
  );
  assert.ok(verdicts.every((v) => !v.stable));
});

test('a broker restart (attempts fail in between) is an outage, not a conflict', () => {
  const f = new FlapDetector({ stableMs: 5000, threshold: 4 });
  let now = 0;
  for (let i = 0; i < 10; i++) {
    f.connected(now);
    now += 1000;
    assert.not.ok(f.closed(now).conflict);
    f.attemptFailed();
    now += 200;
  }
});

test('a connection that stayed up is stable and ends the run', () => {
  const f = new FlapDetector({ stableMs: 5000, threshold: 2 });
  f.connected(0);
  assert.not.ok(f.closed(100).stable);
  f.connected(200);
  assert.ok(f.closed(6000).stable);
  f.connected(6100);
  assert.is(f.closed(6200).streak, 1);
});

test.run();
