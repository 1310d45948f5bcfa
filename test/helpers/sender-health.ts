// What a real sender actually delivered, from a UDP tap on the wire (udp-taps.ts), and the player
// judged only where that was clean and on time. Interop tests play a tone from someone else's
// sender (PipeWire, ffmpeg, GStreamer) on a loaded 2-core machine: when the sender itself skips a
// quantum or stalls, the player faithfully plays the glitch, and a tone check on its output then
// says nothing about the player.
//
// Rules:
// - RTP time is the common axis. The tap's packets give what was sent per RTP frame (content) and
//   when it arrived (timing); the simulated DAC's block records (rtpTimeAtStart per block, in
//   written order) map every frame of the mirrored output file back to the RTP frame it played.
// - Sender faults, as RTP frame intervals:
//   · discontinuity: the sent tone breaks. A pure tone obeys x[n] = 2cos(ω)·x[n−1] − x[n−2]; the
//     residual of that prediction is a few LSB for a clean tone (rounding) and ≈ A·Δφ at a phase
//     jump, a skipped or repeated quantum, a run of zeros or a level step, so it is seen whether
//     or not the glitch is silence. ω is fitted on the sent samples.
//   · hole: RTP frames never sent (a timestamp jump or a packet missing on the wire).
//   · late: a packet arrived later than its floor (the lowest arrival − ts/rate within 2 s) by
//     more than the player's budget (latency − what it renders ahead − a packet): it was due
//     before it came, whatever the player did (a stalled sender or machine).
//   · step: the arrival floor moved by > 1.5 ms and stayed (a sender's timing step): the player
//     slews to the new level, or re-anchors on it within ~1 s when the step is too large to slew
//     (arrival-mapping.ts), so the fault lasts 1.5 s from the step.
// - Judged output: every window of the mirrored output (tone analysis as toneOf) over the tone,
//   from a few seconds after the player's first frame of it (its acquisition is not judged here).
//   A window whose RTP span comes within a margin (a fade block and the resampler's reach) of a
//   sender fault is the sender's. Any other bad window is the player's, and fails the test; so
//   does one whose blocks have no RTP time (the player went silent while the sender was fine).
//   Too few windows of clean audio left and the try is repeated with a fresh sender (3 tries).
//   Nothing is excused by the player's own report.
import { writeFileSync, mkdirSync, copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readS16, toneOf, type ToneCheck } from './audio-check.ts';
import type { Dgram, UdpTap } from './udp-taps.ts';
import type { AudioHost } from './audio-hosts.ts';
import { starvedSpans, type Starvation } from './starvation.ts';
import type { SimBlockRecord } from '../../device/hal/audio-out.sim.ts';
import { arrivalStepMs } from '../../device/audio/engine/timing.ts';

const WRAP = 2 ** 32;

export interface SentPacket {
  /** Unwrapped RTP frame of the packet's first frame (tap's timeline: first packet's raw ts + deltas). */
  ts: number;
  frames: number;
  seq: number;
  wallMs: number;
}

export interface SentAudio {
  rate: number;
  channels: number;
  ssrc: number;
  packets: SentPacket[];
  /** First unwrapped frame of `left`, and the raw timestamp it came from (for mapping others' times). */
  ts0: number;
  /** Left channel of what was sent, in RTP order; frames never sent are NaN. */
  left: Float64Array;
}

export interface SenderFault {
  /** 'starved': not the sender's but the machine's (starvation.ts): the player was kept off the CPU. */
  kind: 'discontinuity' | 'hole' | 'late' | 'step' | 'starved';
  /** Unwrapped RTP frames [from, to). */
  from: number;
  to: number;
  what: string;
}

export interface SenderHealth {
  sent: SentAudio;
  /** RTP frames of the tone: first to last sample above the silence level. */
  tone: [number, number];
  faults: SenderFault[];
  /** Largest packet lateness over its floor (ms), and the prediction residual floor (LSB, 99.9th percentile). */
  maxLateMs: number;
  residualLsb: number;
  /** The longest time nothing of this SSRC arrived (ms), and how far into the tone it began (s). */
  silence: { ms: number; atS: number };
  /** One line: the sender's faults with figures, seconds into the tone. */
  summary(): string;
}

