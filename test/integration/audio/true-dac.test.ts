// The true-time DAC stand-in (test/helpers/true-dac/) through real ALSA: real players (aplay,
// the `speaker` addon hearth's sink uses) inside processes whose clocks libfaketime shifts in offset
// AND rate (monotonic included). The plugin must pace and stamp on the TRUE clock regardless: its
// recorded start lies between true instants read here, and it plays a second of audio in a true
// second, not in the shifted process's second. Then two such devices, a known offset apart in
// their audio, read as that offset plus their recorded true starts' difference.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTrueDacConf, readRoom, dacErrors, trueNowNs, type DacRun } from '../../helpers/true-dac/true-dac.ts';
import { writeNoise } from '../../helpers/room-observer.ts';
import { LIBFAKETIME } from '../../../bench/lib/rooms-net.ts';

const RATE = 48000;
let dir: string, conf: string;
test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hearth-true-dac-'));
  conf = writeTrueDacConf(dir, [{ name: 'roomA' }, { name: 'roomB' }, { name: 'roomC' }, { name: 'roomD' }]);
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** A process 5 % fast and 100 s ahead, monotonic clock included (libfaketime, DONT_FAKE_MONOTONIC unset). */
const FAST = { LD_PRELOAD: LIBFAKETIME, FAKETIME: '+100 x1.05' };
const SLOW = { LD_PRELOAD: LIBFAKETIME, FAKETIME: '-7 x0.96' };

function run(cmd: string, args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { ...process.env, ALSA_CONFIG_PATH: conf, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d) => (err += d));
    p.once('exit', (code) => (code === 0 ? resolve(trueNowNs()) : reject(new Error(`${cmd} exited ${code}: ${err}`))));
  });
}

function wav(path: string, frames: Int16Array, channels: number): void {
  const b = Buffer.alloc(44 + frames.length * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + frames.length * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(channels, 22);
  b.writeUInt32LE(RATE, 24);
  b.writeUInt32LE(RATE * channels * 2, 28);
  b.writeUInt16LE(channels * 2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(frames.length * 2, 40);
  for (let i = 0; i < frames.length; i++) b.writeInt16LE(frames[i]!, 44 + 2 * i);
  writeFileSync(path, b);
}

test('aplay in a process 5 % fast and 100 s ahead: the DAC starts at a true instant and plays 2 s of frames in 2 true seconds', async () => {
  const frames = new Int16Array(2 * RATE * 2);
  for (let i = 0; i < frames.length; i++) frames[i] = (i * 37) % 20000; // a ramp, checked frame for frame below
  const file = join(dir, 'ramp.wav');
  wav(file, frames, 2);
  const before = trueNowNs();
  const after = await run('aplay', ['-q', '-D', 'roomA', file], FAST);
  const runs = readRoom(dir, 'roomA');
  assert.is(runs.length, 1, 'one run');
  const r = runs[0]!;
  assert.ok(r.t0Ns > before && r.t0Ns < after, `true start ${r.t0Ns} not within [${before}, ${after}] (true CLOCK_MONOTONIC)`);
  assert.is(r.frames.length, 2 * RATE, 'every frame played');
  for (let i = 0; i < r.frames.length; i += 997) assert.is(r.frames[i], frames[2 * i], `frame ${i}`);
  // aplay drains: it exits once the DAC has played its last frame, 2 true seconds after the start
  // (5 % of 2 s is 100 ms: a DAC paced on the shifted clock would finish 95 ms early).
  const playedS = (after - r.t0Ns) / 1e9;
  assert.ok(playedS >= 2 && playedS < 2.06, `aplay drained ${playedS.toFixed(4)} true s after the DAC started`);
});

test("speaker (hearth's sink addon) in a process 4 % slow: an underrun ends the run, the next writes start a new one at a true instant", async () => {
  // Half a second, a true-time pause of 600 ms (the DAC runs dry), half a second more.
  const script = `
    const Speaker = require('speaker');
    const s = new Speaker({ channels: 2, sampleRate: ${RATE}, bitDepth: 16, signed: true, device: 'roomB', samplesPerFrame: 1024 });
    const half = Buffer.alloc(${RATE / 2} * 4, 1);
    s.write(half, () => setTimeout(() => { process.stdout.write('gap'); s.end(half); }, 900));
  `;
  const t0 = trueNowNs();
  const done = await run(process.execPath, ['-e', script], { ...SLOW, NODE_PATH: join(process.cwd(), 'node_modules') });
  const runs = readRoom(dir, 'roomB');
  assert.is(runs.length, 2, `two runs (${runs.map((r) => r.frames.length).join(', ')} frames)`);
  assert.is(runs[0]!.frames.length, RATE / 2);
  assert.is(runs[1]!.frames.length, RATE / 2);
  assert.ok(runs[0]!.t0Ns > t0 && runs[1]!.t0Ns < done);
  // The gap: the second run started after the first had played all of its half second (true time).
  assert.ok(runs[1]!.t0Ns - runs[0]!.t0Ns > 0.5e9 + 0.3e9, `second run ${(runs[1]!.t0Ns - runs[0]!.t0Ns) / 1e6} ms after the first`);
});

test("two devices (clocks +100 s ×1.05 and −7 s ×0.96), B's audio 2.5 ms behind A's: read as 2.5 ms plus their true starts' difference, to a few µs", async () => {
  const noise = join(dir, 'noise.raw');
  writeNoise(noise, 3);
  const delayed = join(dir, 'noise-delayed.raw');
  const { readFileSync } = await import('node:fs');
  const n = readFileSync(noise);
  writeFileSync(delayed, Buffer.concat([Buffer.alloc(120 * 4), n])); // 120 frames = 2500 µs of silence first
  const args = (room: string, f: string) => ['-q', '-D', room, '-t', 'raw', '-f', 'S16_LE', '-r', String(RATE), '-c', '2', f];
  const from = trueNowNs();
  await Promise.all([run('aplay', args('roomC', noise), FAST), run('aplay', args('roomD', delayed), SLOW)]);
  const a = readRoom(dir, 'roomC'),
    b: DacRun[] = readRoom(dir, 'roomD');
  assert.is(a.length, 1);
  assert.is(b.length, 1);
  const errs = dacErrors(a, b, from, trueNowNs(), { monoToWallMs: (ns) => ns / 1e6 }).filter((e) => Number.isFinite(e.errUs));
  assert.ok(errs.length > 50, `${errs.length} readings`);
  const [ra, rb] = [a[0]!, b[0]!];
  for (const e of errs) {
    // A's frame i plays at t0A + i/48000; the same audio is B's frame i + 120, at t0B + (i + 120)/48000.
    const behind = e.errUs - (rb.t0Ns - ra.t0Ns) / 1000;
    assert.ok(
      Math.abs(behind - 2500) < 2,
      `B's audio read ${behind.toFixed(2)} µs behind A's (its true start ${((rb.t0Ns - ra.t0Ns) / 1000).toFixed(1)} µs after A's)`,
    );
  }
});

test.run();
