import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRtcp, buildSenderReport, buildBye, ntpToWallMs, wallMsToNtp } from '../../../../device/audio/packets/rtcp.ts';
import { parseRtp } from '../../../../device/audio/packets/rtp.ts';
import { hexDatagrams } from '../fixtures.ts';

test('ffmpeg sender report: SSRC and RTP time match its RTP stream', () => {
  const [sr] = hexDatagrams('ffmpeg-rtcp-sr.hex');
  const [rtp] = hexDatagrams('ffmpeg-pt96-tone.hex');
  const r = parseRtcp(sr!);
  const p = parseRtp(rtp!);
  assert.ok(r.ok && p.ok);
  if (!r.ok || !p.ok) return;
  assert.is(r.rtcp.senderReports.length, 1);
  const s = r.rtcp.senderReports[0]!;
  assert.is(s.ssrc, p.packet.ssrc);
  assert.is(s.rtpTimestamp, p.packet.timestamp);
  // Captured in late 2026 by this machine's clock: a plausible wall time.
  assert.ok(s.wallMs > Date.UTC(2020, 0, 1) && s.wallMs < Date.UTC(2040, 0, 1));
});

test('NTP ↔ wall milliseconds round trip to well under a microsecond', () => {
  for (const ms of [0, 1.5, 1_700_000_000_000.123, 1_795_598_774_199.763]) {
    const n = wallMsToNtp(ms);
    assert.ok(Math.abs(ntpToWallMs(n.seconds, n.fraction) - ms) < 1e-3, String(ms));
  }
});

test('SR + SDES build and parse; BYE compound', () => {
  const d = buildSenderReport({
    ssrc: 42,
    wallMs: 1_700_000_000_000.5,
    rtpTimestamp: 0xffffff00,
    packetCount: 7,
    octetCount: 9000,
    cname: 'pi@kitchen',
  });
  const r = parseRtcp(d);
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(r.rtcp.types, [200, 202]);
  const s = r.rtcp.senderReports[0]!;
  assert.is(s.ssrc, 42);
  assert.is(s.rtpTimestamp, 0xffffff00);
  assert.is(s.packetCount, 7);
  assert.ok(Math.abs(s.wallMs - 1_700_000_000_000.5) < 1e-3);
  assert.equal(r.rtcp.cnames, [{ ssrc: 42, cname: 'pi@kitchen' }]);
  const b = parseRtcp(buildBye({ ssrc: 42, wallMs: 0, rtpTimestamp: 0, packetCount: 0, octetCount: 0 }));
  assert.ok(b.ok);
  if (b.ok) assert.equal(b.rtcp.byes, [42]);
});

test('bad RTCP: reasons; trouble after a good packet keeps the good one', () => {
  const sr = buildSenderReport({ ssrc: 1, wallMs: 0, rtpTimestamp: 0, packetCount: 0, octetCount: 0 });
  assert.is(parseRtcp(new Uint8Array(0)).ok, false);
  assert.is(parseRtcp(sr.subarray(0, 20)).ok, false);
  const wrongV = Buffer.from(sr);
  wrongV[0] = 0x40;
  assert.is(parseRtcp(wrongV).ok, false);
  const trailing = Buffer.concat([sr, Buffer.from([0x80, 200, 0, 50])]);
  const r = parseRtcp(trailing);
  assert.ok(r.ok);
  if (r.ok) {
    assert.is(r.rtcp.senderReports.length, 1);
    assert.is(r.rtcp.trailingError, 'short-packet');
  }
});

test.run();