/** The RTP packets of one SSRC (the first seen, unless given) of a tap, in arrival order. */
export function sentAudio(dgrams: Dgram[], o: { port: number; rate: number; channels: number; ssrc?: number }): SentAudio {
  const own = dgrams.filter(
    (d) => d.port === o.port && d.data.length >= 12 && d.data[0]! >> 6 === 2 && !(d.data[1]! >= 200 && d.data[1]! <= 204),
  );
  if (own.length === 0) throw new Error(`no RTP tapped on port ${o.port}`);
  const ssrc = o.ssrc ?? own[0]!.data.readUInt32BE(8);
  const mine = own.filter((d) => d.data.readUInt32BE(8) === ssrc);
  if (mine.length === 0) throw new Error(`no RTP of SSRC ${ssrc} tapped on port ${o.port}`);
  const bpf = 2 * o.channels;
  let lastRaw = mine[0]!.data.readUInt32BE(4),
    last = lastRaw;
  const packets: SentPacket[] = [];
  const payloads: Buffer[] = [];
  for (const d of mine) {
    const b = d.data;
    const cc = b[0]! & 0x0f;
    let off = 12 + 4 * cc;
    if (b[0]! & 0x10) off += 4 + 4 * b.readUInt16BE(off + 2);
    let end = b.length;
    if (b[0]! & 0x20) end -= b[b.length - 1]!;
    const raw = b.readUInt32BE(4);
    last += (raw - lastRaw) | 0;
    lastRaw = raw;
    packets.push({ ts: last, frames: Math.floor((end - off) / bpf), seq: b.readUInt16BE(2), wallMs: d.wallMs });
    payloads.push(b.subarray(off, end));
  }
  const ts0 = Math.min(...packets.map((p) => p.ts));
  const span = Math.max(...packets.map((p) => p.ts + p.frames)) - ts0;
  const left = new Float64Array(span).fill(NaN);
  packets.forEach((p, i) => {
    const pl = payloads[i]!;
    for (let f = 0; f < p.frames; f++) left[p.ts - ts0 + f] = pl.readInt16BE(f * bpf);
  });
  return { rate: o.rate, channels: o.channels, ssrc, packets, ts0, left };
}

/** 2cos(ω) of the tone in `x` (least squares of x[n] + x[n−2] = c·x[n−1] over defined, non-silent samples). */
function fitC(x: Float64Array): number {
  let num = 0,
    den = 0;
  for (let n = 2; n < x.length; n++) {
    const a = x[n]!,
      b = x[n - 1]!,
      c = x[n - 2]!;
    if (Number.isNaN(a + b + c)) continue;
    num += (a + c) * b;
    den += b * b;
  }
  return den > 0 ? num / den : 2;
}

/**
 * The sender's faults over its tone (see the rules above). `budgetMs`: how late after its floor a
 * packet may arrive and still be played (the player's latency − its DAC queue − block − packet).
 */
