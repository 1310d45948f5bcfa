// Whole-chain simulation in virtual time: sender (own clock offset in ppm, optional RTCP SRs,
// optional restarts) → network (per-player seeded delay jitter and loss) → Playout → DacClock →
// simulated DAC (own ppm), for any number of players and any length of audio. Returns every
// block's record (the wall instant its first frame reached the analog side, and the RTP time it
// carried) and the figures the issue asks for. Used by unit tests and by bench/audio.ts.
//
// Figures (over the steady window, from `settleS` after the last join to the end):
// - sync_error_p99_us / sync_error_max_us: |RTP time of player p − RTP time of player q at the
//   same analog instant| over every block, over pairs with the same latency and trim (µs).
// - join_to_sync_s: for each pair, from the later join to the first instant after which the pair
//   error stays ≤ 100 µs (until the next sender restart, if any); the worst pair. Silence counts
//   as out of sync, so the pre-roll (the latency) is included.
// - resync_s: the same, from each sender restart (the new stream's first frame).
// - drift_residual_ppm: per player, the slope of its error against the ideal timeline (µs/s =
//   ppm) fitted over the steady window; the worst player.
// - underruns: playout underrun episodes + DAC underruns, all players.
// - reanchors_steady: re-anchors (frame jumps) inside the steady window: 0 means no drop/insert.
// - thdn_db: THD+N of the first capturing player's output over a clean window (tone signal only).
// - render_cpu_pct: CPU spent in Playout.render per player, % of one core per second of audio.
import { VirtualClock } from '../../core/clock.ts';
import { Playout } from '../engine/playout.ts';
import { DacClock } from '../engine/dac-clock.ts';
import { buildRtp } from '../packets/rtp.ts';
import { buildSenderReport } from '../packets/rtcp.ts';
import { thdn } from '../analysis.ts';
import type { PlayoutStats, StreamFormat } from '../types.ts';
import { Prng } from './prng.ts';
import { SimDac } from './dac.ts';

export interface SimNetwork { baseDelayMs?: number; jitterMs?: number; lossPct?: number }

export interface SimPlayerSpec {
  dacPpm: number;
  latencyMs?: number;
  trimMs?: number;
  outputRate?: number;
  outputChannels?: 1 | 2;
  /**
   * Frames per rendered block. Default 5 ms, or 2.5 ms below 50 ms latency: a low-latency player
   * keeps a small DAC queue, since latency must cover packet + network + queue + block.
   */
  blockFrames?: number;
  /** DAC queue the loop keeps topped up, in frames (default 2 blocks). */
  fifoFrames?: number;
  /** Output loop period (default half a block). */
  tickMs?: number;
  /** Timer lateness: each tick fires up to this much late, uniformly (default 0.5 ms). */
  tickJitterMs?: number;
  joinAtS?: number;
  network?: SimNetwork;
  /** Keep the output (left channel) from this second on, for tone analysis. */
  captureFromS?: number;
}

export interface SimSender {
  rate?: number;
  channels?: 1 | 2;
  payloadType?: number;
  framesPerPacket?: number;
  ppm?: number;
  /** RTCP SR period; null or 0 = no RTCP (PulseAudio, GStreamer udpsink). */
  rtcpIntervalMs?: number | null;
  signal?: 'tone' | 'silence';
  toneHz?: number;
  /** Peak amplitude, 0..1 of full scale. */
  amplitude?: number;
  /** Sender restarts (new SSRC, random seq/ts) at these seconds, each after a 40 ms gap. */
  restartsAtS?: number[];
}

export interface SimLoopOptions {
  seconds: number;
  seed?: number;
  sender?: SimSender;
  network?: SimNetwork;
  players: SimPlayerSpec[];
  /** Steady window starts this long after the last join (default 10 s). */
  settleS?: number;
  /** Extra events: hostile datagrams etc. Called with the wall time; return datagrams for all players. */
  inject?: (wallMs: number, prng: Prng) => Buffer[];
}

export interface SimPlayerResult {
  /** Analog wall instant (ms) of each block's first frame, and its RTP time (NaN while silent). */
  wallMs: Float64Array;
  rtp: Float64Array;
  stats: PlayoutStats;
  dacUnderruns: number;
  /** Error against the ideal timeline at each block (µs; NaN while silent). */
  errorUs: Float64Array;
  capture: Float64Array | null;
  captureClean: boolean;
}

