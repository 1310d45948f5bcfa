// The playout engine driven directly: golden packets from real senders, hostile datagrams,
// BYE, formats, volume and mute ramps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Playout } from '../../../../device/audio/engine/playout.ts';
import { DacClock } from '../../../../device/audio/engine/dac-clock.ts';
import { SimDac } from '../../../../device/audio/sim/dac.ts';
import { buildRtp } from '../../../../device/audio/packets/rtp.ts';
import { buildBye, buildSenderReport } from '../../../../device/audio/packets/rtcp.ts';
import { parseSap } from '../../../../device/audio/packets/sap.ts';
import { parseSdp } from '../../../../device/audio/packets/sdp.ts';
import { thdn, channel } from '../../../../device/audio/analysis.ts';
import { VirtualClock } from '../../../../device/core/clock.ts';
import type { StreamFormat } from '../../../../device/audio/types.ts';
import { hexDatagrams, fixtureText, dacTick } from '../fixtures.ts';

const W0 = 1_700_000_000_000;

/** A tone sender and one player with a simulated DAC, stepped in 1 ms virtual ticks. */
function rig(o: { format: StreamFormat; outRate?: number; outCh?: 1 | 2; dacPpm?: number; F?: number; ssrc?: number; netMs?: number }) {
  const clock = new VirtualClock(0, W0);
  const outRate = o.outRate ?? 48000,
    outCh = o.outCh ?? 2;
  const playout = new Playout({ clock, latencyMs: 60, outputRate: outRate, outputChannels: outCh, format: o.format });
  const dacClock = new DacClock(outRate);
  const dac = new SimDac(outRate, o.dacPpm ?? 0, W0 + 5);
  const F = o.F ?? 320,
    ch = o.format.channels,
    rate = o.format.rate;
  const block = new Int16Array(240 * outCh);
  const out: number[] = [];
  let sent = 0,
    seq = 0,
    t = 0;
  const ssrc = o.ssrc ?? 0x1234;
  const rig = { playout, dac, dacClock, block, out };
  const pay = Buffer.alloc(F * ch * 2);
  const step = (ms: number, onTick?: (wall: number) => void) => {
    for (const end = t + ms; t < end; t++) {
      clock.advanceTo(t);
      const wall = W0 + t;
      while (W0 + ((sent + F) * 1000) / rate <= wall) {
        for (let i = 0; i < F; i++) {
          const v = Math.round(20000 * Math.sin((2 * Math.PI * 1000 * (sent + i)) / rate));
          for (let c = 0; c < ch; c++) pay.writeInt16BE(v, (i * ch + c) * 2);
        }
        playout.pushRtp(
          buildRtp({ payloadType: o.format.payloadType, sequence: seq++ & 0xffff, timestamp: sent, ssrc }, pay),
          wall + (o.netMs ?? 0.2),
        );
        sent += F;
      }
      onTick?.(wall);
      if (wall < W0 + 5) continue;
      dacTick(rig, wall);
    }
  };
  return { playout, step, out, clock };
}

const L16_48_2: StreamFormat = { encoding: 'L16', rate: 48000, channels: 2, payloadType: 96 };

test('golden packets: ffmpeg (PT 96, 320/64-frame packets) and PulseAudio (PT 127 from its SAP/SDP) are accepted', () => {
  const clock = new VirtualClock(0, W0);
  const ff = parseSdp(fixtureText('ffmpeg.sdp'));
  assert.ok(ff.ok);
  if (!ff.ok) return;
  const p = new Playout({ clock, latencyMs: 100, outputRate: 48000, outputChannels: 2, format: ff.stream.format });
  hexDatagrams('ffmpeg-pt96-tone.hex').forEach((d, i) => p.pushRtp(d, W0 + i));
  hexDatagrams('ffmpeg-rtcp-sr.hex').forEach((d) => p.pushRtcp(d, W0 + 12));
  let s = p.stats();
  assert.is(s.received, 12);
  assert.is(s.malformed, 0);
  assert.is(s.ssrc, 0xc1c25584);
  const sap = parseSap(hexDatagrams('pulseaudio-sap.hex')[0]!);
  assert.ok(sap.ok);
  if (!sap.ok) return;
  const sdp = parseSdp(sap.message.sdp);
  assert.ok(sdp.ok);
  if (!sdp.ok) return;
  const pa = new Playout({ clock, latencyMs: 100, outputRate: 48000, outputChannels: 2, format: sdp.stream.format });
  hexDatagrams('pulseaudio-rtp-send-pt127.hex').forEach((d, i) => pa.pushRtp(d, W0 + i * 6.6));
  s = pa.stats();
  assert.is(s.received, 5);
  assert.is(s.malformed, 0);
  assert.ok(Math.abs(s.bufferMs - (5 * 317) / 48) < 0.01, `buffered ${s.bufferMs} ms`);
});

