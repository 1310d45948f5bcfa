// Nothing thrown escapes the parsers, whatever the bytes (fast-check, fixed seed for repeatability).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { parseRtp, buildRtp } from '../../../../device/audio/packets/rtp.ts';
import { parseRtcp, buildSenderReport } from '../../../../device/audio/packets/rtcp.ts';
import { parseSap, buildSap } from '../../../../device/audio/packets/sap.ts';
import { parseSdp } from '../../../../device/audio/packets/sdp.ts';
import { Playout } from '../../../../device/audio/engine/playout.ts';
import { VirtualClock } from '../../../../device/core/clock.ts';
import { hexDatagrams, fixtureText } from '../fixtures.ts';

const seed = 20240601;
const runs = 3000;

// Mutations of a valid datagram reach deeper branches than uniform random bytes do.
function mutated(valid: Uint8Array[]) {
  return fc
    .tuple(
      fc.constantFrom(...valid),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      fc.nat(),
      fc.boolean(),
    )
    .map(([v, edits, cut, doCut]) => {
      const b = Uint8Array.from(v);
      for (const [i, x] of edits) b[i % b.length] = x;
      return doCut ? b.subarray(0, cut % (b.length + 1)) : b;
    });
}
const anyBytes = fc.uint8Array({ maxLength: 2000 });

test('parseRtp never throws, and accepted packets stay inside the datagram', () => {
  const valid = [
    ...hexDatagrams('pulseaudio-rtp-send-pt127.hex'),
    buildRtp(
      { payloadType: 96, sequence: 1, timestamp: 2, ssrc: 3, csrc: [4], extension: { profile: 1, data: new Uint8Array(8) }, padding: 4 },
      new Uint8Array(16),
    ),
  ];
  fc.assert(
    fc.property(fc.oneof(anyBytes, mutated(valid)), (b) => {
      const r = parseRtp(b);
      if (r.ok) {
        assert.ok(r.packet.payload.byteOffset >= b.byteOffset + 12);
        assert.ok(r.packet.payload.byteOffset + r.packet.payload.length <= b.byteOffset + b.length);
      }
    }),
    { seed, numRuns: runs },
  );
});

test('parseRtcp never throws', () => {
  const valid = [
    ...hexDatagrams('ffmpeg-rtcp-sr.hex'),
    buildSenderReport({ ssrc: 1, wallMs: 1e12, rtpTimestamp: 5, packetCount: 1, octetCount: 1, cname: 'x@y' }),
  ];
  fc.assert(
    fc.property(fc.oneof(anyBytes, mutated(valid)), (b) => {
      parseRtcp(b);
    }),
    { seed, numRuns: runs },
  );
});

test('parseSap and parseSdp never throw (bytes and text)', () => {
  const valid = [...hexDatagrams('pulseaudio-sap.hex'), buildSap({ type: 'announce', origin: '1.2.3.4', sdp: fixtureText('ffmpeg.sdp') })];
  fc.assert(
    fc.property(fc.oneof(anyBytes, mutated(valid)), (b) => {
      const r = parseSap(b);
      if (r.ok) parseSdp(r.message.sdp);
    }),
    { seed, numRuns: runs },
  );
  const lines = fc
    .array(
      fc.oneof(
        fc.string(),
        fc.constantFrom(
          'v=0',
          'm=audio 5004 RTP/AVP 96',
          'a=rtpmap:96 L16/48000/2',
          'c=IN IP4 239.1.1.1/1',
          'm=audio -1 RTP/AVP x',
          'a=rtpmap:x',
          'c=',
          'o=',
          'a=ptime:abc',
        ),
      ),
      { maxLength: 12 },
    )
    .map((l) => l.join('\r\n'));
  fc.assert(
    fc.property(lines, (t) => {
      parseSdp(t);
    }),
    { seed, numRuns: runs },
  );
});

test('the playout engine takes any datagram sequence on its RTP and RTCP ports without throwing', () => {
  const valid = [...hexDatagrams('ffmpeg-pt96-tone.hex'), ...hexDatagrams('ffmpeg-rtcp-sr.hex')];
  const W0 = 1_700_000_000_000;
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.oneof(anyBytes, mutated(valid)), fc.boolean(), fc.double({ min: -1e3, max: 1e4, noNaN: false })), {
        maxLength: 40,
      }),
      (seq) => {
        const p = new Playout({
          clock: new VirtualClock(0, W0),
          latencyMs: 20,
          outputRate: 48000,
          outputChannels: 2,
          format: { encoding: 'L16', rate: 48000, channels: 2, payloadType: 96 },
        });
        const out = new Int16Array(480);
        let t = W0;
        for (const [d, rtcp, dt] of seq) {
          t += Number.isFinite(dt) ? dt : 1;
          if (rtcp) p.pushRtcp(d, t);
          else p.pushRtp(d, t);
          p.render(out, t + dt, 48000 + dt);
        }
        const s = p.stats();
        assert.ok(s.received + s.malformed + s.wrongPt + s.foreignSsrc + s.duplicates + s.late <= seq.length);
      },
    ),
    { seed, numRuns: 500 },
  );
});

test.run();
