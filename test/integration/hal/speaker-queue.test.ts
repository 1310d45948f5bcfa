// The writer's queue depth between two DAC readings: a DAC keeps playing between the sink
// process's reports (every 30–50 ms, later when one is skipped), so what the writer may add
// (writable()) grows with the time since the last reading. Counting only the last reading kept
// up to a report interval less than bufferMs queued: with the default 40 ms a true-time DAC
// (test/helpers/true-dac) ran dry 12–74 times a minute in the rooms bench.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { RealClock } from '../../../device/core/clock.ts';
import { memoryLogger } from '../../../device/core/log.ts';
import { createSpeakerSink } from '../../../device/hal/audio-out.speaker.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const child = fileURLToPath(new URL('../../fixtures/speaker-child-slow.ts', import.meta.url));

test('between readings the DAC is taken to keep playing: 30 ms after a reading, about 30 ms more may be written', async () => {
  const clock = new RealClock();
  const sink = createSpeakerSink({ device: 'scripted', clock, log: memoryLogger(), bufferMs: 40, childScript: child });
  try {
    await sink.open({ rate: 48000, channels: 2 });
    assert.is(sink.status(), 'open', sink.lastError() ?? '');
    const block = new Int16Array(240 * 2);
    const fill = () => {
      while (sink.writable() >= 240) sink.write(block, { rtpTimeAtStart: null });
    };
    // Wait for a first reading (the child reports every 300 ms), then for the next one, so that
    // the reading is fresh: fill the queue right after it.
    for (const t0 = Date.now(); sink.position().framesConsumed === 0 && Date.now() - t0 < 2000; await sleep(5)) fill();
    const seen = sink.position().wallMs;
    for (const t0 = Date.now(); sink.position().wallMs === seen && Date.now() - t0 < 2000; await sleep(2)) fill();
    fill();
    const at = sink.position().wallMs;
    assert.ok(sink.writable() < 240, 'full right after the reading');
    await sleep(30);
    assert.is(sink.position().wallMs, at, 'no new reading meanwhile (the test needs the gap)');
    const more = sink.writable();
    const elapsed = clock.wall() - at;
    // The DAC played `elapsed` ms since the reading: that much room, within a block and a tick.
    assert.ok(more >= ((elapsed - 10) * 48000) / 1000, `${more} frames writable ${elapsed.toFixed(1)} ms after the reading`);
    assert.ok(more <= ((elapsed + 10) * 48000) / 1000 + 240, `${more} frames writable ${elapsed.toFixed(1)} ms after the reading`);
  } finally {
    await sink.close();
  }
});

test.run();
