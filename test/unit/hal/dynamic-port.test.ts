// openOnDynamicPort: a random port of 49152–65535, another on EADDRINUSE, the kernel's choice
// after too many, any other error thrown at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openOnDynamicPort, DYNAMIC_PORTS } from '../../../device/hal/dynamic-port.ts';

const inUse = () => Object.assign(new Error('bind EADDRINUSE'), { code: 'EADDRINUSE' });

test('the range is 49152–65535; the random source maps onto all of it', async () => {
  assert.equal([...DYNAMIC_PORTS], [49152, 65535]);
  assert.is(
    await openOnDynamicPort(
      async (p) => p,
      () => 0,
    ),
    49152,
  );
  assert.is(
    await openOnDynamicPort(
      async (p) => p,
      () => 0.999999999,
    ),
    65535,
  );
});

test('a port in use is followed by another; after `tries` of them, port 0 (the kernel picks)', async () => {
  const asked: number[] = [];
  const r = [0.1, 0.5, 0.9];
  let i = 0;
  const port = await openOnDynamicPort(
    async (p) => {
      asked.push(p);
      if (asked.length < 3) throw inUse();
      return p;
    },
    () => r[i++ % 3]!,
  );
  assert.is(asked.length, 3);
  assert.is(port, asked[2]);
  assert.ok(asked.every((p) => p >= 49152 && p <= 65535));
  const all: number[] = [];
  const last = await openOnDynamicPort(
    async (p) => {
      all.push(p);
      if (p !== 0) throw inUse();
      return p;
    },
    Math.random,
    4,
  );
  assert.is(last, 0);
  assert.is(all.length, 5);
});

test('any other error is thrown at once', async () => {
  let calls = 0;
  try {
    await openOnDynamicPort(async () => {
      calls++;
      throw Object.assign(new Error('bind EACCES'), { code: 'EACCES' });
    });
    assert.unreachable('no error');
  } catch (e) {
    assert.is((e as NodeJS.ErrnoException).code, 'EACCES');
  }
  assert.is(calls, 1);
});

test.run();
