// A sink process that reads snd_pcm_delay but cannot take some readings (a write still in flight
// when it reports, as a child starved of CPU right after a restart is): until its first real
// reading, nothing counts as played. The ring-full fallback (for children WITHOUT delay readings)
// counted bufferMs as played at once and let the writer run past bufferMs on a device with a
// larger ring; in the rooms bench a restarted sink's fresh PulseAudio stream then played its first
// buffer, went silent for ~0.6 s and came back off by milliseconds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { RealClock } from '../../../device/core/clock.ts';
import { memoryLogger } from '../../../device/core/log.ts';
import { createSpeakerSink } from '../../../device/hal/audio-out.speaker.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const child = fileURLToPath(new URL('../../fixtures/speaker-child-busy.ts', import.meta.url));

test('busy reports from a child with delay readings: nothing played, nothing written past bufferMs + slack, until the first reading', async () => {
  const clock = new RealClock();
  const sink = createSpeakerSink({ device: 'scripted', clock, log: memoryLogger(), bufferMs: 100, childScript: child });
  try {
    await sink.open({ rate: 48000, channels: 2 });
    assert.is(sink.status(), 'open', sink.lastError() ?? '');
    const block = new Int16Array(240 * 2);
    const t0 = Date.now();
    // The child reports busy every 20 ms for its first 10 reports (~200 ms).
    while (Date.now() - t0 < 150) {
      while (sink.writable() >= 240) sink.write(block, { rtpTimeAtStart: null });
      assert.is(sink.position().framesConsumed, 0, 'no frame counts as played before a reading');
      await sleep(5);
    }
    assert.ok(sink.framesWritten() <= 4800 + 960 + 240, `written ${sink.framesWritten()} frames, past bufferMs + slack`);
    // Then real readings: frames consumed = accepted − 4800.
    for (const t1 = Date.now(); sink.position().framesConsumed === 0 && Date.now() - t1 < 2000;) await sleep(10);
    assert.is(sink.position().framesConsumed, sink.framesWritten() - 4800);
  } finally {
    await sink.close();
  }
});

test.run();
