// ffmpeg's RTP muxer (`ffmpeg -re … -f rtp`) in virtual time, as captured with tcpdump in a
// namespace (ffmpeg 5.1, lavfi input, pkt_size 1292):
// - input blocks of 1024 frames, each released when its FIRST frame is due (-re), as packets of
//   320, 320, 320 and 64 frames sent back to back; the release is late by a little jitter, now
//   and then by ~9 ms (a 30.6 ms gap, then catch-up), and its floor wanders by ±0.25 ms over seconds;
// - RTCP SRs every 5 s whose RTP time is computed from ffmpeg's NTP clock since its first SR, the
//   first SR just before the first packet. So every packet END arrives ~21 ms before the instant
//   the SRs say its last frame was captured.
// Before the fix the player switched from the arrival mapping to those SRs at the second SR: a
// 21 ms re-anchor (fade, jump) in the middle of the tone, and each refit of the arrival hull under
// the wandering pacing stepped the mapping by up to 0.6 ms, which the drift loop answered with a
// resampling-ratio step of hundreds of ppm (−73 dB THD+N around it even with the ratio low-pass).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StreamTiming } from '../../../../device/audio/engine/timing.ts';
import { Playout } from '../../../../device/audio/engine/playout.ts';
import { DacClock } from '../../../../device/audio/engine/dac-clock.ts';
import { SimDac } from '../../../../device/audio/sim/dac.ts';
import { Prng } from '../../../../device/core/prng.ts';
import { buildRtp } from '../../../../device/audio/packets/rtp.ts';
import { buildSenderReport } from '../../../../device/audio/packets/rtcp.ts';
import { thdn, channel } from '../../../../device/audio/analysis.ts';
import { VirtualClock } from '../../../../device/core/clock.ts';
import { dacTick } from '../fixtures.ts';

const RATE = 48000,
  W0 = 1_700_000_000_000,
  TS0 = 874_672_464,
  BLOCK = 1024;

interface Datagram {
  at: number;
  rtcp: boolean;
  data: Buffer;
  ts: number;
  frames: number;
  sr?: { rtp: number; wallMs: number };
}

/** ffmpeg's datagrams over `seconds`, in send order (arrival = send + 0.05 ms on loopback). */
function ffmpegDatagrams(seconds: number, seed = 5): Datagram[] {
  const rnd = new Prng(seed);
  const out: Datagram[] = [];
  const ssrc = 0xffa0_0001;
  let seq = 2889;
  const sr = (wall: number, pc: number) => {
    const rtp = (TS0 + Math.round(((wall - W0) * RATE) / 1000)) >>> 0;
    out.push({
      at: wall + 0.05,
      rtcp: true,
      ts: rtp,
      frames: 0,
      sr: { rtp, wallMs: wall },
      data: buildSenderReport({ ssrc, wallMs: wall, rtpTimestamp: rtp, packetCount: pc, octetCount: pc * 1280 }),
    });
  };
  sr(W0 - 0.4, 0);
  let nextSr = W0 + 5020,
    packets = 0;
  const pay = Buffer.alloc(320 * 4);
  for (let b = 0; (b * BLOCK) / RATE < seconds; b++) {
    const due = W0 + (b * BLOCK * 1000) / RATE;
    const wander = 0.25 * Math.sin((2 * Math.PI * (due - W0)) / 6000) + 0.15 * Math.sin((2 * Math.PI * (due - W0)) / 2300);
    const stall = rnd.next() < 0.03 ? 9 : 0;
    const sent = due + 0.3 + wander + rnd.next() * 0.4 + stall;
    if (sent >= nextSr) {
      sr(nextSr, packets);
      nextSr += 5010;
    }
    for (let off = 0; off < BLOCK; off += 320) {
      const frames = Math.min(320, BLOCK - off);
      for (let i = 0; i < frames; i++) {
        const v = Math.round(16384 * Math.sin((2 * Math.PI * 1000 * (b * BLOCK + off + i)) / RATE));
        pay.writeInt16BE(v, i * 4);
        pay.writeInt16BE(v, i * 4 + 2);
      }
      const ts = (TS0 + b * BLOCK + off) >>> 0;
      out.push({
        at: sent + 0.05,
        rtcp: false,
        ts,
        frames,
        data: buildRtp({ payloadType: 96, sequence: seq++ & 0xffff, timestamp: ts, ssrc }, pay.subarray(0, frames * 4)),
      });
      packets++;
    }
  }
  return out.sort((a, b) => a.at - b.at);
}

