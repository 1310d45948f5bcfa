// The protocol fuzz campaign, short (bench/lib/fuzz.ts has the cases and the invariants; the long
// run, >= 10,000 cases, is `npm run bench -- core`): a fixed seed, so a failure here is
// reproducible, plus a fresh seed printed on failure.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runFuzz } from '../../../bench/lib/fuzz.ts';

for (const seed of [12, Date.now() % 100_000]) {
  test(`fuzz: 250 cases over MQTT, no invariant broken (seed ${seed})`, async () => {
    const r = await runFuzz({ cases: 250, seed, pingBoundMs: 1000, maxEscapes: 5 });
    assert.is(r.cases, 250);
    assert.equal(r.escapes, [], `seed ${seed}: ${JSON.stringify(r.escapes, null, 1)}`);
    assert.ok(r.okReplies > 0, 'some cases applied (the campaign is not only refusals)');
  });
}

test.run();
