// A demo room's DAC: a simulated DAC whose crystal runs against TRUE time (the process's shared
// monotonic clock), seen by the player through its own device's clock, as a real DAC is.
//
// Why two clocks: the simulated DAC plays and records on the clock it is given. Given the player's
// clock (its house clock), its records would be in that device's estimate of house time, so a room
// following its own offset clock would look perfectly in sync with itself. Here the DAC plays on
// true time, so its records compare rooms in true time (sync-meter.ts), while position() — what
// the player's DAC clock estimator reads — carries the device's wall time at the same instant, as
// the real speaker sink reads its runtime's clock next to snd_pcm_delay().
import type { Clock } from '../core/clock.ts';
import { wrapSink, type AudioSink, type AudioSinkOptions, type SinkPosition } from '../hal/audio-out.ts';
import { createSimDac, type SimDac } from '../hal/audio-out.sim.ts';

export interface RoomDac {
  sink: AudioSink;
  dac: SimDac;
}

/**
 * The sink a demo player gets (`sink`) and the simulated DAC behind it (`dac`, whose records are
 * in true time). `opts.clock` is the player's clock; `trueClock` the demo's shared one.
 */
export function roomDac(opts: AudioSinkOptions, trueClock: Clock, ppm: number): RoomDac {
  const dac = createSimDac({ ...opts, clock: trueClock, ppm });
  const deviceClock = opts.clock;
  const sink = wrapSink(dac, {
    position(): SinkPosition {
      const p = dac.position();
      return { ...p, wallMs: deviceClock.wall() };
    },
  });
  return { sink, dac };
}
