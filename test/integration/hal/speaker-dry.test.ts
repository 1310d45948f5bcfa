// A DAC that ran dry, as the speaker sink shows it: the sink process's reading (delay 0) reaches
// the sink after the writer has written more, so its count is below framesWritten() by the time
// the player reads it. Only position().dry then says the count had stopped (audio-out.ts rule 4,
// audio-out.speaker-queue.ts rule 4); the player's DAC fit leaves such a reading out.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { RealClock } from '../../../device/core/clock.ts';
import { memoryLogger } from '../../../device/core/log.ts';
import { createSpeakerSink } from '../../../device/hal/audio-out.speaker.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const child = fileURLToPath(new URL('../../fixtures/speaker-child-dry.ts', import.meta.url));

test('a reading with nothing queued marks the position dry, and it stays dry after more is written, until the next reading', async () => {
  const sink = createSpeakerSink({ device: 'scripted', clock: new RealClock(), log: memoryLogger(), bufferMs: 100, childScript: child });
  try {
    await sink.open({ rate: 48000, channels: 2 });
    assert.is(sink.status(), 'open', sink.lastError() ?? '');
    const block = new Int16Array(240 * 2);
    for (let i = 0; i < 10; i++) sink.write(block, { rtpTimeAtStart: null }); // 50 ms, then nothing
    for (const t0 = Date.now(); !sink.position().dry && Date.now() - t0 < 3000;) await sleep(5);
    const p = sink.position();
    assert.is(p.dry, true, 'the DAC played all it was given');
    assert.is(p.framesConsumed, 2400);
    // The writer refills before the next reading comes: the stopped count is now below the frames
    // written, and only the flag says it stopped.
    sink.write(block, { rtpTimeAtStart: null });
    const after = sink.position();
    assert.ok(after.framesConsumed < sink.framesWritten());
    assert.is(after.dry, true);
    // The next readings find the new block queued or played; queued: not dry.
    for (let i = 0; i < 20; i++) sink.write(block, { rtpTimeAtStart: null });
    for (const t0 = Date.now(); sink.position().dry && Date.now() - t0 < 3000;) await sleep(5);
    assert.is(sink.position().dry, false, 'playing again');
    assert.ok(sink.position().framesConsumed > 2400);
  } finally {
    await sink.close();
  }
});

test.run();
