// Stream ports stay below the kernel's ephemeral range on the image (STREAM_PORT_LIMIT, 49152):
// a source config, a player config and a subscribe naming a port there are refused with the reason;
// the highest port whose RTCP (port + 1) is still below the limit is accepted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { normalizeConfig } from '../../../protocol/config.ts';
import { ProtocolError } from '../../../protocol/envelope.ts';
import { STREAM_PORT_LIMIT, streamChoiceErrors } from '../../../protocol/roles/player.ts';

const source = (port: number) => ({
  v: 2,
  id: 'tv',
  mqtt: { url: 'mqtt://hub' },
  roles: { source: { streams: [{ id: 'main', input: { kind: 'tone' }, group: '239.255.0.1', port }] } },
});
const player = (port: number) => ({ v: 2, id: 'kitchen', mqtt: { url: 'mqtt://hub' }, roles: { player: { group: '239.255.0.1', port } } });

function refusal(input: unknown): ProtocolError {
  try {
    normalizeConfig(input);
  } catch (e) {
    assert.instance(e, ProtocolError);
    return e as ProtocolError;
  }
  throw new Error('the config was accepted');
}

test('the limit is the start of the IANA dynamic range', () => {
  assert.is(STREAM_PORT_LIMIT, 49152);
});

test('a source stream at 49150 is accepted; 49152 and 60000 are refused on /streams/0/port with the reason', () => {
  normalizeConfig(source(46000));
  normalizeConfig(source(STREAM_PORT_LIMIT - 2));
  for (const port of [STREAM_PORT_LIMIT, 60000]) {
    const e = refusal(source(port));
    const d = e.details?.find((x) => x.path === '/roles/source/streams/0/port');
    assert.ok(d, `an error on the port: ${JSON.stringify(e.details)}`);
    assert.match(d!.message, /must be below 49152, at most 49150/);
    assert.match(d!.message, /ephemeral/);
  }
});

test('a player choosing 49150 is accepted; 49151 (its RTCP port would be 49152) is refused', () => {
  normalizeConfig(player(STREAM_PORT_LIMIT - 2));
  const e = refusal(player(STREAM_PORT_LIMIT - 1));
  assert.equal(
    e.details?.map((d) => d.path),
    ['/roles/player/port'],
  );
  assert.match(e.message, /RTP port 49151 \(RTCP 49152\) must be below 49152/);
});

test('a subscribe naming a port in the ephemeral range is refused the same way (its rules are the config’s)', () => {
  assert.equal(streamChoiceErrors({ group: '239.255.0.1', port: 46100 }), []);
  const errors = streamChoiceErrors({ group: '239.255.0.1', port: 50000 });
  assert.is(errors.length, 1);
  assert.is(errors[0]!.path, '/port');
  assert.match(errors[0]!.message, /must be below 49152/);
});

test.run();