export interface SimFigures {
  sync_error_p99_us: number;
  sync_error_max_us: number;
  join_to_sync_s: number;
  /** Worst time from a sender restart to the pair error staying ≤ 100 µs (0 without restarts). */
  resync_s: number;
  drift_residual_ppm: number;
  underruns: number;
  reanchors_steady: number;
  render_cpu_pct: number;
  thdn_db?: number;
}

export interface SimLoopResult { figures: SimFigures; players: SimPlayerResult[] }

const T0 = 1_700_000_000_000;

class Heap {
  private t: number[] = [];
  private v: number[] = [];
  push(time: number, val: number): void {
    const t = this.t, v = this.v;
    let i = t.length;
    t.push(time); v.push(val);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (t[p]! <= time) break;
      t[i] = t[p]!; v[i] = v[p]!; i = p;
    }
    t[i] = time; v[i] = val;
  }
  size(): number { return this.t.length; }
  topTime(): number { return this.t[0]!; }
  pop(): number {
    const t = this.t, v = this.v;
    const out = v[0]!;
    const lt = t.pop()!, lv = v.pop()!;
    if (t.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i, mt = lt;
        if (l < t.length && t[l]! < mt) { m = l; mt = t[l]!; }
        if (r < t.length && t[r]! < mt) { m = r; }
        if (m === i) break;
        t[i] = t[m]!; v[i] = v[m]!; i = m;
      }
      t[i] = lt; v[i] = lv;
    }
    return out;
  }
}

class Grow {
  a = new Float64Array(1024);
  n = 0;
  push(x: number): void {
    if (this.n === this.a.length) { const b = new Float64Array(this.a.length * 2); b.set(this.a); this.a = b; }
    this.a[this.n++] = x;
  }
  view(): Float64Array { return this.a.subarray(0, this.n); }
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))]!;
}

/** The sender's timeline: segments of (start wall, first frame index, raw ts base, ssrc, seq base). */
interface Segment { wall0: number; ts0: number; ssrc: number; seq0: number; frame0: number }

