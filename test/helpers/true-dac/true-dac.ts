// The true-time DAC stand-in (true-dac.c, an ALSA external I/O plugin) from the TypeScript side:
// build it, write the ALSA config that names one PCM per room, read what each room played, and
// measure the rooms against each other in true time.
// Why: a PulseAudio stream reports its delay up to 1.2 ms off while it settles (~10 s), which
// bounded the rooms bench's floor; a hardware DAC has no such interpolation: its crystal paces the
// frames and snd_pcm_delay is exact to a frame. This plugin is that, on the machine's shared
// CLOCK_MONOTONIC (true time: it reads and sleeps on it by raw system calls, out of libfaketime's
// reach), and it records each run's exact true start, so the analysis needs no recording device.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { coarseLag, fractionalDelay } from '../delay-estimate.ts';
import type { RoomError } from '../room-observer.ts';

const SOURCE = fileURLToPath(new URL('./true-dac.c', import.meta.url));
const CACHE = fileURLToPath(new URL('../../../node_modules/.cache/', import.meta.url));

/** Builds the plugin once per source version (cc, libasound2-dev) into node_modules/.cache; returns the .so path. */
export function buildTrueDac(): string {
  const src = readFileSync(SOURCE);
  const dir = join(CACHE, `hearth-true-dac-${createHash('sha256').update(src).digest('hex').slice(0, 12)}`);
  const so = join(dir, 'libasound_module_pcm_truedac.so');
  if (!existsSync(so)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${so}.${process.pid}.tmp`;
    execFileSync('cc', ['-O2', '-Wall', '-DPIC', '-shared', '-fPIC', '-pthread', '-o', tmp, SOURCE, '-lasound'], { stdio: 'inherit' });
    execFileSync('mv', ['-f', tmp, so]);
  }
  return so;
}

export interface TrueDacRoom {
  name: string;
  /** The DAC's crystal error: it plays rate × (1 + ppm·1e-6) frames per true second. */
  ppm?: number;
}

/** Writes an ALSA config (for ALSA_CONFIG_PATH) with pcm.<room> = a true DAC recording under `dir`; returns its path. */
export function writeTrueDacConf(dir: string, rooms: readonly TrueDacRoom[]): string {
  const so = buildTrueDac();
  const conf = join(dir, 'asound-true-dac.conf');
  const pcms = rooms.map((r) => `pcm.${r.name} { type truedac file "${recordingPrefix(dir, r.name)}" ppm ${r.ppm ?? 0} }`);
  writeFileSync(conf, `</usr/share/alsa/alsa.conf>\npcm.!default { type null }\npcm_type.truedac { lib "${so}" }\n${pcms.join('\n')}\n`);
  return conf;
}

export const recordingPrefix = (dir: string, room: string) => join(dir, `truedac-${room}`);

/** One run of a DAC: `frames` (channel 0) played from true CLOCK_MONOTONIC `t0Ns` at `rate` frames per true second. */
export interface DacRun {
  t0Ns: number;
  rate: number;
  frames: Int16Array;
  /**
   * A run whose process was killed (no `end` line): the frames it had been given after its last
   * position mark, which it played until the kill, as far as they went (silentSpans).
   */
  unmarked?: Int16Array;
}

/** Parses one opening's index (true-dac.c's format) and takes channel 0 of its frames. */
export function parseRecording(idx: string, raw: Buffer): DacRun[] {
  let rate = 0,
    channels = 0,
    ppm = 0;
  const runs: DacRun[] = [];
  let cur: { t0Ns: number; first: number; played: number } | null = null;
  const close = (ended = true) => {
    if (!cur || cur.played <= 0) return;
    const r = rate * (1 + ppm * 1e-6);
    const inRaw = Math.floor(raw.length / (2 * channels)) - cur.first;
    const take = (from: number, n: number) => {
      const f = new Int16Array(Math.max(0, n));
      for (let i = 0; i < f.length; i++) f[i] = raw.readInt16LE((cur!.first + from + i) * channels * 2);
      return f;
    };
    const n = Math.min(cur.played, inRaw);
    runs.push({ t0Ns: cur.t0Ns, rate: r, frames: take(0, n), ...(ended ? {} : { unmarked: take(n, inRaw - n) }) });
  };
  for (const line of idx.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === 'rate') {
      rate = Number(f[1]);
      channels = Number(f[3]);
      ppm = Number(f[5]);
    } else if (f[0] === 'start') {
      close();
      cur = { t0Ns: Number(f[1]), first: Number(f[2]), played: 0 };
    } else if ((f[0] === 'pos' || f[0] === 'end') && cur) {
      cur.played = Number(f[1]);
      if (f[0] === 'end') {
        close();
        cur = null;
      }
    }
  }
  close(false); // a process killed mid-run: up to its last `pos` (and what it had been given after it: `unmarked`)
  if (!(rate > 0 && channels > 0) && runs.length) throw new Error('true-dac index without its rate line');
  return runs;
}

/** Every run a room's DACs played (each sink process opening is a file pair), by true start. */
export function readRoom(dir: string, room: string): DacRun[] {
  const prefix = `truedac-${room}-`;
  const runs: DacRun[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.startsWith(prefix) || !f.endsWith('.idx')) continue;
    const base = join(dir, f.slice(0, -4));
    runs.push(
      ...parseRecording(readFileSync(`${base}.idx`, 'utf8'), existsSync(`${base}.raw`) ? readFileSync(`${base}.raw`) : Buffer.alloc(0)),
    );
  }
  return runs.sort((a, b) => a.t0Ns - b.t0Ns);
}

export interface DacErrorOptions {
  /** Window length in frames (a power of two; default 2048, 42.7 ms at 48 kHz). */
  window?: number;
  /** Widest search (ms) when there is no previous reading (default 300). */
  maxLagMs?: number;
  /** Search around the previous reading (ms; default 3). */
  trackLagMs?: number;
  minCorrelation?: number;
  bandFraction?: number;
  /** True CLOCK_MONOTONIC (ns) to wall ms, for RoomError.wallMs (default: this process's Date.now() − hrtime). */
  monoToWallMs?: (ns: number) => number;
}

const runAt = (runs: readonly DacRun[], tNs: number, spanFrames: number): DacRun | undefined =>
  runs.find((r) => {
    const i = ((tNs - r.t0Ns) * r.rate) / 1e9;
    return i >= 0 && i + spanFrames <= r.frames.length;
  });

/**
 * Room B minus room A in true time (µs; positive: B plays later), one reading per window of A's
 * playing from `fromNs` to `toNs`: A's frames [i, i+N) play from t0A + i/rateA; the same audio is
 * found in B's run around that instant (coarse cross-correlation, then the cross-spectrum's phase
 * slope for the fraction of a frame), at B frame j + δ, played at t0B + (j+δ)/rateB. Each run's
 * start is exact in ns, so no resampling of either room is needed. NaN: A or B not playing there,
 * or not playing the same audio (silence, a gap).
 */
export function dacErrors(a: readonly DacRun[], b: readonly DacRun[], fromNs: number, toNs: number, o: DacErrorOptions = {}): RoomError[] {
  const n = o.window ?? 2048,
    minCorr = o.minCorrelation ?? 0.5,
    band = o.bandFraction ?? 0.8;
  const rate = a[0]?.rate ?? b[0]?.rate ?? 48000;
  const wide = Math.round(((o.maxLagMs ?? 300) * rate) / 1000),
    narrow = Math.max(4, Math.round(((o.trackLagMs ?? 3) * rate) / 1000));
  const toWall = o.monoToWallMs ?? defaultMonoToWall();
  const out: RoomError[] = [];
  const stepNs = (n / rate) * 1e9;
  let prev: number | null = null;
  for (let t = fromNs; t + stepNs <= toNs; t += stepNs) {
    const reading = (errUs: number) => out.push({ wallMs: toWall(t), errUs });
    const ra = runAt(a, t, n);
    if (!ra) {
      reading(NaN);
      prev = null;
      continue;
    }
    const i = Math.ceil(((t - ra.t0Ns) * ra.rate) / 1e9);
    if (i + n > ra.frames.length) {
      reading(NaN);
      prev = null;
      continue;
    }
    const tA = ra.t0Ns + (i / ra.rate) * 1e9;
    const rb = runAt(b, tA, 0);
    if (!rb) {
      reading(NaN);
      prev = null;
      continue;
    }
    const j = Math.floor(((tA - rb.t0Ns) * rb.rate) / 1e9);
    const B = (k: number) => (k >= 0 && k < rb.frames.length ? rb.frames[k]! : 0);
    const x = new Float64Array(n);
    for (let k = 0; k < n; k++) x[k] = ra.frames[i + k]!;
    const centre: number = prev ?? 0,
      span = prev === null ? wide : narrow;
    const c = coarseLag(x, (k) => B(j + centre + k), span);
    const lag: number = centre + c.lag;
    if (!(c.corr >= minCorr) || (prev !== null && Math.abs(c.lag) === span) || j + lag < 0 || j + lag + n > rb.frames.length) {
      reading(NaN);
      prev = null;
      continue;
    }
    const y = new Float64Array(n);
    for (let k = 0; k < n; k++) y[k] = B(j + lag + k);
    const d = j + lag + fractionalDelay(x, y, band);
    reading((rb.t0Ns + (d / rb.rate) * 1e9 - tA) / 1000);
    prev = lag;
  }
  return out;
}

function defaultMonoToWall(): (ns: number) => number {
  const off = Date.now() - Number(process.hrtime.bigint()) / 1e6;
  return (ns) => ns / 1e6 + off;
}

export interface SilentSpan {
  startNs: number;
  endNs: number;
}

/**
 * When a room's DAC played no audio between `fromNs` and `toNs` (true ns): the DAC not running
 * (before a run, between runs: an underrun, a sink restart) and runs of at least `minMs` of
 * zeros in what it played (a player's pre-roll or probe silence; noise has no such runs). A run
 * whose process was killed is taken as playing on until `killedAtNs`, as far as the frames it had
 * been given after its last position mark reach (its marks are 50 ms apart; the kill itself, not
 * its last mark, is when it fell silent), and their zeros count too.
 */
export function silentSpans(
  runs: readonly DacRun[],
  fromNs: number,
  toNs: number,
  o: { minMs?: number; killedAtNs?: number } = {},
): SilentSpan[] {
  const spans: SilentSpan[] = [];
  const add = (a: number, b: number) => {
    const s = Math.max(a, fromNs),
      e = Math.min(b, toNs);
    if (e <= s) return;
    const last = spans.at(-1);
    if (last && s <= last.endNs) last.endNs = Math.max(last.endNs, e);
    else spans.push({ startNs: s, endNs: e });
  };
  let playedTo = -Infinity; // the end of what the DAC has played so far (ns)
  for (const r of [...runs].sort((x, y) => x.t0Ns - y.t0Ns)) {
    const ns = (i: number) => r.t0Ns + (i / r.rate) * 1e9;
    let frames = r.frames;
    const kill = o.killedAtNs;
    if (r.unmarked && kill !== undefined && kill > ns(r.frames.length)) {
      // Played on after its last mark until the kill, as far as it had frames.
      const more = Math.min(r.unmarked.length, Math.floor(((kill - ns(r.frames.length)) * r.rate) / 1e9));
      frames = new Int16Array(r.frames.length + more);
      frames.set(r.frames);
      frames.set(r.unmarked.subarray(0, more), r.frames.length);
    }
    add(Number.isFinite(playedTo) ? playedTo : fromNs, r.t0Ns);
    const minFrames = Math.max(1, Math.round(((o.minMs ?? 1) * r.rate) / 1000));
    for (let i = 0; i < frames.length;) {
      if (frames[i] !== 0) {
        i++;
        continue;
      }
      let j = i;
      while (j < frames.length && frames[j] === 0) j++;
      if (j - i >= minFrames) add(ns(i), ns(j));
      i = j;
    }
    playedTo = Math.max(playedTo, ns(frames.length));
  }
  add(Number.isFinite(playedTo) ? playedTo : fromNs, toNs);
  return spans;
}

/** True CLOCK_MONOTONIC now, ns (this process is never libfaketime-shifted: it is the observer). */
export const trueNowNs = (): number => Number(process.hrtime.bigint());
