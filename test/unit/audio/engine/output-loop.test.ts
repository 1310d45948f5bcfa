// The output loop against the simulated DAC in virtual time: the wall instant the loop renders each
// block for (from the DacClock) must be the instant the DAC really plays it, at any rate offset;
// the FIFO never runs dry; a lost and restored DAC starts a new epoch and the loop follows.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../../../device/core/clock.ts';
import { memoryLogger } from '../../../../device/core/log.ts';
import { createSimDac } from '../../../../device/hal/audio-out.sim.ts';
import { OutputLoop, type Renderer } from '../../../../device/audio/engine/output-loop.ts';
import { DacClock } from '../../../../device/audio/engine/dac-clock.ts';
import type { RenderInfo } from '../../../../device/audio/types.ts';

/** A renderer that remembers the wall instant each block was asked for, and tags blocks with it. */
function recorder(): Renderer & { asked: number[] } {
  const asked: number[] = [];
  return {
    asked,
    render(out: Int16Array, firstFrameWallMs: number): RenderInfo {
      asked.push(firstFrameWallMs);
      out.fill(1);
      return { rtpTimeAtStart: asked.length, syncErrorUs: 0, concealedFrames: 0, silentFrames: 0, leadMs: 0 };
    },
  };
}

/**
 * Ticks at jittery instants (1–5 ms apart), as a busy event loop gives them. Perfectly regular
 * ticks at a whole number of frames would sample the DAC at one phase only, and no estimator can
 * see a sub-frame offset or a 1 ppm rate from that.
 */
function runJittery(clock: VirtualClock, loop: OutputLoop, ms: number): void {
  let seed = 7 + Math.round(clock.now());
  const end = clock.now() + ms;
  while (clock.now() < end) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    clock.advance(1 + ((seed >>> 12) % 4000) / 1000);
    loop.tick();
  }
}

for (const ppm of [0, 80, -120, 1000, -1000]) {
  test(`DAC at ${ppm} ppm: predicted block instants match the DAC's true ones within 5 µs after 2 s`, async () => {
    const clock = new VirtualClock(0);
    const dac = createSimDac({ device: 'sim', clock, log: memoryLogger(), ppm, bufferMs: 20 });
    await dac.open({ rate: 48000, channels: 2 });
    const r = recorder();
    const loop = new OutputLoop({ clock, sink: dac, rate: 48000, channels: 2, blockFrames: 240, newDacClock: () => new DacClock(48000) });
    loop.setRenderer(r);
    runJittery(clock, loop, 20_000);
    assert.is(dac.underruns(), 0, 'no underrun');
    let worst = 0;
    for (const rec of dac.records) {
      if (rec.rtpTimeAtStart === null || rec.wallMs - dac.records[0]!.wallMs < 2000) continue;
      worst = Math.max(worst, Math.abs(r.asked[rec.rtpTimeAtStart - 1]! - rec.wallMs) * 1000);
    }
    assert.ok(worst < 5, `worst block instant error ${worst.toFixed(2)} µs`);
    assert.ok(Math.abs(loop.dacClock().ppm() - ppm) < 1, `rate estimate ${loop.dacClock().ppm().toFixed(2)} ppm`);
    await dac.close();
  });
}

test('a DAC lost and restored: blocks keep being rendered while lost, a new epoch re-converges', async () => {
  const clock = new VirtualClock(0);
  const dac = createSimDac({ device: 'sim', clock, log: memoryLogger(), ppm: 80, bufferMs: 20, retryMinMs: 200, retryMaxMs: 200 });
  const events: string[] = [];
  dac.listen({ lost: () => events.push('lost'), restored: () => events.push('restored') });
  await dac.open({ rate: 48000, channels: 2 });
  const r = recorder();
  const loop = new OutputLoop({ clock, sink: dac, rate: 48000, channels: 2, blockFrames: 240, newDacClock: () => new DacClock(48000) });
  loop.setRenderer(r);
  runJittery(clock, loop, 3000);
  dac.unplug();
  const before = r.asked.length;
  runJittery(clock, loop, 1000);
  const whileLost = r.asked.length - before;
  assert.ok(Math.abs(whileLost - 200) <= 6, `the stream clock kept running: ${whileLost} blocks in 1 s`);
  dac.plug();
  runJittery(clock, loop, 5000);
  assert.equal(events, ['lost', 'restored']);
  const epoch = dac.records.at(-1)!.epoch;
  assert.is(epoch, 2);
  let worst = 0;
  for (const rec of dac.records) {
    if (rec.epoch !== 2 || rec.rtpTimeAtStart === null || rec.wallMs - dac.records.find((x) => x.epoch === 2)!.wallMs < 2000) continue;
    worst = Math.max(worst, Math.abs(r.asked[rec.rtpTimeAtStart - 1]! - rec.wallMs) * 1000);
  }
  assert.ok(worst < 5, `back in step after the restore (${worst.toFixed(2)} µs)`);
  await dac.close();
});

test("a DAC reopened under a playing stream (its sink process restarted): the new epoch's blocks carry the audio due at their instants, and nothing rendered while it was gone ran past the reopen", async () => {
  // The speaker sink's process killed mid-play (the rooms bench's step scenario): before, the
  // loop wrote the new epoch's first buffer as silence (no DAC reading yet: NaN instants) and,
  // while the device was gone, rendered (and discarded) a whole buffer ahead, audio the player
  // no longer had when the device came back.
  const clock = new VirtualClock(0);
  const dac = createSimDac({ device: 'sim', clock, log: memoryLogger(), ppm: 80, bufferMs: 200, retryMinMs: 300, retryMaxMs: 300 });
  await dac.open({ rate: 48000, channels: 2 });
  const r = recorder();
  const loop = new OutputLoop({ clock, sink: dac, rate: 48000, channels: 2, blockFrames: 240, newDacClock: () => new DacClock(48000) });
  loop.setRenderer(r);
  runJittery(clock, loop, 6000);
  dac.unplug();
  dac.plug(); // back at the next retry, 300 ms on
  runJittery(clock, loop, 3000);
  const firstNew = dac.records.find((x) => x.epoch === 2)!;
  // Every instant asked for before the new epoch's first block lies before that block plays (+ one tick's lead).
  const askedBefore = r.asked.slice(0, firstNew.rtpTimeAtStart! - 1);
  const ahead = Math.max(...askedBefore.slice(-80)) - firstNew.wallMs;
  assert.ok(ahead <= 15, `rendered ${ahead.toFixed(1)} ms past the reopen while the device was gone`);
  // The new epoch starts with silence until its first DAC reading (output-loop.ts says why); from
  // then on every block carries the audio due at its instant.
  let worst = 0;
  let withAudio = 0;
  for (const rec of dac.records) {
    if (rec.epoch !== 2 || rec.rtpTimeAtStart === null) continue;
    const asked = r.asked[rec.rtpTimeAtStart - 1];
    if (asked === undefined || !Number.isFinite(asked)) continue;
    withAudio++;
    worst = Math.max(worst, Math.abs(asked - rec.wallMs) * 1000);
  }
  assert.ok(withAudio > 100, `the new epoch plays the stream (${withAudio} blocks)`);
  assert.ok(worst < 50, `new epoch's blocks rendered for their instants within ${worst.toFixed(1)} µs`);
  await dac.close();
});

test.run();