export function simulateLoop(o: SimLoopOptions): SimLoopResult {
  const prng = new Prng(o.seed ?? 1);
  const snd = o.sender ?? {};
  const rate = snd.rate ?? 48000;
  const ch = snd.channels ?? 2;
  const pt = snd.payloadType ?? 127;
  const F = snd.framesPerPacket ?? 320;
  const sRate = rate * (1 + (snd.ppm ?? 0) / 1e6);
  const format: StreamFormat = { encoding: 'L16', rate, channels: ch, payloadType: pt };
  const amp = Math.round(32767 * (snd.amplitude ?? Math.pow(10, -1 / 20)));
  const tone = (snd.signal ?? 'tone') === 'tone';
  const w = (2 * Math.PI * (snd.toneHz ?? 1000)) / rate;
  const endWall = T0 + o.seconds * 1000;
  const clock = new VirtualClock(0, T0);

  const segs: Segment[] = [{ wall0: T0, ts0: prng.int(2 ** 32), ssrc: prng.int(2 ** 32) >>> 0, seq0: prng.int(65536), frame0: 0 }];
  const restarts = [...(snd.restartsAtS ?? [])].sort((a, b) => a - b);

  interface P {
    spec: SimPlayerSpec; playout: Playout; dacClock: DacClock; dac: SimDac | null; block: Int16Array; blockFrames: number;
    fifo: number; tick: number; join: number; net: Required<SimNetwork>; prng: Prng; wall: Grow; rtp: Grow; cpuUs: number;
    capFrom: number; cap: Grow | null; capClean: boolean;
  }
  const players: P[] = o.players.map((spec) => {
    const outRate = spec.outputRate ?? 48000;
    const outCh = spec.outputChannels ?? 2;
    const blockFrames = spec.blockFrames ?? Math.round(outRate / ((spec.latencyMs ?? 100) < 50 ? 400 : 200));
    return {
      spec,
      playout: new Playout({ clock, latencyMs: spec.latencyMs ?? 100, trimMs: spec.trimMs ?? 0, outputRate: outRate, outputChannels: outCh, format }),
      dacClock: new DacClock(outRate), dac: null, block: new Int16Array(blockFrames * outCh), blockFrames,
      fifo: spec.fifoFrames ?? 2 * blockFrames, tick: spec.tickMs ?? (blockFrames * 500) / outRate, join: T0 + (spec.joinAtS ?? 0) * 1000,
      net: { baseDelayMs: 0.5, jitterMs: 0, lossPct: 0, ...o.network, ...spec.network },
      prng: prng.fork(), wall: new Grow(), rtp: new Grow(), cpuUs: 0,
      capFrom: spec.captureFromS === undefined ? Infinity : T0 + spec.captureFromS * 1000, cap: spec.captureFromS === undefined ? null : new Grow(), capClean: true,
    };
  });

  // Events: value = kind·2^20 + index. Kinds: 0 send packet, 1 send SR, 2 tick(player), 3 deliver.
  const heap = new Heap();
  const deliveries: Array<{ player: number; data: Buffer; rtcp: boolean } | undefined> = [];
  const freeSlots: number[] = [];
  const K = 2 ** 20;
  let pktIndex = 0; // packets sent in the current segment
  let segFrame = 0; // frames sent in the current segment
  let gapUntil = -Infinity;
  const srPeriod = snd.rtcpIntervalMs ?? 0;
  const sendTime = () => segs[segs.length - 1]!.wall0 + ((segFrame + F) * 1000) / sRate;
  heap.push(sendTime(), 0);
  if (srPeriod) heap.push(T0 + srPeriod / 2, K);
  players.forEach((p, i) => heap.push(p.join, 2 * K + i));
  const payload = Buffer.alloc(F * ch * 2);

  const deliver = (data: Buffer, rtcp: boolean, sentAt: number) => {
    players.forEach((p, i) => {
      if (sentAt < p.join) return; // not listening yet
      if (p.net.lossPct > 0 && p.prng.next() * 100 < p.net.lossPct) return;
      const at = sentAt + p.net.baseDelayMs + p.net.jitterMs * p.prng.next();
      const slot = freeSlots.pop() ?? deliveries.length;
      deliveries[slot] = { player: i, data, rtcp };
      heap.push(at, 3 * K + slot);
    });
  };

  while (heap.size() > 0 && heap.topTime() <= endWall) {
    const t = heap.topTime();
    const ev = heap.pop();
    const kind = Math.floor(ev / K), idx = ev % K;
    clock.advanceTo(t - T0);
    if (kind === 0) {
      const seg = segs[segs.length - 1]!;
      if (restarts.length > 0 && t >= T0 + restarts[0]! * 1000) {
        restarts.shift();
        gapUntil = t + 40;
        const frame0 = Math.round(((gapUntil - T0) * sRate) / 1000);
        segs.push({ wall0: gapUntil, ts0: prng.int(2 ** 32), ssrc: prng.int(2 ** 32) >>> 0, seq0: prng.int(65536), frame0 });
        pktIndex = 0; segFrame = 0;
        heap.push(sendTime(), 0);
        continue;
      }
      const gFrame = seg.frame0 + segFrame;
      for (let i = 0; i < F; i++) {
        const v = tone ? Math.round(amp * Math.sin(w * (gFrame + i))) : 0;
        for (let c = 0; c < ch; c++) payload.writeInt16BE(c === 1 ? -v : v, (i * ch + c) * 2);
      }
      const d = buildRtp({ payloadType: pt, sequence: (seg.seq0 + pktIndex) & 0xffff, timestamp: (seg.ts0 + segFrame) >>> 0, ssrc: seg.ssrc, marker: pktIndex === 0 }, payload);
      deliver(d, false, t);
      for (const x of o.inject?.(t, prng) ?? []) deliver(x, false, t);
      pktIndex++; segFrame += F;
      heap.push(sendTime(), 0);
    } else if (kind === 1) {
      const seg = segs[segs.length - 1]!;
      if (t >= seg.wall0) {
        // SR for the last whole frame captured: (frame j, its exact capture instant).
        const j = Math.floor(((t - seg.wall0) * sRate) / 1000);
        const sr = buildSenderReport({ ssrc: seg.ssrc, wallMs: seg.wall0 + (j * 1000) / sRate, rtpTimestamp: (seg.ts0 + j) >>> 0, packetCount: pktIndex, octetCount: pktIndex * F * ch * 2 });
        deliver(sr, true, t);
      }
      heap.push(t + srPeriod, K);
    } else if (kind === 3) {
      const dv = deliveries[idx]!;
      deliveries[idx] = undefined;
      freeSlots.push(idx);
      const p = players[dv.player]!;
      if (dv.rtcp) p.playout.pushRtcp(dv.data, t); else p.playout.pushRtp(dv.data, t);
    } else if (kind === 2) {
      const p = players[idx]!;
      if (!p.dac) p.dac = new SimDac(p.spec.outputRate ?? 48000, p.spec.dacPpm, t);
      const dac = p.dac;
      const consumed = dac.consumed(t);
      p.dacClock.observe(consumed, t);
      while (dac.framesWritten() - consumed < p.fifo) {
        const written = dac.framesWritten();
        // Time spent in render (performance.now is cheap; the simulation is single-threaded and
        // CPU-bound, so elapsed time here is CPU time).
        const c0 = performance.now();
        const info = p.playout.render(p.block, p.dacClock.wallOfFrame(written), p.dacClock.rateHz());
        p.cpuUs += (performance.now() - c0) * 1000;
        const analog = dac.write(p.blockFrames, t);
        p.wall.push(analog);
        p.rtp.push(info.rtpTimeAtStart ?? NaN);
        if (p.cap && analog >= p.capFrom) {
          const outCh = p.spec.outputChannels ?? 2;
          for (let i = 0; i < p.blockFrames; i++) p.cap.push(p.block[i * outCh]!);
          if (info.concealedFrames > 0 || info.silentFrames > 0) p.capClean = false;
        }
      }
      heap.push(t + p.tick + (p.spec.tickJitterMs ?? 0.5) * p.prng.next(), ev);
    }
  }
  return summarize(o, players.map((p) => ({
    wallMs: p.wall.view(), rtp: p.rtp.view(), stats: p.playout.stats(), dacUnderruns: p.dac?.underruns ?? 0,
    latency: p.spec.latencyMs ?? 100, trim: p.spec.trimMs ?? 0, join: p.join, cpuUs: p.cpuUs,
    capture: p.cap ? p.cap.view() : null, captureClean: p.capClean,
  })), segs, sRate, rate, endWall);
}

