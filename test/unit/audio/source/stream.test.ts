// OutStream's RTCP sender reports against its own pacing: every SR pairs a whole RTP frame with
// that frame's exact wall instant, so a player fitting a line through a few SRs (one that just
// joined) gets the sender's rate, not rounding noise.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OutStream, srIntervalFor } from '../../../../device/audio/source/stream.ts';
import { parseRtcp } from '../../../../device/audio/packets/rtcp.ts';
import { VirtualClock } from '../../../../device/core/clock.ts';
import { createLogger } from '../../../../device/core/log.ts';
import type { AudioInput } from '../../../../device/hal/audio-in.ts';

const RATE = 48000;

/**
 * A virtual clock read at a slightly different instant on every call (0..80 µs later, as a thread
 * taken off the CPU between two reads is): only both() gives the two clocks of one instant.
 */
class PreemptedClock extends VirtualClock {
  private k = 0;
  private lag(): number {
    this.k = (this.k * 7 + 3) % 17;
    return (this.k / 16) * 0.08;
  }
  override now(): number {
    return super.now() + this.lag();
  }
  override wall(): number {
    return super.wall() + this.lag();
  }
}

function run(srIntervalMs?: number) {
  const clock = new PreemptedClock(12.345); // starts between two frames
  const sent: { data: Uint8Array; port: number }[] = [];
  const input = {
    kind: 'tone',
    description: 'test',
    status: () => 'open',
    lastError: () => null,
    open: async () => {},
    read: (n: number) => new Int16Array(n * 2),
    counters: () => ({}),
    close: async () => {},
  } as unknown as AudioInput;
  const s = new OutStream({
    id: 't',
    name: 't',
    group: '239.255.9.9',
    port: 5004,
    ttl: 1,
    format: { encoding: 'L16', rate: RATE, channels: 2, payloadType: 127 },
    framesPerPacket: 240,
    sap: false,
    rtcp: true,
    input,
    clock,
    log: createLogger({ level: 'error' }),
    cname: 'test@host',
    sender: {
      address: '127.0.0.1',
      send: (data, _g, port) => sent.push({ data: data.slice(), port }),
      close: async () => {},
      errors: () => 0,
    },
    ...(srIntervalMs !== undefined ? { srIntervalMs } : {}),
  });
  s.start();
  clock.advance(20_000);
  s.stop();
  const srs = sent
    .filter((d) => d.port === 5005)
    .flatMap((d) => {
      const r = parseRtcp(d.data);
      return r.ok ? r.rtcp.senderReports : [];
    });
  return srs;
}

test('every SR carries a whole frame at its exact wall instant on the pacing line (within 2 µs: NTP and double precision), however far apart two clock reads fall', () => {
  for (const interval of [1000, 1000.013, 997.77]) {
    const srs = run(interval);
    assert.ok(srs.length >= 19, `${srs.length} SRs`);
    // The virtual clock has no skew: every SR's wall instant minus its frames' nominal duration
    // since the first SR is one constant.
    const offs = srs.map((sr) => sr.wallMs - (((sr.rtpTimestamp - srs[0]!.rtpTimestamp) >>> 0) * 1000) / RATE);
    const spreadUs = (Math.max(...offs) - Math.min(...offs)) * 1000;
    assert.ok(spreadUs < 2, `interval ${interval} ms: SRs ${spreadUs.toFixed(2)} µs off one line`);
  }
});

// RFC 3550's reduced minimum, at least 250 ms: a joining player waits for its first SR on arrivals
// (see stream.ts). An SR every second took 1–2 s of a join in virtual time.
test('SRs every 250 ms for 48 kHz stereo (RFC 3550 reduced minimum: 360 / kbit/s), slower for thinner streams', () => {
  const srs = run();
  // The last SR rides with the BYE of stop(), at once.
  const gaps = srs.slice(1, -1).map((sr, i) => sr.wallMs - srs[i]!.wallMs);
  assert.ok(srs.length >= 79, `${srs.length} SRs in 20 s`);
  for (const g of gaps) assert.ok(Math.abs(g - 250) < 1, `${g} ms between SRs`);
  assert.is(srIntervalFor({ encoding: 'L16', rate: 48000, channels: 2, payloadType: 96 }), 250);
  assert.is(srIntervalFor({ encoding: 'L16', rate: 48000, channels: 1, payloadType: 96 }), 469);
  assert.is(srIntervalFor({ encoding: 'L16', rate: 16000, channels: 1, payloadType: 96 }), 1407);
});

test.run();
