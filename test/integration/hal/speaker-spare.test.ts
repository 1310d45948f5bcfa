// The speaker sink's warm spare (device/hal/audio-out.speaker.ts): one extra sink process, addon
// loaded, device closed. Its lifecycle, seen from outside through /proc: which process holds the
// ALSA device (an open descriptor on the file-backed device's output file), and that close()
// leaves no sink process behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { RealClock } from '../../../device/core/clock.ts';
import { memoryLogger } from '../../../device/core/log.ts';
import { createSpeakerSink } from '../../../device/hal/audio-out.speaker.ts';
import { alsaFiles } from '../../helpers/alsa.ts';
import { waitUntil } from '../../helpers/wait.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = (what: string, fn: () => boolean, timeoutMs = 10_000) => waitUntil(what, fn, { timeoutMs, everyMs: 5 });

/** This process's live speaker sink processes. */
function sinkChildren(): number[] {
  let kids: string[] = [];
  try {
    kids = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
  return kids.map(Number).filter((k) => {
    try {
      return readFileSync(`/proc/${k}/cmdline`, 'utf8').includes('audio-out.speaker-child');
    } catch {
      return false;
    }
  });
}

/** Whether process `pid` has `file` open (it holds the ALSA device). */
function holds(pid: number, file: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === file;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('the active sink process killed mid-play: the warm spare opens the device, a new spare follows, close() leaves no sink process', async () => {
  const alsa = alsaFiles(['dac']);
  const file = alsa.outFile('dac');
  const events: string[] = [];
  const sink = createSpeakerSink({ device: 'dac', clock: new RealClock(), log: memoryLogger(), env: alsa.env, bufferMs: 40 });
  sink.listen({ lost: () => events.push('lost'), restored: () => events.push('restored') });
  const block = new Int16Array(240 * 2).fill(1000);
  let writing = true;
  const writer = (async () => {
    while (writing) {
      while (sink.status() === 'open' && sink.writable() >= 240) sink.write(block, { rtpTimeAtStart: null });
      await sleep(2);
    }
  })();
  const seen = new Set<number>();
  try {
    await sink.open({ rate: 48000, channels: 2 });
    assert.is(sink.status(), 'open', sink.lastError() ?? '');
    // One process holds the device, a second (the spare) comes 5 s later and does not.
    await until('a spare beside the active sink process', () => sinkChildren().length === 2, 20_000);
    for (const p of sinkChildren()) seen.add(p);
    await until('the active process wrote to the device', () => alsa.read('dac').length > 0);
    const active = sinkChildren().filter((p) => holds(p, file));
    assert.is(active.length, 1, 'exactly one sink process holds the device');
    const spare = sinkChildren().find((p) => p !== active[0])!;
    assert.not.ok(holds(spare, file), 'the spare has not opened the device');
    await sleep(500); // the spare has loaded the addon by now (it says 'ready')
    const epoch = sink.position().epoch;
    process.kill(active[0]!, 'SIGKILL');
    await until('restored', () => events.includes('restored'));
    assert.equal(events, ['lost', 'restored']);
    assert.ok(sink.position().epoch > epoch, 'a new epoch');
    assert.is(sink.status(), 'open');
    assert.is(sink.lostCount(), 1);
    // The spare took over: it holds the device now, and no other process was forked for it.
    await until('the spare holds the device', () => holds(spare, file));
    assert.not.ok(alive(active[0]!) && holds(active[0]!, file), 'the killed process is gone');
    const bytes = alsa.read('dac').length;
    await until('audio reaches the device again', () => alsa.read('dac').length > bytes);
    // And a new spare is forked after the takeover.
    await until('a new spare', () => sinkChildren().length === 2 && sinkChildren().some((p) => !seen.has(p)), 20_000);
    for (const p of sinkChildren()) seen.add(p);
    assert.ok(sinkChildren().includes(spare), 'the old spare is the active process');
  } finally {
    writing = false;
    await writer;
    await sink.close();
    alsa.cleanup();
  }
  // close() waited for every sink process it started, the spare included.
  assert.equal(sinkChildren(), [], 'no sink process left after close()');
  for (const p of seen) assert.not.ok(alive(p), `sink process ${p} still alive after close()`);
});

test('closed before the spare is forked, or right after: no sink process is left', async () => {
  for (const waitMs of [0, 5200]) {
    const alsa = alsaFiles(['dac']);
    const sink = createSpeakerSink({ device: 'dac', clock: new RealClock(), log: memoryLogger(), env: alsa.env, bufferMs: 40 });
    await sink.open({ rate: 48000, channels: 2 });
    await sleep(waitMs);
    await sink.close();
    alsa.cleanup();
    assert.equal(sinkChildren(), [], `no sink process left after close() ${waitMs} ms after open`);
    await sleep(5500); // nor forked later by a timer that outlived close() (the spare comes 5 s after open)
    assert.equal(sinkChildren(), [], `none forked after close() (${waitMs} ms after open)`);
  }
});

test.run();