interface Raw extends Omit<SimPlayerResult, 'errorUs'> { latency: number; trim: number; join: number; cpuUs: number }

function summarize(o: SimLoopOptions, raw: Raw[], segs: Segment[], sRate: number, rate: number, endWall: number): SimLoopResult {
  const steadyFrom = Math.max(...raw.map((r) => r.join)) + (o.settleS ?? 10) * 1000;
  // Ideal RTP time at analog instant w: the sender frame captured at w − latency − trim, in the
  // segment current then, as an unwrapped timestamp near the player's own value.
  const ideal = (w: number, lat: number, near: number): number => {
    const c = w - lat;
    let s = segs[0]!;
    for (const x of segs) if (x.wall0 <= c) s = x;
    const frame = ((c - s.wall0) * sRate) / 1000;
    const raw32 = s.ts0 + frame;
    return raw32 + Math.round((near - raw32) / 2 ** 32) * 2 ** 32;
  };
  const players: SimPlayerResult[] = raw.map((r) => {
    const err = new Float64Array(r.wallMs.length);
    for (let i = 0; i < err.length; i++) {
      const x = r.rtp[i]!;
      err[i] = Number.isNaN(x) ? NaN : ((x - ideal(r.wallMs[i]!, r.latency + r.trim, x)) / rate) * 1e6;
    }
    return { wallMs: r.wallMs, rtp: r.rtp, stats: r.stats, dacUnderruns: r.dacUnderruns, errorUs: err, capture: r.capture, captureClean: r.captureClean };
  });
  // Pairwise sync error at common instants: q's error interpolated at p's block instants.
  // Episodes: from the later join, and from each sender restart (the new stream's first frame).
  const restartsAt = segs.slice(1).map((s) => s.wall0);
  const pairErrors: number[] = [];
  let joinToSync = 0, resync = 0;
  for (let a = 0; a < raw.length; a++) {
    for (let b = a + 1; b < raw.length; b++) {
      if (raw[a]!.latency + raw[a]!.trim !== raw[b]!.latency + raw[b]!.trim) continue;
      const pa = players[a]!, pb = players[b]!;
      const joinT = Math.max(raw[a]!.join, raw[b]!.join);
      const starts = [joinT, ...restartsAt.filter((r) => r > joinT)];
      const lastBad = starts.slice();
      let j = 0;
      for (let i = 0; i < pa.wallMs.length; i++) {
        const wv = pa.wallMs[i]!;
        if (wv < joinT) continue;
        while (j + 1 < pb.wallMs.length && pb.wallMs[j + 1]! <= wv) j++;
        if (j + 1 >= pb.wallMs.length || pb.wallMs[j]! > wv) continue;
        const e0 = pb.errorUs[j]!, e1 = pb.errorUs[j + 1]!, ea = pa.errorUs[i]!;
        const w0 = pb.wallMs[j]!, w1 = pb.wallMs[j + 1]!;
        let diff: number;
        if (Number.isNaN(e0) || Number.isNaN(e1) || Number.isNaN(ea)) diff = Infinity;
        else diff = Math.abs(ea - (e0 + ((e1 - e0) * (wv - w0)) / (w1 - w0)));
        let ep = 0;
        while (ep + 1 < starts.length && starts[ep + 1]! <= wv) ep++;
        if (diff > 100) lastBad[ep] = wv;
        if (wv >= steadyFrom && Number.isFinite(diff)) pairErrors.push(diff);
      }
      joinToSync = Math.max(joinToSync, (lastBad[0]! - joinT) / 1000);
      for (let e = 1; e < starts.length; e++) resync = Math.max(resync, (lastBad[e]! - starts[e]!) / 1000);
    }
  }
  // Residual drift: slope of each player's error over the steady window.
  let residual = 0;
  for (const p of players) {
    let n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (let i = 0; i < p.wallMs.length; i++) {
      const e = p.errorUs[i]!;
      if (p.wallMs[i]! < steadyFrom || Number.isNaN(e)) continue;
      const x = (p.wallMs[i]! - steadyFrom) / 1000;
      n++; sx += x; sy += e; sxx += x * x; sxy += x * e;
    }
    if (n > 2) residual = Math.max(residual, Math.abs((n * sxy - sx * sy) / (n * sxx - sx * sx)));
  }
  const seconds = (endWall - Math.min(...raw.map((r) => r.join))) / 1000;
  const figures: SimFigures = {
    sync_error_p99_us: percentile(pairErrors, 0.99),
    sync_error_max_us: pairErrors.length ? pairErrors.reduce((m, x) => (x > m ? x : m), 0) : NaN,
    join_to_sync_s: joinToSync,
    resync_s: resync,
    drift_residual_ppm: residual,
    underruns: players.reduce((s, p) => s + p.stats.underruns + p.dacUnderruns, 0),
    reanchors_steady: 0,
    render_cpu_pct: raw.reduce((s, r) => s + r.cpuUs, 0) / raw.length / 1e6 / seconds * 100,
  };
  figures.reanchors_steady = countSteadyJumps(players, steadyFrom, rate);
  const cap = players.find((p) => p.capture && p.capture.length >= 32768);
  if (cap && cap.capture && cap.captureClean) {
    figures.thdn_db = thdn(cap.capture, 48000, { fullScale: 32767 }).thdnDb;
  }
  return { figures, players };
}

/** Blocks in the steady window whose RTP time does not follow on from the previous block's (a jump). */
function countSteadyJumps(players: SimPlayerResult[], steadyFrom: number, rate: number): number {
  let jumps = 0;
  for (const p of players) {
    for (let i = 2; i < p.wallMs.length; i++) {
      if (p.wallMs[i]! < steadyFrom) continue;
      const r0 = p.rtp[i - 2]!, r1 = p.rtp[i - 1]!, r2 = p.rtp[i]!;
      if (Number.isNaN(r0) || Number.isNaN(r1) || Number.isNaN(r2)) continue;
      // Consecutive blocks advance by the same amount to within the ratio's slow change.
      if (Math.abs((r2 - r1) - (r1 - r0)) > rate * 1e-4) jumps++;
    }
  }
  return jumps;
}
