// A broker host name that does not resolve is logged as such, with the name — through the real
// MQTT link and the real resolver, and for each resolver error code.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeBrokerError } from '../../../device/core/broker-error.ts';
import { MqttLink } from '../../../device/core/mqtt-link.ts';
import { RealClock } from '../../../device/core/clock.ts';
import { memoryLogger } from '../../../device/core/log.ts';

const lookupError = (code: string, hostname: string) =>
  Object.assign(new Error(`getaddrinfo ${code} ${hostname}`), { code, syscall: 'getaddrinfo', hostname });

test('resolver errors name the host and say it does not resolve', () => {
  assert.is(
    describeBrokerError('mqtt://hub.local:1883', lookupError('ENOTFOUND', 'hub.local')),
    'broker mqtt://hub.local:1883: the host name "hub.local" does not resolve (ENOTFOUND: no such name); a .local name needs mDNS on this network (the hub answering for it)',
  );
  assert.match(
    describeBrokerError('mqtt://broker.lan:1883', lookupError('EAI_AGAIN', 'broker.lan')),
    /"broker\.lan" does not resolve \(EAI_AGAIN: no answer from the name service/,
  );
  assert.is(
    describeBrokerError('mqtt://10.0.0.1:1883', Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:1883'), { code: 'ECONNREFUSED' })),
    'broker mqtt://10.0.0.1:1883: connect ECONNREFUSED 10.0.0.1:1883',
  );
});

test('the link logs an unresolvable broker name as a lookup failure, not a timeout', async () => {
  const log = memoryLogger();
  const link = new MqttLink({
    url: 'mqtt://no-such-hearth-hub.invalid:1883',
    clientId: 't',
    clock: new RealClock(),
    log,
    will: { topic: 'w', payload: 'offline' },
    birth: { topic: 'w', payload: 'online' },
    reconnectMinMs: 60_000,
  });
  link.start();
  try {
    const t0 = Date.now();
    while (!log.lines.some((l) => /does not resolve/.test(l.msg)) && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 50));
    const line = log.lines.find((l) => /does not resolve/.test(l.msg));
    assert.ok(line, JSON.stringify(log.lines));
    assert.match(line!.msg, /"no-such-hearth-hub\.invalid" does not resolve/);
    assert.not.ok(log.lines.some((l) => /connack timeout/.test(l.msg)));
  } finally {
    await link.stop();
  }
});

test.run();
