// What reaches the DAC decides a player's output status, in virtual time through the shipped
// output loop, the real Playout and the simulated DAC adapter:
// - a sender whose SRs are 95 ms behind this player's clock at 100 ms latency, inside the SR
//   trust window (capped by the latency): every block is rendered 20 ms ahead (the sink's queue),
//   before its audio arrives, so the DAC gets silence, and the engine's own sync error is ~0 µs
//   (what the state used to report, with `playing: true`). The status must say late;
// - SRs 150 ms behind at 100 ms latency are beyond the cap: arrivals keep charge and it plays;
// - the same sender with truthful SRs plays; a stalled or lost DAC says so; a stream that stops
//   goes idle.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../../../device/core/clock.ts';
import { memoryLogger } from '../../../../device/core/log.ts';
import { createSimDac, type SimDac } from '../../../../device/hal/audio-out.sim.ts';
import { OutputLoop } from '../../../../device/audio/engine/output-loop.ts';
import { OutputMonitor, type OutputReport } from '../../../../device/audio/engine/output-monitor.ts';
import { DacClock } from '../../../../device/audio/engine/dac-clock.ts';
import { Playout } from '../../../../device/audio/engine/playout.ts';
import { buildRtp } from '../../../../device/audio/packets/rtp.ts';
import { buildSenderReport } from '../../../../device/audio/packets/rtcp.ts';

const RATE = 48000,
  F = 240;

async function rig(o: { srOffsetMs: number; stopAtMs?: number; latencyMs?: number }) {
  const clock = new VirtualClock(0);
  const dac = createSimDac({ device: 'sim', clock, log: memoryLogger(), ppm: 0, bufferMs: 20 });
  await dac.open({ rate: RATE, channels: 2 });
  const playout = new Playout({
    clock,
    latencyMs: o.latencyMs ?? 100,
    outputRate: RATE,
    outputChannels: 2,
    format: { encoding: 'L16', rate: RATE, channels: 2, payloadType: 96 },
  });
  const monitor = new OutputMonitor();
  const loop = new OutputLoop({
    clock,
    sink: dac,
    rate: RATE,
    channels: 2,
    blockFrames: 240,
    tickMs: 5,
    newDacClock: () => new DacClock(RATE),
    monitor,
  });
  loop.setRenderer(playout);
  let sent = 0,
    seq = 0,
    nextSr = 0,
    lastPacket = -Infinity;
  const pay = Buffer.alloc(F * 4);
  const reports: Array<{ t: number; r: OutputReport }> = [];
  const run = (ms: number) => {
    for (const end = clock.now() + ms; clock.now() < end;) {
      clock.advance(1);
      const t = clock.now();
      // Packets leave once captured (sender wall = true wall), 0.3 ms on the wire.
      while ((o.stopAtMs === undefined || t < o.stopAtMs) && ((sent + F) * 1000) / RATE <= t) {
        for (let i = 0; i < F; i++) {
          const v = Math.round(12000 * Math.sin((2 * Math.PI * 440 * (sent + i)) / RATE));
          pay.writeInt16BE(v, 4 * i);
          pay.writeInt16BE(v, 4 * i + 2);
        }
        playout.pushRtp(buildRtp({ payloadType: 96, sequence: seq++ & 0xffff, timestamp: sent, ssrc: 5 }, pay), clock.wall() + 0.3);
        sent += F;
        lastPacket = t;
      }
      if (t >= nextSr && sent > 0) {
        // The sender's clock reads `srOffsetMs` off true time when it stamps the SR.
        const rtp = Math.floor((t * RATE) / 1000);
        playout.pushRtcp(
          buildSenderReport({
            ssrc: 5,
            wallMs: clock.wall() - t + (rtp * 1000) / RATE + o.srOffsetMs,
            rtpTimestamp: rtp,
            packetCount: seq,
            octetCount: seq * F * 4,
            cname: 's',
          }),
          clock.wall() + 0.3,
        );
        nextSr += 1000;
      }
      if (t % 5 === 0) loop.tick();
      if (t % 500 === 0) reports.push({ t, r: monitor.report(t, t - lastPacket < 2000, dac.status(), dac.lastError()) });
    }
  };
  return { clock, dac, playout, monitor, run, reports };
}

