import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { timeServerFromEnv } from '../../../bench/lib/rooms-hearth.ts';

test('the rooms bench serves house time with chrony unless ROOMS_TIME_SERVER says hearth', () => {
  assert.is(timeServerFromEnv({}), 'chrony');
  assert.is(timeServerFromEnv({ ROOMS_TIME_SERVER: 'chrony' }), 'chrony');
  assert.is(timeServerFromEnv({ ROOMS_TIME_SERVER: 'hearth' }), 'hearth');
});

test('an unknown ROOMS_TIME_SERVER is refused by name, not run with a default', () => {
  assert.throws(() => timeServerFromEnv({ ROOMS_TIME_SERVER: 'ntpd' }), /ROOMS_TIME_SERVER=ntpd: expected chrony or hearth/);
});

test.run();