export function senderHealth(sent: SentAudio, o: { budgetMs: number; level?: number; stepMs?: number }): SenderHealth {
  const { left: x, rate, ts0 } = sent;
  const level = o.level ?? 100;
  let a = 0,
    b = x.length;
  while (a < b && !(Math.abs(x[a]!) >= level)) a++;
  while (b > a && !(Math.abs(x[b - 1]!) >= level)) b--;
  const faults: SenderFault[] = [];
  const sec = (ts: number) => ((ts - ts0 - a) / rate).toFixed(2);

  // Content: prediction residual inside the tone; holes are frames never sent.
  const c = fitC(x.subarray(a, b));
  let amp = 0;
  for (let n = a; n < b; n++) if (Math.abs(x[n]!) > amp) amp = Math.abs(x[n]!);
  const res: number[] = [];
  const threshold = Math.max(32, amp * 0.002);
  let holeFrom = -1;
  for (let n = a; n < b; n++) {
    if (Number.isNaN(x[n]!)) {
      if (holeFrom < 0) holeFrom = n;
      continue;
    }
    if (holeFrom >= 0) {
      faults.push({
        kind: 'hole',
        from: ts0 + holeFrom,
        to: ts0 + n,
        what: `${n - holeFrom} frames never sent at ${sec(ts0 + holeFrom)} s`,
      });
      holeFrom = -1;
    }
    if (n < a + 2) continue;
    const r = x[n]! - c * x[n - 1]! + x[n - 2]!;
    if (Number.isNaN(r)) continue;
    res.push(Math.abs(r));
    if (Math.abs(r) > threshold) {
      const prev = faults.at(-1);
      if (prev && prev.kind === 'discontinuity' && n - (prev.to - ts0) < rate / 100) {
        prev.to = ts0 + n + 1;
        continue;
      }
      faults.push({
        kind: 'discontinuity',
        from: ts0 + n - 2,
        to: ts0 + n + 1,
        what: `tone broken at ${sec(ts0 + n)} s (prediction residual ${Math.abs(r).toFixed(0)} LSB, clean < ${threshold.toFixed(0)})`,
      });
    }
  }
  res.sort((p, q) => p - q);
  const residualLsb = res.length ? res[Math.floor(res.length * 0.999)]! : NaN;

  // Timing: lateness over the local floor of d = arrival − ts/rate: its lowest value within 2 s
  // either side. Local, not one line or hull over the capture: a floor that steps late in the
  // capture bent a hull up to its new level and hid the step. Two seconds of a sender's drift
  // (≤ 0.2 ms at 100 ppm) are far below the budget.
  const pk = [...sent.packets].sort((p, q) => p.ts - q.ts);
  const xs = pk.map((p) => p.ts - ts0 + p.frames); // the frame after the packet's last: sent once captured
  const ds = pk.map((p, i) => p.wallMs - (xs[i]! * 1000) / rate);
  const reach = 2 * rate;
  const floor: number[] = [];
  for (let i = 0, lo = 0, hi = 0; i < pk.length; i++) {
    while (xs[lo]! < xs[i]! - reach) lo++;
    while (hi + 1 < pk.length && xs[hi + 1]! <= xs[i]! + reach) hi++;
    let m = Infinity;
    for (let j = lo; j <= hi; j++) m = Math.min(m, ds[j]!);
    floor.push(m);
  }
  const late = pk.map((_, i) => ds[i]! - floor[i]!);
  let maxLateMs = 0;
  for (let i = 0; i < pk.length; i++) {
    maxLateMs = Math.max(maxLateMs, late[i]!);
    if (late[i]! <= o.budgetMs) continue;
    const p = pk[i]!;
    const prev = faults.find((f) => f.kind === 'late' && f.to >= p.ts - rate / 100);
    if (prev) {
      prev.to = Math.max(prev.to, p.ts + p.frames);
      continue;
    }
    faults.push({ kind: 'late', from: p.ts, to: p.ts + p.frames, what: `packets ${late[i]!.toFixed(0)} ms late at ${sec(p.ts)} s` });
  }
  // Steps of the floor: the lowest d over the second after a bucket boundary against the second
  // before it, in 250 ms buckets; a move of > 1.5 ms (the player's level-shift threshold).
  // Minima over a second, not single buckets: ffmpeg's 1024-frame bursts cut into 320-frame
  // packets move one bucket's minimum by ~2 ms, and jitter only ever adds delay. The player slews
  // a move smaller than its step size (arrival-mapping.ts): such a move is the sender's fault
  // only when it, with the moves of the 10 s before it, reaches half the step size (beyond that
  // the player may re-anchor); the others are judged like any audio, and named in the summary.
  const bucket = rate / 4;
  const mins: number[] = [];
  for (let i = 0; i < pk.length; i++) {
    const k = Math.floor(xs[i]! / bucket);
    mins[k] = Math.min(mins[k] ?? Infinity, ds[i]!);
  }
  const moves: Array<{ at: number; to: number; size: number; what: string }> = [];
  for (let k = 4; k + 4 <= mins.length; k++) {
    const before = mins.slice(k - 4, k),
      after = mins.slice(k, k + 4);
    if ([...before, ...after].some((m) => m === undefined)) continue;
    const up = Math.min(...(after as number[])) - Math.min(...(before as number[]));
    if (Math.abs(up) <= 1.5) continue;
    const at = ts0 + k * bucket;
    const last = moves.at(-1);
    if (last && at - last.at < 1.5 * rate) {
      // The same move seen from the next bucket, or another soon after: one fault, to 1.5 s after.
      last.to = at + 1.5 * rate;
      last.size = Math.max(last.size, Math.abs(up));
      continue;
    }
    moves.push({
      at,
      to: at + 1.5 * rate,
      size: Math.abs(up),
      what: `arrival floor stepped ${up > 0 ? '+' : '−'}${Math.abs(up).toFixed(1)} ms at ${sec(at)} s`,
    });
  }
  const slewed: string[] = [];
  for (const m of moves) {
    const recent = moves.filter((q) => q.at <= m.at && q.at > m.at - 10 * rate).reduce((sum, q) => sum + q.size, 0);
    if (o.stepMs !== undefined && recent < o.stepMs / 2) {
      slewed.push(m.what);
      continue;
    }
    faults.push({ kind: 'step', from: m.at - bucket, to: m.to, what: m.what });
  }
  faults.sort((p, q) => p.from - q.from);
  const silence = { ms: 0, atS: NaN };
  for (let i = 1; i < sent.packets.length; i++) {
    const gap = sent.packets[i]!.wallMs - sent.packets[i - 1]!.wallMs;
    if (gap > silence.ms) {
      silence.ms = gap;
      silence.atS = Number(sec(sent.packets[i - 1]!.ts));
    }
  }
  const tone: [number, number] = [ts0 + a, ts0 + b];
  return {
    sent,
    tone,
    faults,
    maxLateMs,
    residualLsb,
    silence,
    summary() {
      const kinds = ['discontinuity', 'hole', 'late', 'step', 'starved'] as const;
      const parts = kinds.flatMap((k) => {
        const fs = faults.filter((f) => f.kind === k);
        if (!fs.length) return [];
        const shown = fs.slice(0, 4).map((f) => f.what);
        return [`${fs.length} ${k}${fs.length > 1 ? 's' : ''}: ${shown.join('; ')}${fs.length > 4 ? '; …' : ''}`];
      });
      if (slewed.length)
        parts.push(`${slewed.length} slewed (not faults): ${slewed.slice(0, 4).join('; ')}${slewed.length > 4 ? '; …' : ''}`);
      const head = `sender (SSRC ${sent.ssrc}, ${sent.packets.length} packets, ${((b - a) / rate).toFixed(1)} s of tone, max lateness ${maxLateMs.toFixed(1)} ms, longest silence ${silence.ms.toFixed(0)} ms at ${silence.atS.toFixed(2)} s, residual ${residualLsb.toFixed(0)} LSB)`;
      return parts.length ? `${head}: ${parts.join(' | ')}` : `${head}: clean and on time`;
    },
  };
}