test("timing: ffmpeg's SRs (packets arrive 21 ms before their SR capture instant) are rejected; the mapping never jumps", () => {
  const t = new StreamTiming(RATE);
  let now = TS0,
    worstStep = 0,
    rtcpSeen = false,
    srs = 0;
  for (const d of ffmpegDatagrams(16)) {
    // How far one update moves the wall instant of the frame being played about now (100 ms
    // behind the newest packet), once the arrival hull exists (2 s): the served line follows
    // refits continuously (µs); served as jumps, refits moved it by up to 0.6 ms, and the switch
    // to the SR line by 21 ms.
    const playing = now - 0.1 * RATE;
    const before = t.wallOf(playing);
    if (d.rtcp) {
      t.onSenderReport(d.sr!.rtp, d.sr!.wallMs, d.at);
      srs++;
    } else {
      t.onPacket(d.ts + d.frames, d.at);
      now = d.ts + d.frames;
    }
    if (t.source() === 'rtcp') rtcpSeen = true;
    const after = t.wallOf(playing);
    if (before !== null && after !== null && d.at > W0 + 2000) worstStep = Math.max(worstStep, Math.abs(after - before));
  }
  assert.is(srs, 4);
  assert.is(rtcpSeen, false, 'the SRs never steer');
  assert.is(t.source(), 'arrival');
  assert.ok(t.srDelayMs() < -20 && t.srDelayMs() > -22.5, `SR delay ${t.srDelayMs()} ms`);
  assert.ok(worstStep < 0.1, `mapping stepped by ${worstStep} ms`);
});

test("playout: ffmpeg's stream plays clean (no re-anchor after the start, THD+N ≤ −82 dB in every window from 2 s on)", () => {
  const clock = new VirtualClock(0, W0);
  const playout = new Playout({
    clock,
    latencyMs: 100,
    outputRate: RATE,
    outputChannels: 2,
    format: { encoding: 'L16', rate: RATE, channels: 2, payloadType: 96 },
  });
  const dacClock = new DacClock(RATE);
  const dac = new SimDac(RATE, 100, W0);
  const block = new Int16Array(240 * 2);
  const out: number[] = [];
  const ds = ffmpegDatagrams(14);
  const rig = { playout, dac, dacClock, block, out };
  let i = 0;
  for (let tick = W0; tick < W0 + 14000; tick += 2.5) {
    clock.advanceTo(tick - W0);
    for (; i < ds.length && ds[i]!.at <= tick; i++) {
      const d = ds[i]!;
      if (d.rtcp) playout.pushRtcp(d.data, d.at);
      else playout.pushRtp(d.data, d.at);
    }
    dacTick(rig, tick);
  }
  const s = playout.stats();
  assert.is(s.timingSource, 'arrival');
  assert.is(s.reanchors, 0, 're-anchors after the start');
  assert.is(s.concealed, 0);
  assert.is(s.lost, 0);
  let worst = -Infinity,
    at = 0;
  for (let from = 2 * RATE; from + 32768 <= out.length / 2; from += 4800) {
    const r = thdn(channel(out, 2, 0, from, 32768), RATE * 1.0001, { fullScale: 32767 });
    if (r.thdnDb > worst) {
      worst = r.thdnDb;
      at = from / RATE;
    }
  }
  assert.ok(worst <= -82, `worst THD+N ${worst.toFixed(1)} dB in the window at ${at.toFixed(1)} s`);
});

test('good SRs (capture-instant pairing, sender clock within 2 ms) are trusted; hysteresis; reports from the future are not', () => {
  // Packets end-stamped at capture + 0.5 ms network floor; SR wall = capture instant + `offsetMs`.
  const run = (offsets: (sec: number) => number, seconds: number, lead = 0) => {
    const t = new StreamTiming(RATE);
    const sources: Array<string | null> = [];
    for (let k = 0; k * 320 < seconds * RATE; k++) {
      const ts = TS0 + k * 320,
        end = ts + 320;
      const capEnd = W0 + ((end - TS0) * 1000) / RATE;
      t.onPacket(end, capEnd + 0.5);
      if (k % 150 === 75) {
        const sec = (capEnd - W0) / 1000;
        t.onSenderReport(end, capEnd + offsets(sec), capEnd + offsets(sec) - lead + 0.3);
        sources.push(t.source());
      }
    }
    return { t, sources };
  };
  // Our own source's SRs, and a sender clock 2 ms ahead (packets then seem 1.5 ms early): trusted.
  assert.is(run(() => 0, 6).t.source(), 'rtcp');
  assert.is(run(() => 2, 6).t.source(), 'rtcp');
  // Trusted at 2 ms ahead, then 5 ms ahead (inside the keep band of 6 ms): stays trusted.
  assert.ok(run((s) => (s < 3 ? 2 : 5), 8).sources.every((x) => x === 'rtcp'));
  // Not trusted at 5 ms ahead from the start (outside the accept band of 3 ms).
  assert.ok(run(() => 5, 8).sources.every((x) => x === 'arrival'));
  // Trusted, then 10 ms ahead: dropped; back to 1 ms ahead: trusted again.
  const flips = run((s) => (s < 3 ? 0 : s < 6 ? 10 : 1), 9).sources;
  assert.equal(flips, ['rtcp', 'rtcp', 'rtcp', 'arrival', 'arrival', 'arrival', 'rtcp', 'rtcp', 'rtcp']);
  // An SR stamped 10 ms after it arrived (its NTP clock runs ahead of ours) is not trusted, even
  // when its RTP↔NTP pairing matches the packets.
  assert.is(run(() => 0, 6, 10).t.source(), 'arrival');
});

test.run();
