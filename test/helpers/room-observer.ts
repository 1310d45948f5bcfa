// The true-time observer of rooms in sync (TESTING.md "Clocks that disagree"): one PulseAudio
// (unshifted clock) with a stereo null sink `obs`, and one mono module-remap-sink per room feeding
// obs's left (room 0) or right (room 1) channel. A device plays into its room through ALSA's pulse
// plugin (pcm.<room> { type pulse device "<room>" }, libasound2-plugins), exactly as it would
// into a DAC; `parec` records obs's monitor; delay-estimate.ts cross-correlates left against
// right. Both rooms go through identical paths (plugin, remap sink, the same null sink's mixer),
// so PulseAudio's own latency cancels: only the rooms' difference remains, measured by a clock
// no device can shift.
// Material: seeded noise (writeNoise) identical on both channels, so a stereo stream remixed to
// the mono room is the noise itself, and the correlation has one peak.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { tree } from './proc-stats.ts';
import type { Netns } from './netns.ts';
import { startPulse, type Pulse } from './pulse.ts';
import { channelLags, type LagOptions, type LagReading } from './delay-estimate.ts';
import { Prng } from '../../device/core/prng.ts';

export interface RoomObserver {
  pulse: Pulse;
  /** An ALSA config defining pcm.<room> for each room (and a null default): give it as ALSA_CONFIG_PATH. */
  alsaConf: string;
  env: { ALSA_CONFIG_PATH: string; PULSE_SERVER: string };
  /** Starts recording obs's monitor; stop() returns the interleaved s16 stereo and when (true wall ms) its first frame was captured, near enough. */
  record(): ObserverRecording;
  stop(): Promise<void>;
}

export interface ObserverRecording {
  readonly startedWallMs: number;
  stop(): Promise<{ pcm: Int16Array; startWallMs: number }>;
}

/** Starts the observer's PulseAudio in `ns` with rooms [left, right]. */
export async function startRoomObserver(ns: Netns, rooms: [string, string], dir: string): Promise<RoomObserver> {
  const pulse = await startPulse(ns, [
    'load-module module-null-sink sink_name=obs format=s16le channels=2 rate=48000 channel_map=front-left,front-right',
    `load-module module-remap-sink sink_name=${rooms[0]} master=obs channels=1 channel_map=mono master_channel_map=front-left remix=no`,
    `load-module module-remap-sink sink_name=${rooms[1]} master=obs channels=1 channel_map=mono master_channel_map=front-right remix=no`,
  ]);
  // PulseAudio takes real-time priority for its own threads where it may; the whole daemon gets it
  // here, so a loaded machine delays neither room's mixing.
  for (const pid of tree(pulse.proc.pid!)) {
    try {
      execFileSync('chrt', ['-a', '-r', '-p', '30', String(pid)], { stdio: 'ignore' });
    } catch {
      /* gone */
    }
  }
  const alsaConf = join(dir, 'asound-observer.conf');
  writeFileSync(
    alsaConf,
    `</usr/share/alsa/alsa.conf>\npcm.!default { type null }\n${rooms.map((r) => `pcm.${r} { type pulse device "${r}" }`).join('\n')}\n`,
  );
  return {
    pulse,
    alsaConf,
    env: { ALSA_CONFIG_PATH: alsaConf, PULSE_SERVER: pulse.server },
    record: () => recordMonitor(pulse),
    stop: () => pulse.stop(),
  };
}

function recordMonitor(pulse: Pulse): ObserverRecording {
  const p: ChildProcess = pulse.client('parec', [
    '-d',
    'obs.monitor',
    '--raw',
    '--format=s16le',
    '--rate=48000',
    '--channels=2',
    '--latency-msec=20',
  ]);
  const chunks: Buffer[] = [];
  let err = '';
  let firstAt = NaN;
  const startedWallMs = Date.now();
  p.stdout!.on('data', (d: Buffer) => {
    if (Number.isNaN(firstAt)) firstAt = Date.now() - d.length / 4 / 48;
    chunks.push(d);
  });
  p.stderr!.on('data', (d) => (err += d));
  return {
    startedWallMs,
    stop: () =>
      new Promise((resolve, reject) => {
        p.once('exit', () => {
          const b = Buffer.concat(chunks);
          if (b.length === 0) {
            reject(new Error(`parec recorded nothing: ${err}`));
            return;
          }
          const pcm = new Int16Array(b.length >> 1);
          for (let i = 0; i < pcm.length; i++) pcm[i] = b.readInt16LE(i * 2);
          resolve({ pcm, startWallMs: firstAt });
        });
        p.kill('SIGTERM');
      }),
  };
}

/** `seconds` of seeded noise (−12 dBFS-ish, uniform), identical on both channels, raw s16le stereo 48 kHz. */
export function writeNoise(path: string, seconds: number, seed = 20261207): void {
  const rnd = new Prng(seed);
  const frames = Math.round(seconds * 48000);
  const b = Buffer.alloc(frames * 4);
  for (let i = 0; i < frames; i++) {
    const v = Math.round((rnd.next() * 2 - 1) * 8000);
    b.writeInt16LE(v, 4 * i);
    b.writeInt16LE(v, 4 * i + 2);
  }
  writeFileSync(path, b);
}

export interface RoomError {
  /** True wall time of the window (ms, the observer's clock). */
  wallMs: number;
  /** Room B (right) minus room A (left), µs: positive means B plays later; NaN: no reading (silence, garbage). */
  errUs: number;
}

/** The rooms' error over a recording, one reading per window (42.7 ms by default). */
export function roomErrors(rec: { pcm: Int16Array; startWallMs: number }, o: LagOptions = {}): RoomError[] {
  return channelLags(rec.pcm, o).map((r: LagReading) => ({ wallMs: rec.startWallMs + r.atS * 1000, errUs: r.lagUs }));
}

/** Seconds from `fromWallMs` until the error is within ±limitUs and stays so (every later reading in range, none missing); NaN if never. */
export function settleTime(errs: readonly RoomError[], fromWallMs: number, limitUs = 100): number {
  const after = errs.filter((e) => e.wallMs >= fromWallMs);
  let lastBad = -1;
  after.forEach((e, i) => {
    if (!(Math.abs(e.errUs) <= limitUs)) lastBad = i;
  });
  const first = after[lastBad + 1];
  return first && lastBad < after.length - 1 ? (first.wallMs - fromWallMs) / 1000 : NaN;
}