export interface JudgedWindow {
  /** Output frame the window starts at, and seconds into the tone (by RTP time). */
  frame: number;
  atS: number;
  tone: ToneCheck;
  /** The sender faults its RTP span (± the margin) meets: where a bad window is the sender's. */
  faults: SenderFault[];
}

export interface Judgement {
  /** Every window of the judged span, in output order. */
  windows: JudgedWindow[];
  /** The window with the worst THD+N (undefined: none judged). */
  worst?: JudgedWindow;
  /** Where in the tone (s) the player's output of it began. */
  playedFromS: number;
}

/**
 * The output frame → RTP frame map of a simulated DAC's records (a block's `frame` is its index in
 * the mirrored output file: one DAC epoch, every block mirrored), in the tap's unwrapped timeline;
 * NaN for blocks without RTP time. Records may be a later part of the DAC's (records(since)).
 */
export function outputRtp(records: SimBlockRecord[], sent: SentAudio): { start: Float64Array; rtp: Float64Array; frames: number } {
  const start = new Float64Array(records.length);
  const rtp = new Float64Array(records.length);
  const raw0 = sent.packets.length ? sent.packets[0]!.ts : 0;
  if (records.some((r) => r.epoch !== records[0]!.epoch))
    throw new Error(
      `the DAC was reopened (epochs ${[...new Set(records.map((r) => r.epoch))].join(', ')}): its output file no longer maps to RTP time`,
    );
  records.forEach((r, i) => {
    start[i] = r.frame;
    if (r.rtpTimeAtStart === null) rtp[i] = NaN;
    else {
      // Player and tap unwrap from different first packets: agree modulo 2^32 near the tap's.
      const d = r.rtpTimeAtStart - (raw0 % WRAP);
      rtp[i] = raw0 + d - WRAP * Math.round(d / WRAP);
    }
  });
  const last = records.at(-1);
  return { start, rtp, frames: last ? last.frame + last.frames : 0 };
}

