// OutStream's RTCP sender reports against its own pacing: every SR pairs a whole RTP frame with
// that frame's exact wall instant, so a player fitting a line through a few SRs (one that just
// joined) gets the sender's rate, not rounding noise.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OutStream } from '../../../device/audio/source-stream.ts';
import { parseRtcp } from '../../../device/audio/rtcp.ts';
import { parseRtp } from '../../../device/audio/rtp.ts';
import { VirtualClock } from '../../../device/core/clock.ts';
import { createLogger } from '../../../device/core/log.ts';
import type { AudioInput } from '../../../device/hal/audio-in.ts';

const RATE = 48000;

function run(srIntervalMs: number) {
  const clock = new VirtualClock(12.345); // starts between two frames
  const sent: { data: Uint8Array; port: number }[] = [];
  const input = { kind: 'tone', description: 'test', status: () => 'open', lastError: () => null, open: async () => {}, read: (n: number) => new Int16Array(n * 2), counters: () => ({}), close: async () => {} } as unknown as AudioInput;
  const s = new OutStream({
    id: 't', name: 't', group: '239.255.9.9', port: 5004, ttl: 1, format: { encoding: 'L16', rate: RATE, channels: 2, payloadType: 127 },
    framesPerPacket: 240, sap: false, rtcp: true, input, clock, log: createLogger({ level: 'error' }), cname: 'test@host',
    sender: { address: '127.0.0.1', send: (data, _g, port) => sent.push({ data: data.slice(), port }), close: async () => {}, errors: () => 0 },
    srIntervalMs,
  });
  const wall0 = clock.wall();
  s.start();
  clock.advance(20_000);
  s.stop();
  const firstRtp = parseRtp(sent.find((d) => d.port === 5004)!.data);
  assert.ok(firstRtp.ok);
  const rtp0 = firstRtp.ok ? firstRtp.packet.timestamp : 0;
  const srs = sent.filter((d) => d.port === 5005).flatMap((d) => { const r = parseRtcp(d.data); return r.ok ? r.rtcp.senderReports : []; });
  return { srs, rtp0, wall0 };
}

test('every SR carries a whole frame at its exact wall instant on the pacing line (within 0.5 µs)', () => {
  for (const interval of [1000, 1000.013, 997.77]) {
    const { srs, rtp0, wall0 } = run(interval);
    assert.ok(srs.length >= 19, `${srs.length} SRs`);
    for (const sr of srs) {
      const frames = (sr.rtpTimestamp - rtp0) >>> 0;
      const errUs = (sr.wallMs - (wall0 + (frames * 1000) / RATE)) * 1000;
      assert.ok(Math.abs(errUs) < 0.5, `interval ${interval} ms: SR at RTP +${frames} is ${errUs.toFixed(2)} µs off its frame's instant`);
    }
  }
});

test.run();
