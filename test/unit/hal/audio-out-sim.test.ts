// The simulated DAC keeps its crystal's pace on the monotonic clock (now()), whatever the device's
// wall clock does: a house clock stepping at its lock, or slewing after, moves the wall instants it
// reports (records, position().wallMs) but not which frames have played, and starves nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock } from '../../../device/core/clock.ts';
import { memoryLogger } from '../../../device/core/log.ts';
import { createSimDac } from '../../../device/hal/audio-out.sim.ts';

const RATE = 48000;

/** Every 2.5 ms for `ms`: fills the FIFO with 240-frame blocks, then `onTick` after the step. */
function feed(v: VirtualClock, dac: ReturnType<typeof createSimDac>, ms: number, onTick: () => void = () => {}): void {
  const end = v.now() + ms;
  while (v.now() < end) {
    while (dac.writable() >= 240) dac.write(new Int16Array(480), { rtpTimeAtStart: dac.framesWritten() });
    v.advance(2.5);
    onTick();
  }
}

for (const stepMs of [+30, -30]) {
  test(`a wall-clock step of ${stepMs} ms moves the reported wall instants, not the DAC's pace`, async () => {
    const v = new VirtualClock(0);
    const ppm = 100;
    const dac = createSimDac({ device: 'sim', clock: v, log: memoryLogger(), ppm, bufferMs: 20 });
    await dac.open({ rate: RATE, channels: 2 });
    feed(v, dac, 1000);
    v.wallOffsetMs += stepMs; // the house clock steps at its lock
    // …then slews 0.5 ms over the next second (500 ppm), as HouseClock does.
    let slewed = 0;
    feed(v, dac, 1000, () => {
      const d = Math.min(0.5 - slewed, 2.5 * 500e-6);
      v.wallOffsetMs += d;
      slewed += d;
    });
    feed(v, dac, 1000);
    assert.is(dac.underruns(), 0, 'no underrun');
    const p = dac.position();
    // Slots started by now (the slot playing at the open was taken: one slot of silence first).
    const expect = Math.floor((v.now() * RATE * (1 + ppm / 1e6)) / 1000) + 1 - 1;
    assert.ok(Math.abs(p.framesConsumed - expect) <= 1, `played ${p.framesConsumed} frames by now() ${v.now()}, expected ${expect}`);
    assert.is(p.wallMs, v.wall(), 'position stamped with wall() of the same instant');
    // The newest block: its crystal instant (frame n at n/trueRate from the open), in wall() by the present line.
    const last = dac.records.at(-1)!;
    const lastNow = ((last.frame + 1) * 1000) / (RATE * (1 + ppm / 1e6));
    assert.ok(
      Math.abs(last.wallMs - (lastNow + v.wallOffsetMs)) < 1e-6,
      `last record at wall ${last.wallMs}, expected ${lastNow + v.wallOffsetMs}`,
    );
    assert.ok(Math.abs(dac.wallOfFrame(last.frame) - last.wallMs) < 1e-6, 'wallOfFrame agrees with the record');
    await dac.close();
  });
}

test('position() is dry when every frame written has started playing (the FIFO ran empty)', async () => {
  const v = new VirtualClock(0);
  const dac = createSimDac({ device: 'sim', clock: v, log: memoryLogger(), bufferMs: 20 });
  await dac.open({ rate: RATE, channels: 2 });
  feed(v, dac, 100);
  assert.is(dac.position().dry, false, 'queued frames: not dry');
  v.advance(30); // no writes for longer than the FIFO
  const p = dac.position();
  assert.is(p.framesConsumed, dac.framesWritten());
  assert.is(p.dry, true);
  dac.write(new Int16Array(480), { rtpTimeAtStart: null });
  assert.is(dac.position().dry, false, 'written again');
  await dac.close();
});

test.run();