/**
 * Tone analysis of every `frames`-frame window of `pcm` (the DAC's mirrored output, stereo
 * interleaved) starting every `stepFrames`, from `fromS` after the first frame of the tone the
 * player played to the tone's end, each with the sender faults its RTP span comes within
 * `marginFrames` of.
 */
export function judgePlayed(
  pcm: Int16Array,
  records: SimBlockRecord[],
  health: SenderHealth,
  o: { fromS?: number; frames?: number; stepFrames?: number; marginFrames?: number } = {},
): Judgement {
  const frames = o.frames ?? 32768,
    step = o.stepFrames ?? 4800;
  const margin = o.marginFrames ?? Math.round(health.sent.rate * 0.02);
  const map = outputRtp(records, health.sent);
  const total = Math.min(pcm.length / 2, map.frames);
  const [t0, t1] = health.tone;
  const rtpAt = (k: number) => {
    // Block of output frame k (records are in frame order).
    let lo = 0,
      hi = map.start.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (map.start[mid]! <= k) lo = mid;
      else hi = mid - 1;
    }
    return { block: lo, rtp: map.rtp[lo]! + (k - map.start[lo]!) };
  };
  // First output frame playing RTP time fromS after the first tone frame the player played.
  const played = map.rtp.findIndex((r, i) => r + records[i]!.frames > t0);
  if (played < 0) return { windows: [], playedFromS: NaN };
  const from0 = Math.max(t0, map.rtp[played]!) + (o.fromS ?? 0) * health.sent.rate;
  let first = -1;
  for (let i = 0; i < map.rtp.length; i++)
    if (map.rtp[i]! + records[i]!.frames > from0) {
      first = Math.max(map.start[i]!, map.start[i]! + Math.ceil(from0 - map.rtp[i]!));
      break;
    }
  const out: Judgement = { windows: [], playedFromS: (Math.max(t0, map.rtp[played]!) - t0) / health.sent.rate };
  if (first < 0) return out;
  for (let f = Math.max(first, map.start[0]!); f + frames <= total; f += step) {
    const a = rtpAt(f),
      b = rtpAt(f + frames - 1);
    let lo = Infinity,
      hi = -Infinity;
    for (let i = a.block; i <= b.block; i++) {
      const r = map.rtp[i]!;
      if (Number.isNaN(r)) continue;
      lo = Math.min(lo, r);
      hi = Math.max(hi, r + records[i]!.frames);
    }
    if (lo < Infinity && hi > t1 - margin) break; // the tone's end is in this window
    const faults = lo < Infinity ? health.faults.filter((x) => x.from - margin < hi && x.to + margin > lo) : [];
    const tone = toneOf(pcm.subarray(0, (f + frames) * 2), frames);
    const w = { frame: f, atS: ((lo < Infinity ? lo : NaN) - t0) / health.sent.rate, tone, faults };
    out.windows.push(w);
    if (!out.worst || tone.thdnDb > out.worst.tone.thdnDb) out.worst = w;
  }
  return out;
}

/**
 * Keeps a failed try's evidence when HEARTH_TEST_ARTEFACTS names a directory: the output file,
 * the DAC's records, and the tapped datagrams with their arrival times (JSON, payload in hex).
 */
export function keepArtefacts(
  name: string,
  o: { outFile?: string; records?: SimBlockRecord[]; dgrams?: Dgram[]; note?: string; starvation?: Starvation },
): string | undefined {
  const root = process.env.HEARTH_TEST_ARTEFACTS;
  if (!root) return undefined;
  const dir = join(root, `${new Date().toISOString().replace(/[:.]/g, '-')}-${name.replace(/[^\w.-]+/g, '_')}`);
  mkdirSync(dir, { recursive: true });
  if (o.outFile && existsSync(o.outFile)) copyFileSync(o.outFile, join(dir, 'out.raw'));
  if (o.records) writeFileSync(join(dir, 'records.json'), JSON.stringify(o.records));
  if (o.dgrams)
    writeFileSync(
      join(dir, 'tap.jsonl'),
      o.dgrams.map((d) => JSON.stringify({ port: d.port, from: d.from, wallMs: d.wallMs, hex: d.data.toString('hex') })).join('\n'),
    );
  if (o.note) writeFileSync(join(dir, 'note.txt'), o.note);
  if (o.starvation) writeFileSync(join(dir, 'run-queue-waits.json'), JSON.stringify(o.starvation.waits));
  return dir;
}

