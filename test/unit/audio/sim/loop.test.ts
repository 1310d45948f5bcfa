// Whole chain in virtual time: players on one stream with different DAC clocks; the sync error
// between rooms is measured from the simulated DACs' records (analog instant, RTP time carried).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { simulateLoop } from '../../../../device/audio/sim/loop.ts';

test('two rooms, sender +50 ppm, DACs +80/−120 ppm, RTCP: sync p99 ≤ 20 µs, max ≤ 50 µs, join ≤ 2 s, residual ≤ 1 ppm', async () => {
  const r = await simulateLoop({
    seconds: 90,
    seed: 11,
    sender: { ppm: 50, rtcpIntervalMs: 1000 },
    players: [{ dacPpm: 80 }, { dacPpm: -120, joinAtS: 20 }],
  });
  const f = r.figures;
  assert.ok(f.sync_error_p99_us <= 20, `p99 ${f.sync_error_p99_us}`);
  assert.ok(f.sync_error_max_us <= 50, `max ${f.sync_error_max_us}`);
  assert.ok(f.join_to_sync_s <= 2, `join ${f.join_to_sync_s}`);
  assert.ok(f.drift_residual_ppm <= 1, `residual ${f.drift_residual_ppm}`);
  assert.is(f.underruns, 0);
  assert.is(f.reanchors_steady, 0, 'no frame jumps in steady state');
  // The records really are two different DAC clocks: the later player's blocks are not aligned in wall time.
  const [a, b] = r.players;
  assert.ok(a!.wallMs.length > 15000 && b!.wallMs.length > 10000);
  assert.ok(Math.abs(a!.stats.driftPpm - (50 - 80)) < 1, `A corrects ${a!.stats.driftPpm} ppm`);
  assert.ok(Math.abs(b!.stats.driftPpm - (50 + 120)) < 1, `B corrects ${b!.stats.driftPpm} ppm`);
});

// A hearth source's SRs come every 250 ms (48 kHz stereo: source/stream.ts). A joining player plays
// on arrivals until its first trusted SR, then on that one SR at the nominal rate until the next:
// with an SR a second that was 1.06–1.96 s of its join here (sender −130 ppm, six seeds).
test('SRs every 250 ms (a hearth source): a player joining is in sync within 0.5 s, steady p99 unchanged', async () => {
  for (const seed of [11, 12, 13]) {
    const r = await simulateLoop({
      seconds: 40,
      seed,
      sender: { ppm: -130, rtcpIntervalMs: 250 },
      players: [{ dacPpm: 80 }, { dacPpm: -120, joinAtS: 20 + (seed % 4) * 0.23 }],
    });
    assert.ok(r.figures.join_to_sync_s <= 0.5, `seed ${seed}: join ${r.figures.join_to_sync_s} s`);
    assert.ok(r.figures.sync_error_p99_us <= 20, `seed ${seed}: p99 ${r.figures.sync_error_p99_us} µs`);
  }
});

test('100 ms latency, 5 ms jitter, 1 % loss: no underrun, losses concealed, rooms still within 50 µs', async () => {
  const r = await simulateLoop({
    seconds: 60,
    seed: 5,
    sender: { ppm: 50, rtcpIntervalMs: 1000 },
    network: { jitterMs: 5, lossPct: 1 },
    players: [{ dacPpm: 80 }, { dacPpm: -120 }],
  });
  assert.is(r.figures.underruns, 0);
  assert.ok(
    r.players.every((p) => p.stats.lost > 30 && p.stats.concealed > 0),
    'losses happened and were concealed',
  );
  assert.ok(r.figures.sync_error_max_us <= 50, `max ${r.figures.sync_error_max_us}`);
});

test('20 ms latency, no impairment, PulseAudio-sized packets (317 frames) and a 5 ms DAC queue: no underrun', async () => {
  const small = { latencyMs: 20, blockFrames: 120, fifoFrames: 240, tickMs: 1.25 };
  const r = await simulateLoop({
    seconds: 30,
    seed: 2,
    sender: { ppm: -30, rtcpIntervalMs: 1000, framesPerPacket: 317 },
    players: [
      { dacPpm: 80, ...small },
      { dacPpm: -120, ...small },
    ],
  });
  assert.is(r.figures.underruns, 0);
  assert.ok(r.figures.sync_error_max_us <= 50, `max ${r.figures.sync_error_max_us}`);
});

test('residual drift ≤ 1 ppm for DACs over ±1000 ppm; THD+N of the tone through the +300 ppm chain ≤ −90 dB', async () => {
  const r = await simulateLoop({
    seconds: 120,
    seed: 9,
    sender: { ppm: 0, rtcpIntervalMs: 1000 },
    players: [{ dacPpm: 1000 }, { dacPpm: -1000 }, { dacPpm: 300, captureFromS: 60 }],
  });
  assert.ok(r.figures.drift_residual_ppm <= 1, `residual ${r.figures.drift_residual_ppm}`);
  assert.ok(r.figures.thdn_db !== undefined && r.figures.thdn_db <= -90, `THD+N ${r.figures.thdn_db}`);
  assert.is(r.figures.reanchors_steady, 0);
});

test('no RTCP (PulseAudio/GStreamer style): rooms agree from arrivals alone', async () => {
  const r = await simulateLoop({
    seconds: 60,
    seed: 4,
    sender: { ppm: 50, rtcpIntervalMs: 0, framesPerPacket: 317 },
    network: { jitterMs: 1 },
    players: [{ dacPpm: 80 }, { dacPpm: -120, joinAtS: 10 }],
  });
  assert.ok(r.players.every((p) => p.stats.timingSource === 'arrival'));
  assert.ok(r.figures.sync_error_p99_us <= 20, `p99 ${r.figures.sync_error_p99_us}`);
  assert.ok(r.figures.join_to_sync_s <= 2, `join ${r.figures.join_to_sync_s}`);
});

test('sender restart (new SSRC, seq, timestamps after a 40 ms gap): both rooms re-sync within 200 ms', async () => {
  const r = await simulateLoop({
    seconds: 40,
    seed: 8,
    sender: { ppm: 20, rtcpIntervalMs: 1000, restartsAtS: [20] },
    settleS: 25,
    players: [{ dacPpm: 80 }, { dacPpm: -120 }],
  });
  assert.ok(
    r.players.every((p) => p.stats.resyncs === 1),
    'each player followed the restart once',
  );
  // From the new stream's first frame: the latency (100 ms) plus the probation run must fit in 200 ms.
  assert.ok(r.figures.resync_s > 0.05 && r.figures.resync_s <= 0.2, `re-synced after ${r.figures.resync_s} s`);
  assert.ok(r.figures.sync_error_max_us <= 50, `max ${r.figures.sync_error_max_us}`);
});

test('same seed, same run: the simulation is deterministic', async () => {
  const o = { seconds: 5, seed: 3, sender: { ppm: 10 }, network: { jitterMs: 2, lossPct: 2 }, players: [{ dacPpm: 5, tickJitterMs: 0 }] };
  const a = await simulateLoop(o),
    b = await simulateLoop(o);
  assert.equal([...a.players[0]!.rtp.subarray(0, 500)], [...b.players[0]!.rtp.subarray(0, 500)]);
  assert.is(a.players[0]!.stats.lost, b.players[0]!.stats.lost);
});

test.run();