/** Frames of stream audio the DAC got in the last `ms` of its records. */
function audibleRecords(dac: SimDac, sinceWallMs: number): number {
  return dac.records.filter((r) => r.wallMs >= sinceWallMs && r.rtpTimeAtStart !== null).length;
}

test('SRs 95 ms behind this player at 100 ms latency (trusted): the DAC gets silence, and the status says late, not playing', async () => {
  const r = await rig({ srOffsetMs: -95 });
  r.run(6000);
  const s = r.playout.stats();
  assert.is(s.timingSource, 'rtcp', 'the SRs are trusted (inside the latency)');
  assert.ok(Math.abs(s.syncErrorUs) < 50, `the engine's own error looks fine: ${s.syncErrorUs.toFixed(1)} µs (what the state used to say)`);
  assert.ok(s.late > 100, `packets arrive after their playout instant (late ${s.late})`);
  assert.is(audibleRecords(r.dac, r.clock.wall() - 3000), 0, 'nothing of the stream reached the DAC in the last 3 s');
  const last = r.reports.at(-1)!.r;
  assert.is(last.status, 'late', last.reason ?? '');
  assert.ok(last.leadMs !== null && last.leadMs < -10, `lead ${last.leadMs} ms`);
  assert.is(last.syncErrorUs, null, 'no sync error without audio at the DAC');
  assert.is(last.audible, 0);
});

test("SRs 150 ms behind this player at 100 ms latency: beyond the trust window's cap, so arrivals keep charge and it plays", async () => {
  const r = await rig({ srOffsetMs: -150 });
  r.run(6000);
  assert.is(r.playout.stats().timingSource, 'arrival');
  const last = r.reports.at(-1)!.r;
  assert.is(last.status, 'playing', last.reason ?? '');
  assert.ok(audibleRecords(r.dac, r.clock.wall() - 3000) > 500);
});

test('truthful SRs: buffering during the pre-roll, then playing, with the sync error of the audio written', async () => {
  const r = await rig({ srOffsetMs: 0 });
  r.run(6000);
  const first = r.reports.find((x) => x.r.status !== 'idle' && x.r.status !== 'buffering');
  assert.ok(first && first.t <= 1500, `playing by ${first?.t} ms`);
  const last = r.reports.at(-1)!.r;
  assert.is(last.status, 'playing', last.reason ?? '');
  assert.ok(last.audible > 0.99, `audible ${last.audible}`);
  assert.ok(last.syncErrorUs !== null && Math.abs(last.syncErrorUs) < 50, `sync error ${last.syncErrorUs}`);
  assert.ok(last.leadMs !== null && last.leadMs > 50, `lead ${last.leadMs} ms`);
  assert.ok(audibleRecords(r.dac, r.clock.wall() - 3000) > 500);
  assert.is(r.monitor.lateBlocks, 0);
});

test('the DAC lost: sink-lost, blocks counted as dropped; back: playing again', async () => {
  const r = await rig({ srOffsetMs: 0 });
  r.run(3000);
  r.dac.unplug('gone');
  r.run(1500);
  assert.is(r.reports.at(-1)!.r.status, 'sink-lost');
  assert.ok(r.monitor.droppedBlocks > 100, `dropped ${r.monitor.droppedBlocks}`);
  r.dac.plug();
  r.run(3000);
  assert.is(r.reports.at(-1)!.r.status, 'playing', r.reports.at(-1)!.r.reason ?? '');
});

test('the output loop stalls for 300 ms: blocks reach the DAC late and the status says so', async () => {
  const r = await rig({ srOffsetMs: 0 });
  r.run(3000);
  // A stall: virtual time moves on with no tick (the loop's timer did not fire).
  const m = r.monitor,
    before = m.lateBlocks;
  r.clock.advance(300);
  r.run(200);
  assert.ok(m.lateBlocks > before, `late blocks ${before} -> ${m.lateBlocks}`);
});

test('the sender stops: idle after 2 s', async () => {
  const r = await rig({ srOffsetMs: 0, stopAtMs: 3000 });
  r.run(6000);
  assert.is(r.reports.at(-1)!.r.status, 'idle');
});

test.run();
