import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRtp, buildRtp } from '../../../../device/audio/packets/rtp.ts';
import { hexDatagrams } from '../fixtures.ts';

test('PulseAudio module-rtp-send packet: PT 127, 317 stereo frames, marker on the first', () => {
  const pkts = hexDatagrams('pulseaudio-rtp-send-pt127.hex').map((d) => parseRtp(d));
  assert.is(pkts.length, 5);
  const first = pkts[0]!;
  assert.ok(first.ok);
  if (!first.ok) return;
  assert.is(first.packet.payloadType, 127);
  assert.is(first.packet.marker, true);
  assert.is(first.packet.payload.length, 317 * 4);
  assert.is(first.packet.csrc.length, 0);
  for (let i = 1; i < pkts.length; i++) {
    const p = pkts[i]!;
    assert.ok(p.ok);
    if (!p.ok || !first.ok) return;
    assert.is(p.packet.marker, false);
    assert.is(p.packet.ssrc, first.packet.ssrc);
    assert.is(p.packet.sequence, (first.packet.sequence + i) & 0xffff);
    assert.is((p.packet.timestamp - first.packet.timestamp) >>> 0, 317 * i);
  }
});

test('ffmpeg and GStreamer packets: PT 96, frame counts from payload length', () => {
  const ff = hexDatagrams('ffmpeg-pt96-tone.hex').map((d) => parseRtp(d));
  const frames = ff.map((r) => (r.ok ? r.packet.payload.length / 4 : -1));
  assert.equal(frames.slice(0, 8), [320, 320, 320, 64, 320, 320, 320, 64]);
  for (let i = 1; i < ff.length; i++) {
    const a = ff[i - 1]!,
      b = ff[i]!;
    if (!a.ok || !b.ok) {
      assert.unreachable('parse failed');
      return;
    }
    assert.is((b.packet.timestamp - a.packet.timestamp) >>> 0, a.packet.payload.length / 4, 'ts advances by frames');
  }
  const gst = hexDatagrams('gstreamer-rtpL16pay-pt96.hex').map((d) => parseRtp(d));
  // rtpL16pay fills to the MTU (347 frames) but sends what its input buffer held (330 here).
  const gstFrames = gst.map((r) => (r.ok && r.packet.payloadType === 96 ? r.packet.payload.length / 4 : -1));
  assert.equal(gstFrames, [347, 347, 330, 347, 347]);
});

test('build → parse round trip with CSRCs, extension, padding, marker', () => {
  const payload = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const d = buildRtp(
    {
      payloadType: 96,
      sequence: 65535,
      timestamp: 0xfffffff0,
      ssrc: 0xdeadbeef,
      marker: true,
      csrc: [1, 2],
      extension: { profile: 0xbede, data: Uint8Array.from([9, 9, 9]) },
      padding: 3,
    },
    payload,
  );
  const r = parseRtp(d);
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.is(r.packet.sequence, 65535);
  assert.is(r.packet.timestamp, 0xfffffff0);
  assert.is(r.packet.ssrc, 0xdeadbeef);
  assert.is(r.packet.marker, true);
  assert.equal(r.packet.csrc, [1, 2]);
  assert.is(r.packet.extensionProfile, 0xbede);
  assert.equal([...r.packet.extensionData!], [9, 9, 9, 0]);
  assert.equal([...r.packet.payload], [...payload]);
});

test('malformed datagrams give reasons, not exceptions', () => {
  const good = buildRtp({ payloadType: 10, sequence: 1, timestamp: 2, ssrc: 3 }, new Uint8Array(8));
  const cases: Array<[Uint8Array, string]> = [
    [good.subarray(0, 11), 'short-header'],
    [Uint8Array.from([0x40, ...good.subarray(1)]), 'bad-version'],
    [Uint8Array.from([0x83, ...good.subarray(1, 16)]), 'short-csrc'],
    [Uint8Array.from([0x90, ...good.subarray(1, 12), 0xbe, 0xde, 0x00, 0x09]), 'short-extension'],
    [Uint8Array.from([0xa0, ...good.subarray(1, 12), 1, 2, 0]), 'bad-padding'],
    [Uint8Array.from([0xa0, ...good.subarray(1, 12), 1, 2, 40]), 'bad-padding'],
    [Uint8Array.from([0x80, 0xc8, ...good.subarray(2)]), 'rtcp-on-rtp-port'],
  ];
  for (const [bytes, reason] of cases) {
    const r = parseRtp(bytes);
    assert.is(r.ok, false, reason);
    if (!r.ok) assert.is(r.reason, reason);
  }
});

test.run();
