// One contract suite for every audio-in adapter (rules in device/hal/audio-in.ts): the tone, a
// WAV file, and ALSA capture through `alsa-capture` from a file-backed ALSA device.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RealClock } from '../../../device/core/clock.ts';
import { memoryLogger } from '../../../device/core/log.ts';
import type { AudioInput } from '../../../device/hal/audio-in.ts';
import { createToneInput } from '../../../device/hal/audio-in.tone.ts';
import { createFileInput } from '../../../device/hal/audio-in.file.ts';
import { createAlsaInput } from '../../../device/hal/audio-in.alsa.ts';
import { alsaFiles, type AlsaFiles } from '../../helpers/alsa.ts';
import { wavBytes } from '../../helpers/audio-check.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FMT = { rate: 48000, channels: 2 as const };

/** A ramp: frame i holds (i mod 65536) − 32768 on both channels. */
function ramp(frames: number): Int16Array {
  const s = new Int16Array(frames * 2);
  for (let i = 0; i < frames; i++) s[2 * i] = s[2 * i + 1] = (i % 65536) - 32768;
  return s;
}
/**
 * Among consecutive captured frames (both non-zero: reads are padded with silence when the device
 * has not delivered), the share that step by +1 (mod 2^16) with equal channels: ramp content.
 * Steps between pulls may jump (the capture process keeps only the newest frames), so not all.
 */
function rampShare(s: Int16Array): { share: number; pairs: number } {
  let ok = 0,
    pairs = 0;
  for (let i = 1; i < s.length / 2; i++) {
    if (s[2 * i] === 0 || s[2 * i - 2] === 0) continue;
    pairs++;
    if (s[2 * i] === s[2 * i + 1] && (s[2 * i]! - s[2 * i - 2]! + 65536) % 65536 === 1) ok++;
  }
  return { share: pairs ? ok / pairs : 0, pairs };
}

interface Harness {
  input: AudioInput;
  /** Asserts that `got` (read after open) is this input's content. */
  verify(got: Int16Array[]): void;
  alsa?: AlsaFiles;
  /** For live inputs: make the device absent / present for the next (re)open. */
  absent?(): void;
  present?(): void;
  cleanup(): void;
}

function contract(name: string, make: () => Harness): void {
  const t = suite(`audio-in contract: ${name}`);
  let h: Harness;
  t.before.each(() => {
    h = make();
  });
  t.after.each(async () => {
    await h.input.close();
    h.cleanup();
  });

  t('read returns exactly the frames asked for, before open, while open and after close', async () => {
    assert.is(h.input.read(100).length, 200);
    await h.input.open(FMT);
    for (const n of [1, 240, 317, 1024]) assert.is(h.input.read(n).length, 2 * n);
    await h.input.close();
    assert.is(h.input.read(64).length, 128);
  });

  t('delivers its content, and counts every frame as delivered or padded', async () => {
    await h.input.open(FMT);
    assert.is(h.input.status(), 'open');
    const got: Int16Array[] = [];
    let total = 0;
    // At least 40 pulls; a live device that has not delivered yet (its capture child still starting
    // on a loaded machine) is pulled on, up to 10 s, instead of failing on 200 ms of padding.
    const deadline = Date.now() + 10_000;
    for (let i = 0; i < 40 || (h.input.counters().delivered < 480 && Date.now() < deadline); i++) {
      got.push(h.input.read(240));
      total += 240;
      await sleep(5);
    }
    h.verify(got);
    const c = h.input.counters();
    assert.is(c.delivered + c.padded, total);
    assert.ok(c.delivered > 0);
  });

  t('close is safe twice', async () => {
    await h.input.open(FMT);
    await h.input.close();
    await h.input.close();
    assert.is(h.input.status(), 'closed');
  });

  t('a live device absent at open: silence and the error, then it opens by itself when it appears', async () => {
    if (!h.absent || !h.present) {
      assert.is(h.input.lastError(), null, 'a generated input has no device to lose');
      return;
    }
    h.absent();
    await h.input.open(FMT);
    assert.is(h.input.status(), 'failed');
    assert.ok(h.input.lastError());
    const s = h.input.read(480);
    assert.ok(
      s.every((x) => x === 0),
      'silence while failed',
    );
    assert.ok(h.input.counters().padded >= 480);
    h.present();
    const t0 = Date.now();
    while (h.input.status() !== 'open' && Date.now() - t0 < 8000) await sleep(20);
    assert.is(h.input.status(), 'open');
  });

  t.run();
}

contract('tone', () => ({
  input: createToneInput({ frequency: 1000, amplitude: 0.5 }),
  verify(got) {
    const s = Int16Array.from(got.flatMap((b) => [...b]));
    let crossings = 0,
      peak = 0;
    for (let i = 1; i < s.length / 2; i++) {
      if (s[2 * i - 2]! < 0 && s[2 * i]! >= 0) crossings++;
      peak = Math.max(peak, Math.abs(s[2 * i]!));
      assert.is(s[2 * i], s[2 * i + 1]);
    }
    const seconds = s.length / 2 / 48000;
    assert.ok(Math.abs(crossings / seconds - 1000) < 10, `1 kHz (${(crossings / seconds).toFixed(0)} Hz)`);
    assert.ok(Math.abs(peak - 16384) < 100, `half scale (${peak})`);
  },
  cleanup() {},
}));

contract('WAV file', () => {
  const alsa = alsaFiles();
  const path = join(alsa.dir, 'ramp.wav');
  const content = ramp(48000);
  writeFileSync(path, wavBytes(content, 48000, 2));
  return {
    input: createFileInput({ path, loop: true }),
    verify(got) {
      const s = Int16Array.from(got.flatMap((b) => [...b]));
      assert.equal([...s], [...content.subarray(0, s.length)], 'the file, sample for sample, from its start');
    },
    cleanup: () => alsa.cleanup(),
  };
});

contract('ALSA capture (alsa-capture in a child, file-backed device)', () => {
  const alsa = alsaFiles(['mic']);
  writeFileSync(alsa.inFile, Buffer.from(ramp(10 * 48000).buffer));
  return {
    input: createAlsaInput(
      { device: 'mic' },
      { clock: new RealClock(), log: memoryLogger(), env: alsa.env, retryMinMs: 100, retryMaxMs: 400 },
    ),
    alsa,
    verify(got) {
      // The file device is unpaced and replays (and floods the capture process, so pulls answer
      // late at first); positions are arbitrary, the content must be the ramp.
      const all = Int16Array.from(got.flatMap((b) => [...b]));
      const r = rampShare(all);
      assert.ok(r.pairs >= 240, `reads carry captured audio (${r.pairs} frame pairs)`);
      assert.ok(r.share > 0.9, `captured frames are the ramp from the device (${(100 * r.share).toFixed(1)} %)`);
    },
    absent: () => alsa.setOutputs([]),
    present: () => alsa.setOutputs(['mic']),
    cleanup: () => alsa.cleanup(),
  };
});