test('no format known: static PT 11 plays (44.1 kHz mono → 48 kHz stereo DAC, same tone on both channels)', () => {
  const fmt: StreamFormat = { encoding: 'L16', rate: 44100, channels: 1, payloadType: 11 };
  const r = rig({ format: fmt, dacPpm: 300, F: 441 });
  r.step(3000);
  const s = r.playout.stats();
  assert.equal(s.format, fmt);
  assert.is(s.malformed, 0);
  const from = 48000 * 1.5;
  const left = channel(r.out, 2, 0, from, 65536),
    right = channel(r.out, 2, 1, from, 65536);
  assert.equal([...left.subarray(0, 1000)], [...right.subarray(0, 1000)]);
  const res = thdn(left, 48000 * (1 + 300e-6), { fullScale: 32767 });
  assert.ok(res.thdnDb <= -90, `THD+N ${res.thdnDb}`);
  assert.ok(Math.abs(res.fundamentalHz - 1000) < 1, `tone at ${res.fundamentalHz} Hz`);
});

test('hostile datagrams mixed into a live stream are counted and dropped; the audio stays clean', () => {
  const r = rig({ format: L16_48_2, dacPpm: -150 });
  const good = buildRtp({ payloadType: 96, sequence: 1, timestamp: 0, ssrc: 0x1234 }, new Uint8Array(640));
  const hostile: Uint8Array[] = [
    good.subarray(0, 8), // short
    Uint8Array.from([0x40, ...good.subarray(1)]), // version 1
    Uint8Array.from([0xa0, ...good.subarray(1, 28), 200]), // padding longer than the packet
    Uint8Array.from([0x8f, ...good.subarray(1, 20)]), // 15 CSRCs announced, 2 present
    Uint8Array.from([0x90, ...good.subarray(1, 12), 0, 0, 0xff, 0xff]), // extension longer than the packet
    buildRtp({ payloadType: 0, sequence: 1, timestamp: 0, ssrc: 0x1234 }, new Uint8Array(160)), // wrong PT (PCMU)
    buildRtp({ payloadType: 96, sequence: 1, timestamp: 0, ssrc: 0x1234 }, new Uint8Array(641)), // odd payload
  ];
  let n = 0;
  r.step(8000, (wall) => {
    if (wall % 7 !== 0) return;
    const k = n++;
    if (k % 3 === 0) r.playout.pushRtp(hostile[(k / 3) % hostile.length]!, wall);
    else if (k % 3 === 1)
      r.playout.pushRtp(buildRtp({ payloadType: 96, sequence: k, timestamp: k * 999, ssrc: 0xbad }, new Uint8Array(1280)), wall); // foreign SSRC
    else r.playout.pushRtp(buildRtp({ payloadType: 96, sequence: 7, timestamp: 0x7fff0000 + k, ssrc: 0x1234 }, new Uint8Array(1280)), wall); // absurd ts
  });
  const s = r.playout.stats();
  // One hostile kind in 7 is well-formed with the wrong PT: counted apart from the malformed.
  assert.ok(s.wrongPt >= Math.floor(n / 21), `wrong PT ${s.wrongPt}`);
  assert.ok(s.malformed + s.wrongPt >= 2 * Math.floor(n / 3), `malformed ${s.malformed} + wrong PT ${s.wrongPt}`);
  assert.ok(s.foreignSsrc >= Math.floor(n / 3) - 1, `foreign ${s.foreignSsrc}`);
  assert.is(s.ssrc, 0x1234);
  assert.is(s.resyncs, 0);
  assert.is(s.concealed, 0);
  // Analysed after the drift loop's fast acquisition phase (a few seconds), as in steady play.
  const left = channel(r.out, 2, 0, 48000 * 6, 65536);
  const res = thdn(left, 48000 * (1 - 150e-6), { fullScale: 32767 });
  assert.ok(res.thdnDb <= -90, `THD+N ${res.thdnDb}`);
});

test("wrong payload types are counted (wrongPt), not played: a dynamic PT with no format known, another PT than the stream's", () => {
  const clock = new VirtualClock(0, W0);
  const unknown = new Playout({ clock, latencyMs: 60, outputRate: 48000, outputChannels: 2 });
  for (let i = 0; i < 5; i++)
    unknown.pushRtp(buildRtp({ payloadType: 96, sequence: i, timestamp: i * 320, ssrc: 1 }, new Uint8Array(1280)), W0 + i);
  let s = unknown.stats();
  assert.equal([s.wrongPt, s.malformed, s.received, s.format], [5, 0, 0, null]);
  // A static PT still locks a format-less player; then a dynamic one is the wrong PT.
  unknown.pushRtp(buildRtp({ payloadType: 11, sequence: 9, timestamp: 0, ssrc: 2 }, new Uint8Array(882)), W0 + 10);
  unknown.pushRtp(buildRtp({ payloadType: 96, sequence: 10, timestamp: 441, ssrc: 2 }, new Uint8Array(882)), W0 + 20);
  s = unknown.stats();
  assert.equal([s.wrongPt, s.received, s.format?.payloadType], [6, 1, 11]);
  const known = new Playout({ clock, latencyMs: 60, outputRate: 48000, outputChannels: 2, format: L16_48_2 });
  known.pushRtp(buildRtp({ payloadType: 97, sequence: 1, timestamp: 0, ssrc: 1 }, new Uint8Array(1280)), W0);
  known.pushRtp(buildRtp({ payloadType: 96, sequence: 2, timestamp: 320, ssrc: 1 }, new Uint8Array(1280)), W0 + 7);
  s = known.stats();
  assert.equal([s.wrongPt, s.malformed, s.received], [1, 0, 1]);
});