/** The tapped datagrams of a try keepArtefacts kept (its tap.jsonl), as the tap gave them. */
export function readKeptTap(dir: string): Dgram[] {
  return readFileSync(join(dir, 'tap.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const j = JSON.parse(l) as { port: number; from: string; wallMs: number; hex: string };
      return { port: j.port, from: j.from, wallMs: j.wallMs, group: '', data: Buffer.from(j.hex, 'hex') };
    });
}

/** The faults (sender's or machine's) within the last `seconds` of what the tap saw the sender send. */
export function faultsNearEnd(health: SenderHealth, seconds: number): SenderFault[] {
  const end = Math.max(...health.sent.packets.map((p) => p.ts + p.frames));
  return health.faults.filter((f) => f.to > end - seconds * health.sent.rate);
}

export interface PlayedVerdictOptions {
  /** Names the try in messages (e.g. "ffmpeg"). */
  what: string;
  hz: number;
  maxThdnDb: number;
  /** Judge from this far after the player's first frame of the tone (s; default 0): its acquisition is not judged. */
  fromS?: number;
  /** Fewest windows the judged span must hold (default 1). */
  minWindows?: number;
  /** Appended to a failure (the player's counters, for the reader; never a reason to pass). */
  why?: string;
}

/**
 * The verdict on one try. Every window is judged (1 Hz, THD+N below the limit). A bad window
 * whose RTP span met none of the sender's (or the machine's) faults is the player's: it throws,
 * naming the window and the sender's health. Windows that met a fault are the sender's whatever
 * they hold; the player is judged on the others, and when fewer than `minWindows` of those are
 * left the try cannot judge it: the sentence returned names the sender's faults (the try is
 * repeated). null: the player played the clean audio cleanly.
 */
export function playedVerdict(j: Judgement, health: SenderHealth, o: PlayedVerdictOptions): string | null {
  const why = o.why ? `; ${o.why}` : '';
  const want = o.minWindows ?? 1;
  if (j.windows.length < want)
    throw new Error(
      `${o.what}: ${j.windows.length} windows of output to judge (want ${want}), played from ${j.playedFromS.toFixed(2)} s into the tone${why}; ${health.summary()}`,
    );
  const bad = (w: JudgedWindow) => !(Math.abs(w.tone.hz - o.hz) < 1 && w.tone.thdnDb < o.maxThdnDb);
  const where = (w: JudgedWindow) =>
    `${w.tone.hz.toFixed(2)} Hz (want ${o.hz} ± 1), THD+N ${w.tone.thdnDb.toFixed(1)} dB (limit ${o.maxThdnDb}) in the window at ${w.atS.toFixed(2)} s into the tone (played from ${j.playedFromS.toFixed(2)} s; output frame ${w.frame}; ${j.windows.length} windows judged)`;
  const clean = j.windows.filter((w) => w.faults.length === 0);
  const mine = clean.filter(bad);
  if (mine.length) {
    const w = mine.reduce((x, y) => (y.tone.thdnDb > x.tone.thdnDb ? y : x));
    throw new Error(`${o.what}: ${where(w)}, where the sender was clean and on time${why}; ${health.summary()}`);
  }
  if (clean.length >= want) return null;
  const theirs = j.windows.filter(bad);
  const worst = theirs.length ? theirs.reduce((x, y) => (y.tone.thdnDb > x.tone.thdnDb ? y : x)) : undefined;
  return `${o.what}: ${clean.length} windows of clean audio to judge the player on (want ${want}; ${j.windows.length - clean.length} met a fault${worst ? `, the worst ${where(worst)}` : ''}); ${health.summary()}`;
}

/**
 * Runs `once` up to `tries` times with a fresh sender each time (`reset` between tries) until a
 * try judges the player: `once` returns the sender's fault (a sentence) when its sender glitched.
 * Throws, naming every try's sender faults, when none could judge the player.
 */
