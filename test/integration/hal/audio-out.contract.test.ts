// One contract suite for every audio-out adapter (rules in device/hal/audio-out.ts), run against
// the real `speaker` sink on a file-backed ALSA device and against the simulated DAC (which
// mirrors its bytes through `speaker` to the same kind of device).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { RealClock } from '../../../device/core/clock.ts';
import { memoryLogger } from '../../../device/core/log.ts';
import type { AudioSink } from '../../../device/hal/audio-out.ts';
import { createSpeakerSink } from '../../../device/hal/audio-out.speaker.ts';
import { createSimDac } from '../../../device/hal/audio-out.sim.ts';
import { alsaFiles, type AlsaFiles } from '../../helpers/alsa.ts';
import { waitUntil } from '../../helpers/wait.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = (what: string, fn: () => boolean, timeoutMs = 8000) => waitUntil(what, fn, { timeoutMs, everyMs: 10 });

function block(frames: number, seed: number): Int16Array {
  const b = new Int16Array(frames * 2);
  for (let i = 0; i < b.length; i++) b[i] = ((seed * 7919 + i * 104729) % 65536) - 32768;
  return b;
}
const bytesOf = (b: Int16Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** The child processes of this process running the speaker sink (the test's way of yanking the DAC). */
function sinkChildren(): number[] {
  const out: number[] = [];
  let kids: string[] = [];
  try {
    kids = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').split(/\s+/).filter(Boolean);
  } catch {
    return out;
  }
  for (const k of kids) {
    try {
      if (readFileSync(`/proc/${k}/cmdline`, 'utf8').includes('audio-out.speaker-child')) out.push(Number(k));
    } catch {
      /* gone */
    }
  }
  return out;
}

interface Harness {
  sink: AudioSink;
  alsa: AlsaFiles;
  /** Bytes that reached the ALSA device so far. */
  output(): Buffer;
  /** The device vanishes (and stays away until fix). */
  yank(): void;
  fix(): void;
  /** A device that is absent before open. */
  absentAtStart(): void;
}

type Make = () => Harness;

const makeSpeaker: Make = () => {
  const alsa = alsaFiles(['dac']);
  const sink = createSpeakerSink({
    device: 'dac',
    clock: new RealClock(),
    log: memoryLogger(),
    env: alsa.env,
    bufferMs: 100,
    retryMinMs: 100,
    retryMaxMs: 400,
  });
  return {
    sink,
    alsa,
    output: () => alsa.read('dac'),
    yank: () => {
      alsa.setOutputs([]);
      for (const pid of sinkChildren()) process.kill(pid, 'SIGABRT');
    },
    fix: () => alsa.setOutputs(['dac']),
    absentAtStart: () => alsa.setOutputs([]),
  };
};

const makeSim: Make = () => {
  const alsa = alsaFiles(['mirror']);
  const clock = new RealClock();
  const log = memoryLogger();
  const mirror = createSpeakerSink({ device: 'mirror', clock, log, env: alsa.env, bufferMs: 100 });
  const sink = createSimDac({ device: 'sim0', clock, log, mirror, ppm: 80, bufferMs: 100, retryMinMs: 100, retryMaxMs: 400 });
  return {
    sink,
    alsa,
    output: () => alsa.read('mirror'),
    yank: () => sink.unplug('USB device gone'),
    fix: () => sink.plug(),
    absentAtStart: () => sink.unplug('no such device'),
  };
};

function contract(name: string, make: Make): void {
  const t = suite(`audio-out contract: ${name}`);
  let h: Harness;
  t.before.each(() => {
    h = make();
  });
  t.after.each(async () => {
    await h.sink.close();
    h.alsa.cleanup();
  });

  t('open, write, and every byte reaches the ALSA device in order', async () => {
    assert.is(h.sink.writable(), 0, 'nothing is writable before open');
    await h.sink.open({ rate: 48000, channels: 2 });
    assert.is(h.sink.status(), 'open');
    const blocks = Array.from({ length: 20 }, (_, i) => block(240, i));
    for (const b of blocks) h.sink.write(b, { rtpTimeAtStart: null });
    assert.is(h.sink.framesWritten(), 20 * 240);
    const expected = Buffer.concat(blocks.map(bytesOf));
    // ALSA's file plugin writes whole periods; the last partial one lands on close.
    await h.sink.close();
    assert.is(h.output().length, expected.length);
    assert.ok(h.output().equals(expected), 'device bytes equal the written blocks');
  });

  t('backpressure: writable shrinks by what is written; position never passes what was written', async () => {
    await h.sink.open({ rate: 48000, channels: 2 });
    // The device drains on the real clock between any two reads (a simulated DAC continuously,
    // the speaker at each delay reading), so the two writable() reads are bracketed by position
    // reads: writable may grow back only by what the device consumed in between, never more.
    const before = h.sink.position().framesConsumed;
    const w0 = h.sink.writable();
    assert.ok(w0 >= 240, `room for a block at start (${w0})`);
    h.sink.write(block(240, 1), { rtpTimeAtStart: 1000 });
    const w1 = h.sink.writable();
    const drained = h.sink.position().framesConsumed - before;
    assert.ok(w1 <= w0 - 240 + drained, `writable decreased by the block (${w0} → ${w1}, ${drained} frames played between)`);
    let last = -1;
    for (let i = 0; i < 30; i++) {
      const n = Math.min(240, h.sink.writable());
      if (n > 0) h.sink.write(block(n, i), { rtpTimeAtStart: null });
      const p = h.sink.position();
      assert.ok(p.framesConsumed >= last, 'consumed never decreases');
      assert.ok(p.framesConsumed <= h.sink.framesWritten(), 'consumed never passes written');
      assert.ok(p.epoch >= 1);
      last = p.framesConsumed;
      await sleep(10);
    }
  });

  t('a device absent at open: open resolves, lost once, the clock keeps running, restored when it appears', async () => {
    h.absentAtStart();
    const events: string[] = [];
    h.sink.listen({ lost: (e) => events.push(`lost ${e}`), restored: () => events.push('restored') });
    await h.sink.open({ rate: 48000, channels: 2 });
    await until('lost', () => h.sink.status() === 'lost');
    assert.is(events.filter((e) => e.startsWith('lost')).length, 1);
    assert.ok(h.sink.lastError(), 'the error is reported');
    // The stream clock runs at the nominal rate while the device is gone.
    const room = h.sink.writable();
    assert.ok(room > 0, 'writes are still granted room');
    h.sink.write(block(room, 0), { rtpTimeAtStart: null });
    const p1 = h.sink.position();
    await sleep(200);
    const p2 = h.sink.position();
    const rate = ((p2.framesConsumed - p1.framesConsumed) * 1000) / (p2.wallMs - p1.wallMs);
    assert.ok(
      Math.abs(rate - 48000) < 3000 || p2.framesConsumed === h.sink.framesWritten(),
      `nominal pace while lost (${rate.toFixed(0)} Hz)`,
    );
    await sleep(300);
    assert.is(events.filter((e) => e.startsWith('lost')).length, 1, 'retries do not repeat the lost event');
    h.fix();
    await until('restored', () => h.sink.status() === 'open');
    assert.equal(events.at(-1), 'restored');
    const epoch = h.sink.position().epoch;
    const b = block(240, 9);
    h.sink.write(b, { rtpTimeAtStart: null });
    assert.is(h.sink.position().epoch, epoch);
    await h.sink.close();
    const out = h.output();
    assert.ok(
      out.length >= b.byteLength && out.subarray(out.length - b.byteLength).equals(bytesOf(b)),
      'the block written after restore reached the device',
    );
  });

  t('a device vanishing mid-stream: writes are discarded without throwing, then it comes back in a new epoch', async () => {
    const events: string[] = [];
    h.sink.listen({ lost: () => events.push('lost'), restored: () => events.push('restored') });
    await h.sink.open({ rate: 48000, channels: 2 });
    h.sink.write(block(480, 1), { rtpTimeAtStart: null });
    await sleep(100);
    const epoch1 = h.sink.position().epoch;
    h.yank();
    await until('lost', () => h.sink.status() === 'lost');
    for (let i = 0; i < 5; i++) h.sink.write(block(240, i), { rtpTimeAtStart: null });
    assert.is(h.sink.lostCount(), 1);
    h.fix();
    await until('restored', () => h.sink.status() === 'open');
    assert.equal(events, ['lost', 'restored']);
    assert.ok(h.sink.position().epoch > epoch1, 'a new epoch');
    assert.is(h.sink.framesWritten(), 0, 'frame counts restart with the epoch');
  });

  t('close is safe twice and nothing is reported after it', async () => {
    let events = 0;
    h.sink.listen({ lost: () => events++, restored: () => events++ });
    await h.sink.open({ rate: 48000, channels: 2 });
    await h.sink.close();
    await h.sink.close();
    assert.is(h.sink.status(), 'closed');
    h.sink.write(block(240, 0), { rtpTimeAtStart: null });
    h.yank();
    await sleep(300);
    assert.is(events, 0);
  });

  t.run();
}

contract('speaker (ALSA file device, child process)', makeSpeaker);
contract('simulated DAC (+80 ppm, mirrored through speaker)', makeSim);
