// The speaker sink's child process stamps the DAC position it reads. Those stamps must be in the
// player's clock, not in the child's own wall clock: a child started after a wall-clock step
// (NTP stepping the clock, the sink process restarted after a device loss) has a wall clock that
// disagrees with the player's, whose wall clock was fixed at its own start. Stamped in the
// child's wall clock, the DAC seemed to play every frame 50 ms later than it did, and a player
// at a 20 ms latency went silent for good while its state said `playing: true`, sink `open`.
// Here the child's realtime clock is shifted +50 ms with libfaketime (monotonic clock untouched).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { RealClock } from '../../../device/core/clock.ts';
import { memoryLogger } from '../../../device/core/log.ts';
import { createSpeakerSink } from '../../../device/hal/audio-out.speaker.ts';
import { alsaFiles } from '../../helpers/alsa.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

test("a sink process whose wall clock is 50 ms ahead: positions are stamped in the player's clock", async () => {
  assert.ok(existsSync(LIBFAKETIME), `libfaketime (Debian package faketime) at ${LIBFAKETIME}`);
  const alsa = alsaFiles(['dac']);
  const clock = new RealClock();
  const sink = createSpeakerSink({
    device: 'dac',
    clock,
    log: memoryLogger(),
    bufferMs: 40,
    env: { ...alsa.env, LD_PRELOAD: LIBFAKETIME, FAKETIME: '+0.050', DONT_FAKE_MONOTONIC: '1' },
  });
  try {
    await sink.open({ rate: 48000, channels: 2 });
    assert.is(sink.status(), 'open', sink.lastError() ?? '');
    const block = new Int16Array(240 * 2);
    let ahead = -Infinity,
      freshest = Infinity,
      n = 0;
    for (const t0 = Date.now(); Date.now() - t0 < 2000;) {
      while (sink.writable() >= 240) sink.write(block, { rtpTimeAtStart: null });
      const p = sink.position(),
        now = clock.wall();
      if (p.framesConsumed > 0) {
        ahead = Math.max(ahead, p.wallMs - now);
        freshest = Math.min(freshest, now - p.wallMs);
        n++;
      }
      await sleep(10);
    }
    assert.ok(n > 50, `positions read: ${n}`);
    assert.ok(ahead < 2, `a position stamped ${ahead.toFixed(1)} ms in the player's future`);
    // Stamped in the wrong direction (the child's clock subtracted twice), every position would be
    // at least 50 ms old. The freshest of the readings says it, whatever the load: a maximum age
    // would measure how long this machine stalled the child (177 ms once under a full suite).
    assert.ok(freshest < 25, `the freshest position was ${freshest.toFixed(1)} ms old`);
  } finally {
    await sink.close();
    alsa.cleanup();
  }
});

test.run();
