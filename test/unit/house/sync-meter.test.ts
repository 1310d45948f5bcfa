// The demo's true sync figure (device/house/sync-meter.ts) and the clocks it is measured against
// (device-clock.ts, room-dac.ts), with made-up DAC records and virtual time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { syncOver } from '../../../device/house/sync-meter.ts';
import { DeviceClock } from '../../../device/house/device-clock.ts';
import { roomDac } from '../../../device/house/room-dac.ts';
import { VirtualClock } from '../../../device/core/clock.ts';
import { createLogger } from '../../../device/core/log.ts';
import type { SimBlockRecord } from '../../../device/hal/audio-out.sim.ts';

const RATE = 48_000;

/** Blocks of 240 frames (5 ms) from RTP time rtp0 starting at wall w0, `late` µs after the ideal. */
function room(w0: number, rtp0: number, n: number, lateUs = 0, gapAt?: number): SimBlockRecord[] {
  const out: SimBlockRecord[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      epoch: 1,
      frame: i * 240,
      frames: 240,
      wallMs: w0 + i * 5 + lateUs / 1000,
      rtpTimeAtStart: i === gapAt ? null : (rtp0 + i * 240) >>> 0,
    });
  }
  return out;
}

test('rooms playing the same RTP time at the same instant: spread 0; one 300 µs late: +300 µs', () => {
  const a = room(1000, 5000, 400),
    b = room(1000, 5000, 400),
    c = room(1000, 5000, 400, 300);
  const w = syncOver(
    [
      { room: 'a', records: a },
      { room: 'b', records: b },
      { room: 'c', records: c },
    ],
    RATE,
    1100,
    2900,
  )!;
  assert.ok(w.instants > 15);
  assert.equal(
    w.rooms.map((r) => r.offsetUs),
    [0, 0, -300],
  ); // c plays earlier RTP time at each instant: behind
  assert.is(w.medianSpreadUs, 300);
  assert.is(w.maxSpreadUs, 300);
  assert.is(w.overMsPct, 0);
  const late = room(1000, 5000, 400, 2000); // 2 ms late throughout
  assert.is(
    syncOver(
      [
        { room: 'a', records: a },
        { room: 'c', records: late },
      ],
      RATE,
      1100,
      2900,
    )!.overMsPct,
    100,
  );
});

test('RTP time wrapping past 2^32 in one room does not read as a jump', () => {
  const a = room(1000, 2 ** 32 - 2400, 400),
    b = room(1000, 2 ** 32 - 2400, 400, 50);
  const w = syncOver(
    [
      { room: 'a', records: a },
      { room: 'b', records: b },
    ],
    RATE,
    1001,
    2900,
    1,
  )!;
  assert.is(w.maxSpreadUs, 50);
});

test('a room playing silence at an instant is left out of it, not read as far off', () => {
  const a = room(1000, 0, 400),
    b = room(1000, 0, 400, 0, 40); // b's block at 1200–1205 ms is silence
  const w = syncOver(
    [
      { room: 'a', records: a },
      { room: 'b', records: b },
    ],
    RATE,
    1190,
    1215,
    1,
  )!;
  assert.is(w.instants, 26 - 5);
  assert.is(w.maxSpreadUs, 0);
  assert.is(
    syncOver(
      [
        { room: 'a', records: a },
        { room: 'b', records: [] },
      ],
      RATE,
      1100,
      1200,
    ),
    null,
  );
});

test('a device clock: its OS wall clock is off by the offset, its crystal runs at the rate, timers last ms/k', () => {
  const base = new VirtualClock(0, 1_700_000_000_000);
  const d = new DeviceClock(base, { offsetMs: 40, ppm: 100 });
  assert.is(d.wall() - base.wall(), 40);
  base.advance(10_000);
  assert.ok(Math.abs(d.now() - 10_001) < 1e-6, `${d.now()}`);
  assert.ok(Math.abs(d.wall() - base.wall() - 41) < 1e-6);
  let fired = -1;
  d.setTimeout(() => {
    fired = base.now();
  }, 1000.1);
  base.advance(2000);
  assert.ok(Math.abs(fired - 11_000) < 1e-6, `${fired}`);
});

test("a room DAC plays and records on true time and reports its position in the device's time", async () => {
  const truth = new VirtualClock(0, 1_700_000_000_000);
  const device = new DeviceClock(truth, { offsetMs: -25, ppm: 0 });
  const { sink, dac } = roomDac({ device: 'sim', clock: device, log: createLogger({ level: 'error' }) }, truth, 0);
  await sink.open({ rate: RATE, channels: 2 });
  sink.write(new Int16Array(480), { rtpTimeAtStart: 7 });
  assert.ok(Math.abs(dac.records[0]!.wallMs - (truth.wall() + 1000 / RATE)) < 1e-6, 'recorded in true time (the next frame slot)');
  truth.advance(3);
  assert.is(sink.position().wallMs, truth.wall() - 25, "position in the device's time");
  assert.is(sink.position().framesConsumed, 144);
  await sink.close();
});

test.run();