test('RTCP BYE from the locked sender: the next SSRC locks at once and plays', () => {
  const r = rig({ format: L16_48_2 });
  r.step(1000);
  r.playout.pushRtcp(buildBye({ ssrc: 0x1234, wallMs: W0 + 1000, rtpTimestamp: 48000, packetCount: 150, octetCount: 0 }), W0 + 1000);
  const p2 = buildRtp({ payloadType: 96, sequence: 500, timestamp: 123, ssrc: 0x5678 }, new Uint8Array(1280));
  r.playout.pushRtp(p2, W0 + 1001);
  const s = r.playout.stats();
  assert.is(s.ssrc, 0x5678);
  assert.is(s.resyncs, 1);
});

test('volume and mute ramp: no sample-to-sample step larger than the tone itself makes', () => {
  const r = rig({ format: L16_48_2 });
  // A 1 kHz tone at amplitude 20000 moves at most 2π·1000/48000·20000 ≈ 2618 per sample.
  const maxSlope = (2 * Math.PI * 1000 * 20000) / 48000;
  r.step(1000);
  const mark = r.out.length;
  r.playout.setVolume(0.05, 30);
  r.step(200);
  r.playout.setMuted(true);
  r.step(100);
  const mutedAt = r.out.length;
  r.step(100);
  const mutedEnd = r.out.length;
  r.playout.setMuted(false);
  r.playout.setVolume(1, 20);
  r.step(300);
  const x = channel(r.out, 2, 0, mark / 2);
  let worst = 0;
  for (let i = 1; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - x[i - 1]!));
  assert.ok(worst <= maxSlope * 1.02, `largest step ${worst} vs tone slope ${maxSlope}`);
  const muted = channel(r.out, 2, 0, mutedAt / 2 + 2000, (mutedEnd - mutedAt) / 2 - 2000);
  assert.ok(
    muted.every((v) => v === 0),
    'silent while muted',
  );
  const tail = channel(r.out, 2, 0, r.out.length / 2 - 4800);
  assert.ok(Math.max(...tail) > 19000, 'back to full volume');
});

test('SRs arriving a second after the start (packets 3 ms on the way): the switch from arrival timing re-anchors once, and the error stays under 100 µs from then on', () => {
  // The arrival mapping sits the network's floor (3 ms) late; the SR mapping is the capture
  // instant. Slewing that step took ~2 s with a 200 µs overshoot; one cross-fade takes a block.
  const r = rig({ format: L16_48_2, netMs: 3 });
  const sr = (wall: number) => {
    const ts = Math.floor(((wall - W0) * 48000) / 1000);
    r.playout.pushRtcp(
      buildSenderReport({ ssrc: 0x1234, wallMs: W0 + (ts * 1000) / 48000, rtpTimestamp: ts, packetCount: 0, octetCount: 0, cname: 't' }),
      wall + 3,
    );
  };
  r.step(1500);
  assert.is(r.playout.stats().timingSource, 'arrival');
  const before = r.playout.stats().reanchors;
  let worst = 0;
  r.step(4000, (wall) => {
    if ((wall - W0) % 1000 === 500) sr(wall);
    if (wall - W0 >= 1600) worst = Math.max(worst, Math.abs(r.playout.stats().syncErrorUs));
  });
  const st = r.playout.stats();
  assert.is(st.timingSource, 'rtcp');
  assert.is(st.reanchors, before + 1, 'one re-anchor at the switch');
  assert.ok(worst < 100, `error after the switch up to ${worst.toFixed(1)} µs`);
});

test('render with nothing to play, or a non-finite instant, gives silence and a null RTP time', () => {
  const p = new Playout({ clock: new VirtualClock(0, W0), latencyMs: 100, outputRate: 48000, outputChannels: 2 });
  const out = new Int16Array(480).fill(5);
  let info = p.render(out, W0, 48000);
  assert.ok(out.every((v) => v === 0));
  assert.is(info.rtpTimeAtStart, null);
  assert.is(info.silentFrames, 240);
  info = p.render(out, NaN, 48000);
  assert.is(info.rtpTimeAtStart, null);
  assert.is(p.stats().format, null);
});

test.run();
