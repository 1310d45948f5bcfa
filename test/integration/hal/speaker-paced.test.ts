// The speaker sink on a device that plays in real time, as a DAC does: ALSA's PulseAudio plugin
// into a PulseAudio null sink (paced by the system clock; libasound2-plugins). What it checks is
// how the sink knows which frame reaches the DAC when: the child reads snd_pcm_delay() (our patch to
// speaker's addon) and the sink reports frames consumed = accepted − queued. On this device
// consumption must follow the wall clock at 48 kHz, and the sink must keep only its `bufferMs`
// queued although the device's own ring is larger (mpg123 asks for 500 ms).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RealClock } from '../../../device/core/clock.ts';
import { memoryLogger } from '../../../device/core/log.ts';
import { createSpeakerSink } from '../../../device/hal/audio-out.speaker.ts';
import { createNetns } from '../../helpers/netns.ts';
import { startPulse } from '../../helpers/pulse.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RATE = 48000;
const BUFFER_MS = 200; // PulseAudio starts a stream once its prebuffer fills: keep well above it

test('speaker sink on a real-time device: consumption follows the wall clock, only bufferMs is queued', async () => {
  const ns = createNetns('hspk');
  const dir = mkdtempSync(join(tmpdir(), 'hearth-paced-'));
  const pa = await startPulse(ns, ['load-module module-null-sink sink_name=dac format=s16le channels=2 rate=48000']);
  const conf = join(dir, 'asound.conf');
  writeFileSync(conf, `</usr/share/alsa/alsa.conf>\npcm.!default { type null }\npcm.paced { type pulse device "dac" }\n`);
  const clock = new RealClock();
  const sink = createSpeakerSink({
    device: 'paced',
    clock,
    log: memoryLogger(),
    env: { ALSA_CONFIG_PATH: conf, PULSE_SERVER: pa.server },
    bufferMs: BUFFER_MS,
  });
  try {
    await sink.open({ rate: RATE, channels: 2 });
    assert.is(sink.status(), 'open', sink.lastError() ?? '');
    const block = new Int16Array(240 * 2);
    for (let i = 0; i < block.length; i += 2) block[i] = block[i + 1] = Math.round(8000 * Math.sin((2 * Math.PI * 1000 * (i / 2)) / RATE));
    const points: { consumed: number; wall: number; queued: number }[] = [];
    const t0 = Date.now(); // the first write: the DAC cannot have played more than the time since
    while (Date.now() - t0 < 5000) {
      while (sink.writable() >= 240) sink.write(block, { rtpTimeAtStart: null });
      const p = sink.position();
      points.push({ consumed: p.framesConsumed, wall: p.wallMs, queued: sink.framesWritten() - p.framesConsumed });
      await sleep(10);
    }
    assert.is(sink.status(), 'open', sink.lastError() ?? '');
    // Steady state: from 2 s on (PulseAudio has started the stream by then).
    const steady = points.filter((p) => p.wall - points[0]!.wall >= 2000 && p.consumed > 0);
    assert.ok(steady.length > 100, `steady points: ${steady.length}`);
    for (let i = 1; i < points.length; i++) assert.ok(points[i]!.consumed >= points[i - 1]!.consumed, 'frames consumed never go backwards');
    const a = steady[0]!,
      b = steady.at(-1)!;
    const rate = ((b.consumed - a.consumed) * 1000) / (b.wall - a.wall);
    assert.ok(Math.abs(rate - RATE) / RATE < 0.005, `consumption at ${rate.toFixed(0)} frames/s, expected ${RATE} ±0.5 %`);
    // Every reading lies on that line within a few ms (PulseAudio's own timing is coarse).
    const worstMs = Math.max(...steady.map((p) => Math.abs(p.consumed - a.consumed - ((p.wall - a.wall) * RATE) / 1000))) / (RATE / 1000);
    assert.ok(worstMs < 15, `readings stray ${worstMs.toFixed(1)} ms from the wall clock`);
    // Nothing is counted as played before it could have been (a sink assuming the ring size would
    // count the whole ring minus bufferMs as played at once).
    const ahead = Math.max(...points.map((p) => p.consumed / (RATE / 1000) - (p.wall - t0)));
    assert.ok(ahead < 25, `frames counted as played ${ahead.toFixed(0)} ms before their time`);
    // Queued: bufferMs plus the sink's 20 ms slack plus one 40 ms reading period, never the device's whole ring.
    const maxQueuedMs = Math.max(...steady.map((p) => p.queued)) / (RATE / 1000);
    assert.ok(maxQueuedMs < BUFFER_MS + 80, `queued up to ${maxQueuedMs.toFixed(0)} ms (bufferMs ${BUFFER_MS})`);
  } finally {
    await sink.close();
    await pa.stop();
    ns.delete();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