export async function withCleanSender<T>(
  tries: number,
  once: (attempt: number) => Promise<{ result: T } | { senderFault: string }>,
  reset: () => Promise<void>,
): Promise<T> {
  const faults: string[] = [];
  for (let attempt = 0; attempt < tries; attempt++) {
    const r = await once(attempt);
    if ('result' in r) return r.result;
    console.log(`try ${attempt + 1}: ${r.senderFault}: trying again with a fresh sender`);
    faults.push(`try ${attempt + 1}: ${r.senderFault}`);
    await reset();
  }
  throw new Error(`the sender glitched in every try, so the player could not be judged:\n${faults.join('\n')}`);
}

/**
 * How late after its floor a packet may arrive and still be played (ms): the player renders a DAC
 * queue and a 5 ms block ahead of the instant, and needs a packet by its first frame
 * (device/audio/types.ts: latency covers packet + floor + sink queue + block).
 */
export function playerBudgetMs(sent: SentAudio, latencyMs: number, dacBufferMs: number): number {
  return latencyMs - dacBufferMs - 5 - (1000 * Math.max(...sent.packets.map((p) => p.frames))) / sent.rate;
}

/**
 * Adds the machine's faults to `health`: the RTP span of the blocks the DAC played while, or one
 * DAC queue after, the player was kept from running (`spans`, wall ms): rendered late or not at all.
 */
export function machineFaults(
  health: SenderHealth,
  records: SimBlockRecord[],
  spans: Array<{ from: number; to: number; waitedMs: number }>,
  dacBufferMs: number,
): void {
  const map = outputRtp(records, health.sent);
  for (const { from, to, waitedMs } of spans) {
    let lo = Infinity,
      hi = -Infinity;
    records.forEach((r, i) => {
      if (r.wallMs < from || r.wallMs > to + dacBufferMs + 20 || Number.isNaN(map.rtp[i]!)) return;
      lo = Math.min(lo, map.rtp[i]!);
      hi = Math.max(hi, map.rtp[i]! + r.frames);
    });
    if (lo < hi)
      health.faults.push({
        kind: 'starved',
        from: lo,
        to: hi,
        what: `the machine kept the player ${waitedMs.toFixed(0)} ms from running (in ${(to - from).toFixed(0)} ms) at ${((lo - health.tone[0]) / health.sent.rate).toFixed(2)} s`,
      });
  }
}

/** What a tap saw of one sender, and which player it is judged against. */
export interface TappedSender {
  tap: UdpTap;
  /** The RTP port tapped (and the SSRC, default the first tapped). */
  port: number;
  ssrc?: number;
  rate?: number;
  channels?: number;
  /** The player's latency and its DAC's queue (ms): what is left is the budget for a late packet. */
  latencyMs: number;
  dacBufferMs: number;
}

/** The sender's health from the tap, against that player's budget and step size (senderHealth). Throws if the tap saw none of it. */
export function tappedHealth(o: TappedSender): SenderHealth {
  const sent = sentAudio(o.tap.got, { port: o.port, rate: o.rate ?? 48000, channels: o.channels ?? 2, ssrc: o.ssrc });
  return senderHealth(sent, { budgetMs: playerBudgetMs(sent, o.latencyMs, o.dacBufferMs), stepMs: arrivalStepMs(o.latencyMs) });
}

/** The player's run-queue waits that matter against its DAC queue: within 20 ms of it, 10 ms at least. */
function starvedAgainstQueue(s: Starvation, dacBufferMs: number): Array<{ from: number; to: number; waitedMs: number }> {
  return starvedSpans(s, Math.max(10, dacBufferMs - 20));
}

export interface WaitPlayingOptions extends TappedSender {
  host: AudioHost;
  /** The state waited for (playing, on the stream wanted). */
  pred: (s: Record<string, any>) => boolean;
  timeoutMs?: number;
  starvation?: Starvation;
  what: string;
}

/**
 * Waits for the player to play. A player that does not within `timeoutMs` is judged like its audio
 * (see the rules): the sender's (or the machine's) fault when the wire shows under a second of the
 * sender's audio, or any of its faults, or the scheduler kept the player from running about a DAC
 * queue in that time; the player's fault (thrown, with the wire's account) when the sender sent
 * clean and on time. A timeout thrown as such cut short a run's tries: in one CI run PipeWire's
 * first try broke its tone 70 times and stepped its floor by up to 98 ms, and the next try's wait
 * for "playing" threw, with three tries left.
 */
