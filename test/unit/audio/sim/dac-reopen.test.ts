// A player's DAC reopened mid-play (its sink process killed and replaced, as in the rooms bench's
// step scenario), in virtual time on the shipped Playout, OutputLoop and simulated DAC: the new
// epoch must carry the stream's audio once its first reading places it (a probe's silence, not a
// queue's worth), placed right from its first audible block and without a residue, whatever its
// start-up (engine/output-loop.ts's rules), with the audio lost in the old device played again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { simulateLoop, T0 } from '../../../../device/audio/sim/loop.ts';
import { PROBE_LEAD_MS } from '../../../../device/audio/engine/output-loop.ts';

const REOPEN_S = 9;
const GAP_MS = 25;

// The speaker sink's default queue (40 ms), and 200 ms: then most of the audio queued in the old
// device at its loss never played, and the player must play it again (the jitter buffer's history).
const cases = [
  { queueMs: 40, startLatencyMs: 0 },
  { queueMs: 40, startLatencyMs: 0.6 },
  { queueMs: 40, startLatencyMs: 3 },
  { queueMs: 200, startLatencyMs: 0.6 },
];
for (const { queueMs, startLatencyMs } of cases) {
  test(`${queueMs} ms queue, DAC reopened ${GAP_MS} ms after its loss, its first frame ${startLatencyMs} ms after its first write: audio after the probe, within ½ frame of its instant at once, within 5 µs 0.5 s after`, async () => {
    const r = await simulateLoop({
      seconds: 13,
      seed: 5,
      sender: { ppm: 50, rtcpIntervalMs: 1000 },
      players: [
        { dacPpm: 80, fifoFrames: 48 * queueMs, latencyMs: queueMs + 100 },
        {
          dacPpm: -120,
          fifoFrames: 48 * queueMs,
          latencyMs: queueMs + 100,
          dacReopens: { atS: [REOPEN_S], gapMs: GAP_MS, startLatencyMs },
        },
      ],
    });
    const b = r.players[1]!;
    const lostAt = T0 + REOPEN_S * 1000;
    // Before the reopen B was in step.
    let before = 0;
    for (let i = 0; i < b.wallMs.length; i++)
      if (b.wallMs[i]! > lostAt - 2000 && b.wallMs[i]! < lostAt - 50) before = Math.max(before, Math.abs(b.errorUs[i]!) || Infinity);
    assert.ok(before < 5, `in step before the reopen (${before.toFixed(2)} µs)`);
    // The new epoch's blocks (the old epoch's queued after the loss never played). Its first
    // audio: after the probe's silence (and a block or two until the reading is seen), not a queue
    // (40 or 200 ms) later.
    const from = b.epoch.indexOf(2);
    assert.ok(from > 0, 'a new epoch');
    let first = -1;
    for (let i = from; i < b.wallMs.length; i++)
      if (Number.isFinite(b.errorUs[i]!)) {
        first = i;
        break;
      }
    assert.ok(first >= 0, 'B plays again');
    const silentMs = b.wallMs[first]! - lostAt;
    const probeMs = Math.max(PROBE_LEAD_MS, queueMs / 4);
    assert.ok(
      silentMs <= GAP_MS + startLatencyMs + probeMs + 11,
      `audio ${silentMs.toFixed(1)} ms after the loss (the DAC was back after ${GAP_MS} ms)`,
    );
    // From its first audible block, the readings' accuracy (one reading is good to ½ frame,
    // 10.4 µs); from 0.5 s on, the fit's.
    let early = 0,
      after = 0,
      silentAfter = 0;
    for (let i = first; i < b.wallMs.length; i++) {
      const e = Math.abs(b.errorUs[i]!);
      const t = b.wallMs[i]! - b.wallMs[first]!;
      if (!Number.isFinite(e)) silentAfter++;
      else if (t < 500) early = Math.max(early, e);
      else after = Math.max(after, e);
    }
    assert.ok(early <= 12, `in the first 0.5 s of audio: ${early.toFixed(2)} µs off at worst`);
    assert.ok(after < 5, `from 0.5 s after the first audio: ${after.toFixed(2)} µs off at worst`);
    assert.is(silentAfter, 0, 'no silent block after that');
  });
}

test.run();
