// Golden datagrams from PipeWire 0.3.65's libpipewire-module-rtp-sink (test/fixtures/rtp/pipewire-*):
// what our parsers, the stream table and the playout engine make of them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRtp, type RtpPacket } from '../../../../device/audio/packets/rtp.ts';
import { parseSap } from '../../../../device/audio/packets/sap.ts';
import { parseSdp } from '../../../../device/audio/packets/sdp.ts';
import { StreamTable } from '../../../../device/audio/player/discovery.ts';
import { Playout } from '../../../../device/audio/engine/playout.ts';
import { VirtualClock } from '../../../../device/core/clock.ts';
import { hexDatagrams } from '../fixtures.ts';

const W0 = 1_700_000_000_000;

function packets(): RtpPacket[] {
  return hexDatagrams('pipewire-rtp-sink-pt127.hex').map((d) => {
    const r = parseRtp(d);
    if (!r.ok) throw new Error(r.reason);
    return r.packet;
  });
}

test('PipeWire RTP: PT 127, 320 stereo frames per packet, no marker, one SSRC, timestamps +320', () => {
  const pkts = packets();
  assert.is(pkts.length, 5);
  for (const [i, p] of pkts.entries()) {
    assert.is(p.payloadType, 127);
    assert.is(p.marker, false);
    assert.is(p.payload.length, 320 * 4);
    assert.is(p.csrc.length, 0);
    assert.is(p.extensionProfile, null);
    assert.is(p.ssrc, pkts[0]!.ssrc);
    assert.is(p.sequence, (pkts[0]!.sequence + i) & 0xffff);
    assert.is((p.timestamp - pkts[0]!.timestamp) >>> 0, 320 * i);
  }
});

test('PipeWire RTP payload: big-endian L16, both channels equal, one unbroken 1 kHz half-scale sine across packets', () => {
  const left: number[] = [];
  for (const p of packets()) {
    const v = new DataView(p.payload.buffer, p.payload.byteOffset, p.payload.byteLength);
    for (let i = 0; i < p.payload.length; i += 4) {
      assert.is(v.getInt16(i, false), v.getInt16(i + 2, false), 'L = R');
      left.push(v.getInt16(i, false));
    }
  }
  // A sampled sine obeys x[n] = 2cos(w)x[n-1] - x[n-2]; rounding to integers leaves ≤ 2 LSB.
  const c = 2 * Math.cos((2 * Math.PI * 1000) / 48000);
  let worst = 0;
  for (let n = 2; n < left.length; n++) worst = Math.max(worst, Math.abs(left[n]! - (c * left[n - 1]! - left[n - 2]!)));
  assert.ok(worst <= 2, `residual ${worst}`);
  const peak = Math.max(...left.map(Math.abs));
  assert.ok(Math.abs(peak - 16384) <= 2, `peak ${peak}`);
});

test('PipeWire SAP: origin 0.0.0.0, hash 0x6745, two announcements then a deletion; SDP names the stream', () => {
  const msgs = hexDatagrams('pipewire-sap.hex').map((d) => {
    const m = parseSap(d);
    if (!m.ok) throw new Error(m.reason);
    return m.message;
  });
  assert.equal(
    msgs.map((m) => m.type),
    ['announce', 'announce', 'delete'],
  );
  assert.ok(msgs.every((m) => m.origin === '0.0.0.0' && m.hash === 0x6745 && !m.ipv6 && m.payloadType === 'application/sdp'));
  const s = parseSdp(msgs[0]!.sdp);
  if (!s.ok) {
    assert.unreachable(s.reason);
    return;
  }
  assert.is(s.stream.name, 'hearth-pw');
  assert.is(s.stream.group, '224.0.0.56');
  assert.is(s.stream.ttl, 1);
  assert.is(s.stream.port, 46162);
  assert.equal(s.stream.format, { encoding: 'L16', rate: 48000, channels: 2, payloadType: 127 });
  // It announces a=ptime:6 but sends 320-frame (6.67 ms) packets: packet size must come from
  // the payload length, never from ptime.
  assert.is(s.stream.ptime, 6);
  assert.match(msgs[0]!.sdp, /a=tool:PipeWire 0\.3\.65\n/);
});

test('PipeWire SAP in the stream table: found by session name; its deletion removes it', () => {
  const [a1, a2, del] = hexDatagrams('pipewire-sap.hex');
  const t = new StreamTable();
  assert.ok(t.sap(a1!, W0));
  assert.ok(t.sap(a2!, W0 + 5000));
  const e = t.resolve({ sap: 'hearth-pw' });
  assert.ok(e);
  assert.equal(
    { group: e!.group, port: e!.port, format: e!.format, sender: e!.sender },
    { group: '224.0.0.56', port: 46162, format: { encoding: 'L16', rate: 48000, channels: 2, payloadType: 127 }, sender: '0.0.0.0' },
  );
  assert.is(t.all().length, 1);
  assert.ok(t.sap(del!, W0 + 6000));
  assert.is(t.resolve({ sap: 'hearth-pw' }), undefined);
  assert.is(t.malformed, 0);
});

test('PipeWire packets in the playout engine with the format its SDP gave: accepted and buffered', () => {
  const sap = parseSap(hexDatagrams('pipewire-sap.hex')[0]!);
  if (!sap.ok) {
    assert.unreachable(sap.reason);
    return;
  }
  const sdp = parseSdp(sap.message.sdp);
  if (!sdp.ok) {
    assert.unreachable(sdp.reason);
    return;
  }
  const p = new Playout({
    clock: new VirtualClock(0, W0),
    latencyMs: 100,
    outputRate: 48000,
    outputChannels: 2,
    format: sdp.stream.format,
  });
  hexDatagrams('pipewire-rtp-sink-pt127.hex').forEach((d, i) => p.pushRtp(d, W0 + (i * 20) / 3));
  const s = p.stats();
  assert.is(s.received, 5);
  assert.is(s.malformed, 0);
  assert.is(s.ssrc, packets()[0]!.ssrc);
  assert.ok(Math.abs(s.bufferMs - (5 * 320) / 48) < 0.01, `buffered ${s.bufferMs} ms`);
});

test.run();
