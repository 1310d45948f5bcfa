import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { waitUntil } from '../../helpers/wait.ts';

test('resolves with the first truthy value, as soon as it holds', async () => {
  const t0 = Date.now();
  let n = 0;
  const v = await waitUntil('the third poll', () => (++n >= 3 ? { n } : undefined), { everyMs: 5 });
  assert.equal(v, { n: 3 });
  assert.ok(Date.now() - t0 < 500);
});

test('a probe that throws is "not yet"; the timeout names what was awaited, what was seen and the last error', async () => {
  let err: Error | undefined;
  try {
    await waitUntil(
      'the kitchen playing',
      () => {
        throw new Error('no state yet');
      },
      { timeoutMs: 60, everyMs: 10, seen: () => ({ status: 'starting' }) },
    );
  } catch (e) {
    err = e as Error;
  }
  assert.ok(err);
  assert.match(
    err!.message,
    /timed out after \d+ ms waiting for the kitchen playing; last seen: {"status":"starting"}; the probe threw: no state yet/,
  );
});

test('async probes are awaited', async () => {
  assert.is(await waitUntil('async', async () => 'yes'), 'yes');
});

test.run();