export async function waitPlaying(o: WaitPlayingOptions): Promise<{ state: Record<string, any> } | { senderFault: string }> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const since = Date.now();
  try {
    return { state: await o.host.waitState(o.pred, timeoutMs) };
  } catch (e) {
    const rate = o.rate ?? 48000;
    const waited = `${(timeoutMs / 1000).toFixed(0)} s`;
    let health: SenderHealth;
    try {
      health = tappedHealth(o);
    } catch {
      return { senderFault: `${o.what}: nothing of the sender on the wire in the ${waited} the player waited for it to play` };
    }
    const frames = health.sent.packets.reduce((a, p) => a + p.frames, 0);
    if (frames < rate)
      return {
        senderFault: `${o.what}: ${(frames / rate).toFixed(2)} s of the sender's audio on the wire in the ${waited} the player waited`,
      };
    const starved = o.starvation ? starvedAgainstQueue(o.starvation, o.dacBufferMs).filter((w) => w.to >= since) : [];
    const machine = starved.map((w) => `the machine kept the player ${w.waitedMs.toFixed(0)} ms from running`);
    if (health.faults.length || machine.length)
      return { senderFault: `${o.what}: not playing ${waited} on; ${[health.summary(), ...machine].join('; ')}` };
    (e as Error).message =
      `${o.what}: not playing ${waited} after the sender started, over audio it sent clean and on time (${health.summary()}); last state ${JSON.stringify(o.host.lastState() ?? null)}\n${(e as Error).message}`;
    throw e;
  }
}

export interface TryOptions extends TappedSender {
  host: AudioHost;
  outFile: string;
  /** Judge only blocks the DAC played from this wall instant on (ms; default all). */
  sinceWallMs?: number;
  /** The player's run-queue waits (starvation.ts): a wait near its DAC queue is the machine's fault. */
  starvation?: Starvation;
  verdict: PlayedVerdictOptions;
}

/**
 * One try's verdict from the wire and the output (see playedVerdict): the player's fault throws,
 * the sender's is returned. Either way the evidence is kept (keepArtefacts). When the player was
 * judged, `worst` is the worst window of clean audio.
 */
export async function judgeTry(
  o: TryOptions,
): Promise<{ senderFault: string } | { health: SenderHealth; judged: Judgement; worst: JudgedWindow }> {
  const health = tappedHealth(o);
  const { records } = await o.host.records(o.sinceWallMs);
  if (o.starvation) machineFaults(health, records, starvedAgainstQueue(o.starvation, o.dacBufferMs), o.dacBufferMs);
  const pcm = readS16(o.outFile);
  const keep = (note: string) =>
    keepArtefacts(o.verdict.what, { outFile: o.outFile, records, dgrams: o.tap.got, note, starvation: o.starvation });
  const judged = judgePlayed(pcm, records, health, { fromS: o.verdict.fromS });
  let fault: string | null;
  try {
    fault = playedVerdict(judged, health, o.verdict);
    if (process.env.HEARTH_TEST_ARTEFACTS_ALL) keep(`judged: ${fault ?? 'clean'}`);
  } catch (e) {
    const dir = keep(`player fault: ${(e as Error).message}`);
    if (dir) (e as Error).message += ` (evidence: ${dir})`;
    throw e;
  }
  if (fault !== null) {
    const dir = keep(`sender fault: ${fault}`);
    return { senderFault: dir ? `${fault} (evidence: ${dir})` : fault };
  }
  const clean = judged.windows.filter((x) => x.faults.length === 0);
  const w = clean.reduce((x, y) => (y.tone.thdnDb > x.tone.thdnDb ? y : x));
  console.log(
    `${o.verdict.what}: worst of ${clean.length} clean windows ${w.tone.hz.toFixed(2)} Hz, THD+N ${w.tone.thdnDb.toFixed(1)} dB at ${w.atS.toFixed(2)} s (${judged.windows.length - clean.length} windows met a fault); ${health.summary()}`,
  );
  return { health, judged, worst: w };
}
