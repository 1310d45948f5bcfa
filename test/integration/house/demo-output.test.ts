// Playing one demo room out loud (`hearth house --output DEVICE [--output-room ROOM]`): the flags
// are checked as the player's config is, the device name reaches the real output path (speaker
// on ALSA, here the file-backed ALSA device of docs/testing.md, as a sound card stands in), and
// the other rooms stay on their simulated DACs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHouse } from '../../helpers/house.ts';
import { alsaFiles } from '../../helpers/alsa.ts';
import { keepRoomOutput } from '../../../device/cli/house.ts';

const root = new URL('../../../', import.meta.url).pathname;

for (const [args, message] of [
  [['--output', 'bad!dev'], /--output "bad!dev" is not an ALSA device name: device must match pattern/],
  [['--output', ''], /--output "" is not an ALSA device name/],
  [['--output', 'default', '--output-room', 'garage'], /--output-room must be one of kitchen, lounge, study, not "garage"/],
] as const) {
  test(`hearth house ${args.join(' ')}: a clear error, exit code 2, nothing started`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-house-out-'));
    try {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'device/cli/main.ts', 'house', '--state-dir', join(dir, 'h'), ...args], {
        cwd: root,
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.is(r.status, 2, r.stdout + r.stderr);
      assert.match(r.stderr, message);
      assert.not.ok(existsSync(join(dir, 'h')), 'no state written');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("a kept config follows this start's output flag, keeping the other output fields", () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-house-out-'));
  try {
    const file = join(dir, 'config.json');
    const cfg = {
      v: 2,
      id: 'study',
      roles: { player: { stream: 'living/music', output: { kind: 'speaker', device: 'hw:1', bufferMs: 60 } } },
    };
    writeFileSync(file, JSON.stringify({ revision: 3, appliedAt: new Date(0).toISOString(), config: cfg }));
    keepRoomOutput(file, { player: { output: { kind: 'sim' } } });
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).config.roles.player.output, { kind: 'sim', bufferMs: 60 });
    writeFileSync(file, JSON.stringify(cfg));
    keepRoomOutput(file, { player: { output: { kind: 'speaker', device: 'default' } } });
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).roles.player.output, { kind: 'speaker', device: 'default', bufferMs: 60 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--output loud --output-room study: the study plays the music through speaker on that ALSA device', async () => {
  const alsa = alsaFiles(['loud']);
  const house = await startHouse({ args: ['--output', 'loud', '--output-room', 'study', '--sync-every', '5'], env: alsa.env });
  try {
    assert.match(house.output(), /out loud {3}study plays on ALSA device "loud"/);
    let s: { sink: { kind: string; device: string; status: string }; level?: { peakDbfs: number[] } } | undefined;
    const t0 = Date.now();
    while (Date.now() - t0 < 60_000) {
      try {
        s = (house.retained('hearth/study/state/player') as { detail: typeof s }).detail;
      } catch {
        /* not yet retained */
      }
      if (s?.sink.status === 'open' && alsa.read('loud').length > 48_000 * 4) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.equal(s?.sink && { kind: s.sink.kind, device: s.sink.device, status: s.sink.status }, {
      kind: 'speaker',
      device: 'loud',
      status: 'open',
    });
    // The music reached the file ALSA wrote: more than a second of it, and not silence.
    const pcm = alsa.read('loud');
    const samples = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length >> 1);
    let peak = 0;
    for (const v of samples) peak = Math.max(peak, Math.abs(v));
    assert.ok(samples.length > 96_000, `${samples.length} samples written`);
    assert.ok(peak > 1000, `peak sample ${peak}`);
    // The other rooms are measured at their simulated DACs; the loud one cannot be.
    const t1 = Date.now();
    while (!/rooms measured at their DACs \(true time[^\n]*kitchen[^\n]*lounge/.test(house.output()) && Date.now() - t1 < 30_000)
      await new Promise((r) => setTimeout(r, 500));
    const line =
      house
        .output()
        .split('\n')
        .filter((l) => l.startsWith('rooms measured'))
        .at(-1) ?? '';
    assert.match(line, /kitchen .*lounge/);
    assert.not.match(line, /study/);
  } finally {
    await house.stop();
    alsa.cleanup();
  }
});

test.run();
