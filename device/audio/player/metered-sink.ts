// The player's DAC sink with a level meter on it: every block that is written while the device is
// open goes through the meter on its way to the DAC, so the level is of what the DAC was given —
// after volume, mute, concealment and silence — not of the stream. Blocks a lost device discards
// (audio-out.ts rule 2) are not counted: they reach no DAC.
import { wrapSink, type AudioSink } from '../../hal/audio-out.ts';
import type { LevelMeter } from '../level.ts';

export function meteredSink(sink: AudioSink, meter: () => LevelMeter | undefined): AudioSink {
  return wrapSink(sink, {
    write(block, meta) {
      if (sink.status() === 'open') meter()?.add(block);
      sink.write(block, meta);
    },
  });
}
