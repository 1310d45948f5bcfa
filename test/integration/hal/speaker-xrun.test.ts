// A DAC underrun that the sink process saw (the PCM in its xrun state, which speaker's ALSA output
// recovers from silently on its next write) reaches the sink's count, which the player's state
// (sink.underruns) and its `underrun` event come from: once, not once per reading after it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { RealClock } from '../../../device/core/clock.ts';
import { memoryLogger } from '../../../device/core/log.ts';
import { createSpeakerSink } from '../../../device/hal/audio-out.speaker.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const child = fileURLToPath(new URL('../../fixtures/speaker-child-xrun.ts', import.meta.url));

test('an xrun the sink process saw is counted once', async () => {
  const sink = createSpeakerSink({ device: 'scripted', clock: new RealClock(), log: memoryLogger(), bufferMs: 100, childScript: child });
  try {
    await sink.open({ rate: 48000, channels: 2 });
    assert.is(sink.status(), 'open', sink.lastError() ?? '');
    const block = new Int16Array(240 * 2);
    const seen: number[] = [];
    // The child reports every 20 ms and sees the xrun at its 10th report (~200 ms).
    for (const t0 = Date.now(); Date.now() - t0 < 600; await sleep(5)) {
      while (sink.writable() >= 240) sink.write(block, { rtpTimeAtStart: null });
      seen.push(sink.underruns!());
    }
    assert.is(seen[0], 0);
    assert.is(sink.underruns!(), 1, `underruns over time: ${[...new Set(seen)].join(' ')}`);
    assert.ok(sink.position().framesConsumed > 0);
  } finally {
    await sink.close();
  }
});

test.run();
