// Whole-chain simulation in virtual time, on the SHIPPED parts: the source's OutStream (pacing,
// RTP, RTCP SRs) on a tone input, the UDP HAL's simulated network (device/hal/udp.sim.ts: hosts
// with their own clocks, per-link seeded delay, jitter and loss), and per player the Playout, the
// OutputLoop and the HAL's simulated DAC (device/hal/audio-out.sim.ts) — the same objects the
// player role wires (device/audio/player/role.ts: a datagram goes to Playout.pushRtp/pushRtcp with
// the host's wall() at receipt). Only that glue and the bookkeeping are the simulator's own.
// Returns every block's record (the true wall instant its first frame reached the analog side,
// and the RTP time it carried) and the figures the issue asks for. Used by unit tests and by
// bench/audio.ts.
//
// Clocks: true time is the network's base VirtualClock. The sender's monotonic clock runs `ppm`
// off (its RTP rate), its wall clock is true (an NTP-disciplined sender, as before); players' hosts
// run on true time and their DACs `dacPpm` off it, so the DACs' records are in true time.
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
import { VirtualClock, type Clock, type TimerHandle } from '../../core/clock.ts';
import { createLogger } from '../../core/log.ts';
import { Playout } from '../engine/playout.ts';
import { DacClock } from '../engine/dac-clock.ts';
import { OutputLoop } from '../engine/output-loop.ts';
import { OutStream } from '../source/stream.ts';
import { createSimDac, type SimDac } from '../../hal/audio-out.sim.ts';
import { createToneInput } from '../../hal/audio-in.tone.ts';
import { SimNetwork as Network, type HostClock, type LinkProfile } from '../../hal/udp.sim.ts';
import type { UdpSocket } from '../../hal/udp.ts';
import { wrapSink } from '../../hal/audio-out.ts';
import type { MulticastSender } from '../net.ts';
import { thdn } from '../analysis.ts';
import { buildRtp } from '../packets/rtp.ts';
import type { PlayoutStats, RenderInfo, StreamFormat } from '../types.ts';
import { Prng } from '../../core/prng.ts';

export interface SimNetwork {
  baseDelayMs?: number;
  jitterMs?: number;
  lossPct?: number;
}

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
  /**
   * The DAC reopened mid-play (its sink process restarted) at these seconds: lost, back `gapMs`
   * later (the retry), its new epoch's first frame playing `startLatencyMs` after its first write.
   */
  dacReopens?: { atS: number[]; gapMs: number; startLatencyMs?: number };
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
  /** The DAC epoch each block was written in (a reopen starts a new one; dacReopens). */
  epoch: Float64Array;
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

export interface SimLoopResult {
  figures: SimFigures;
  players: SimPlayerResult[];
}

/** True wall time at the simulation's start (ms): a result's wallMs minus this is seconds into the run × 1000. */
export const T0 = 1_700_000_000_000;

const GROUP = '239.255.77.1',
  PORT = 46000,
  SENDER = '10.0.0.1';
const quiet = createLogger({ level: 'error', format: 'json', sink: { write: () => undefined } });

/** The sender's clocks: its host's monotonic clock (the crystal, `ppm` off), and a true (disciplined) wall clock. */
class DisciplinedClock implements Clock {
  constructor(
    private readonly host: HostClock,
    private readonly trueWall: () => number,
  ) {}
  now(): number {
    return this.host.now();
  }
  wall(): number {
    return this.trueWall();
  }
  both(): { now: number; wall: number } {
    return { now: this.host.now(), wall: this.trueWall() };
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.host.setTimeout(fn, ms);
  }
  clearTimeout(h: TimerHandle | undefined): void {
    this.host.clearTimeout(h);
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.host.setInterval(fn, ms);
  }
  clearInterval(h: TimerHandle | undefined): void {
    this.host.clearInterval(h);
  }
}

/**
 * A clock whose timers fire late by U(0, lateMs), as an event loop's do (never early; an interval
 * keeps its nominal grid, each firing late on its own). Exact virtual timers would lock a pump
 * interval to the packet period and turn float rounding into whole-interval steps of the send time.
 */
class LateTimers implements Clock {
  private next = 1;
  private readonly live = new Map<number, TimerHandle | undefined>();
  constructor(
    private readonly c: Clock,
    private readonly lateMs: number,
    private readonly rnd: Prng,
  ) {}
  now(): number {
    return this.c.now();
  }
  wall(): number {
    return this.c.wall();
  }
  both(): { now: number; wall: number } {
    return this.c.both();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.next++;
    this.live.set(
      id,
      this.c.setTimeout(
        () => {
          this.live.delete(id);
          fn();
        },
        ms + this.rnd.next() * this.lateMs,
      ),
    );
    return { id } as TimerHandle;
  }
  clearTimeout(h: TimerHandle | undefined): void {
    const id = (h as { id?: number } | undefined)?.id;
    if (id === undefined) return;
    this.c.clearTimeout(this.live.get(id));
    this.live.delete(id);
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    const id = this.next++;
    const t0 = this.c.now();
    let k = 0;
    const arm = () => {
      k++;
      const due = t0 + k * ms + this.rnd.next() * this.lateMs;
      this.live.set(
        id,
        this.c.setTimeout(
          () => {
            if (!this.live.has(id)) return;
            arm();
            fn();
          },
          Math.max(0, due - this.c.now()),
        ),
      );
    };
    arm();
    return { id } as TimerHandle;
  }
  clearInterval(h: TimerHandle | undefined): void {
    this.clearTimeout(h);
  }
}

/** A MulticastSender over a socket of the simulated UDP stack (what net.ts's openSender is over node:dgram). */
function simSender(sock: UdpSocket, address: string, hook: { mute: boolean; onRtp?: () => Buffer[] }): MulticastSender {
  return {
    address,
    send: (data, group, port) => {
      if (hook.mute) return;
      sock.send(data, port, group);
      if (port === PORT) for (const x of hook.onRtp?.() ?? []) sock.send(x, port, group);
    },
    close: () => sock.close(),
    errors: () => sock.errors(),
  };
}

class Grow {
  a = new Float64Array(1024);
  n = 0;
  push(x: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = x;
  }
  view(): Float64Array {
    return this.a.subarray(0, this.n);
  }
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))]!;
}

/** The sender's timeline: segments of (true wall of frame 0, raw ts base, ssrc, global frame index). */
interface Segment {
  wall0: number;
  ts0: number;
  ssrc: number;
  frame0: number;
}

const toLink = (n: Required<SimNetwork>): LinkProfile => ({ delayMs: n.baseDelayMs, jitterMs: n.jitterMs, loss: n.lossPct / 100 });

export async function simulateLoop(o: SimLoopOptions): Promise<SimLoopResult> {
  const seed = o.seed ?? 1;
  const prng = new Prng(seed);
  const snd = o.sender ?? {};
  const rate = snd.rate ?? 48000;
  const ch = snd.channels ?? 2;
  const pt = snd.payloadType ?? 127;
  const F = snd.framesPerPacket ?? 320;
  const sRate = rate * (1 + (snd.ppm ?? 0) / 1e6);
  const format: StreamFormat = { encoding: 'L16', rate, channels: ch, payloadType: pt };
  const base = new VirtualClock(0, 0);
  const net = new Network(base, { seed, epochMs: T0 });
  const trueWall = () => net.trueWall();
  const endWall = T0 + o.seconds * 1000;

  // The sender: one OutStream per segment (a restart is a new stream after a 40 ms gap, with no BYE: a crash).
  const senderHost = net.addHost({ address: SENDER, ppm: snd.ppm ?? 0 });
  const senderClock = new LateTimers(new DisciplinedClock(senderHost.clock, trueWall), 0.5, prng.fork());
  const segs: Segment[] = [];
  const restarts = [...(snd.restartsAtS ?? [])].sort((a, b) => a - b);
  let sentFrames = 0; // frames of all earlier segments, at the sender's rate
  /**
   * A sender without RTCP (rtcpIntervalMs null/0) is someone else's (PulseAudio's module-rtp-send,
   * GStreamer's udpsink), which cannot run in virtual time: modelled as sending each packet at the
   * instant its last frame is captured, on the sender's crystal. With RTCP it is ours: OutStream.
   */
  const foreignStream = (sock: UdpSocket, seg: Segment, hook: { mute: boolean; onRtp?: () => Buffer[] }): { stop(): void } => {
    const amp = Math.round(32767 * ((snd.signal ?? 'tone') === 'tone' ? (snd.amplitude ?? Math.pow(10, -1 / 20)) : 0));
    const w = (2 * Math.PI * (snd.toneHz ?? 1000)) / rate;
    const payload = Buffer.alloc(F * ch * 2);
    const seq0 = prng.int(0x10000);
    let k = 0,
      timer: TimerHandle | undefined;
    const next = () => {
      timer = base.setTimeout(
        () => {
          if (hook.mute) return;
          for (let i = 0; i < F; i++) {
            const v = Math.round(amp * Math.sin(w * (k * F + i)));
            for (let c = 0; c < ch; c++) payload.writeInt16BE(v, (i * ch + c) * 2);
          }
          sock.send(
            buildRtp(
              { payloadType: pt, sequence: (seq0 + k) & 0xffff, timestamp: (seg.ts0 + k * F) >>> 0, ssrc: seg.ssrc, marker: k === 0 },
              payload,
            ),
            PORT,
            GROUP,
          );
          for (const x of hook.onRtp?.() ?? []) sock.send(x, PORT, GROUP);
          k++;
          next();
        },
        seg.wall0 + ((k + 1) * F * 1000) / sRate - trueWall(),
      );
    };
    next();
    return { stop: () => base.clearTimeout(timer) };
  };
  const startStream = async (): Promise<{ stream: { stop(): void }; hook: { mute: boolean; onRtp?: () => Buffer[] } }> => {
    const sock = await senderHost.udp.open({ address: SENDER, port: 0 });
    const hook: { mute: boolean; onRtp?: () => Buffer[] } = {
      mute: false,
      onRtp: o.inject ? () => o.inject!(trueWall(), prng) : undefined,
    };
    const ids = { ssrc: 1 + prng.int(0xfffffffe), seq: prng.int(0x10000), rtp0: prng.int(2 ** 32) };
    const seg: Segment = { wall0: NaN, ts0: ids.rtp0, ssrc: ids.ssrc, frame0: sentFrames };
    segs.push(seg);
    if (!snd.rtcpIntervalMs) {
      seg.wall0 = trueWall();
      return { stream: foreignStream(sock, seg, hook), hook };
    }
    const amplitude = (snd.signal ?? 'tone') === 'tone' ? (snd.amplitude ?? Math.pow(10, -1 / 20)) : 0;
    const input = createToneInput({ frequency: snd.toneHz ?? 1000, amplitude });
    await input.open({ rate, channels: ch });
    const stream = new OutStream({
      id: 'sim',
      name: 'sim',
      group: GROUP,
      port: PORT,
      ttl: 1,
      format,
      framesPerPacket: F,
      sap: false,
      rtcp: true,
      srIntervalMs: snd.rtcpIntervalMs,
      input,
      sender: simSender(sock, SENDER, hook),
      clock: senderClock,
      log: quiet,
      cname: 'sim@sim',
      ids,
    });
    seg.wall0 = trueWall(); // frame 0 is due now: start() takes its t0 from this instant
    stream.start();
    return { stream, hook };
  };
  let current: Promise<{ stream: { stop(): void }; hook: { mute: boolean } }> = startStream();
  for (const at of restarts) {
    base.setTimeout(() => {
      void current.then(({ stream, hook }) => {
        hook.mute = true; // a crash: nothing more from the old stream, no BYE
        stream.stop();
        sentFrames += ((trueWall() - segs.at(-1)!.wall0) * sRate) / 1000;
        base.setTimeout(() => {
          sentFrames += (40 * sRate) / 1000;
          current = startStream();
        }, 40);
      });
    }, at * 1000);
  }

  interface P {
    spec: SimPlayerSpec;
    playout: Playout;
    loop: OutputLoop;
    dac: SimDac;
    join: number;
    wall: Grow;
    rtp: Grow;
    epoch: Grow;
    cpuUs: number;
    capFrom: number;
    cap: Grow | null;
    capClean: boolean;
    lastInfo: RenderInfo | null;
  }
  const players: P[] = [];
  o.players.forEach((spec, i) => {
    const address = `10.0.1.${i + 1}`;
    const host = net.addHost({ address });
    const n: Required<SimNetwork> = { baseDelayMs: 0.5, jitterMs: 0, lossPct: 0, ...o.network, ...spec.network };
    net.setLink(SENDER, address, toLink(n));
    const join = T0 + (spec.joinAtS ?? 0) * 1000;
    const rnd = prng.fork();
    base.setTimeout(() => {
      void startPlayer(spec, host.clock, host.udp, join, rnd).then((p) => players.push(p));
    }, join - T0);
  });
  const order = new Map<SimPlayerSpec, number>(o.players.map((sp, i) => [sp, i]));

  async function startPlayer(spec: SimPlayerSpec, hostClock: HostClock, udp: typeof senderHost.udp, join: number, rnd: Prng): Promise<P> {
    const clock = new LateTimers(hostClock, spec.tickJitterMs ?? 0.5, rnd);
    const outRate = spec.outputRate ?? 48000;
    const outCh = spec.outputChannels ?? 2;
    const blockFrames = spec.blockFrames ?? Math.round(outRate / ((spec.latencyMs ?? 100) < 50 ? 400 : 200));
    const fifo = spec.fifoFrames ?? 2 * blockFrames;
    const playout = new Playout({
      clock,
      latencyMs: spec.latencyMs ?? 100,
      trimMs: spec.trimMs ?? 0,
      outputRate: outRate,
      outputChannels: outCh,
      format,
    });
    const reopens = spec.dacReopens;
    const dac = createSimDac({
      device: 'sim',
      clock,
      log: quiet,
      ppm: spec.dacPpm,
      bufferMs: (fifo * 1000) / outRate,
      maxRecords: 64,
      // The retry exactly gapMs after the loss, as the spec says: the backoff's jitter (± 20 %, from
      // Math.random by default) made the reopen's gap, and every figure after it, differ between
      // runs of one seed (dac-reopen.test.ts: 1.3-3.3 µs for one case).
      random: () => 0.5,
      ...(reopens ? { retryMinMs: reopens.gapMs, retryMaxMs: reopens.gapMs } : {}),
    });
    await dac.open({ rate: outRate, channels: outCh });
    for (const atS of reopens?.atS ?? [])
      clock.setTimeout(
        () => {
          dac.unplug('sink process killed');
          dac.plug({ startLatencyMs: reopens!.startLatencyMs });
        },
        T0 + atS * 1000 - clock.wall(),
      );
    // The loop writes through a thin proxy that takes each block's record from the DAC's as it is written.
    const sink = wrapSink(dac, {
      write: (block, meta) => {
        dac.write(block, meta);
        collect(p, block, outCh);
      },
    });
    const loop = new OutputLoop({
      clock,
      sink,
      rate: outRate,
      channels: outCh,
      blockFrames,
      tickMs: spec.tickMs,
      newDacClock: () => new DacClock(outRate),
    });
    const p: P = {
      spec,
      playout,
      loop,
      dac,
      join,
      wall: new Grow(),
      rtp: new Grow(),
      epoch: new Grow(),
      cpuUs: 0,
      lastInfo: null,
      capFrom: spec.captureFromS === undefined ? Infinity : T0 + spec.captureFromS * 1000,
      cap: spec.captureFromS === undefined ? null : new Grow(),
      capClean: true,
    };
    // The renderer as the role sets it, timed (the simulation is single-threaded and CPU-bound, so
    // elapsed time in render is its CPU time), and each block's record taken from the DAC's.
    loop.setRenderer({
      render(out: Int16Array, firstFrameWallMs: number, dacRateHz: number): RenderInfo {
        const c0 = performance.now();
        const info = playout.render(out, firstFrameWallMs, dacRateHz);
        p.cpuUs += (performance.now() - c0) * 1000;
        p.lastInfo = info;
        return info;
      },
      discontinuity: (fresh: boolean) => playout.discontinuity(fresh),
    });
    for (const port of [PORT, PORT + 1]) {
      const sock = await udp.open({ address: GROUP, port, reuseAddr: true });
      sock.addMembership(GROUP);
      sock.onMessage((m) => {
        if (port === PORT) playout.pushRtp(m.data, clock.wall());
        else playout.pushRtcp(m.data, clock.wall());
      });
    }
    loop.start();
    return p;
  }
  // As the loop writes a block: the DAC's newest record is that block's (analog instant, RTP time).
  function collect(p: P, out: Int16Array, outCh: number): void {
    const r = p.dac.records.at(-1),
      info = p.lastInfo;
    if (!r || !info) return;
    p.wall.push(r.wallMs);
    p.rtp.push(r.rtpTimeAtStart ?? NaN);
    p.epoch.push(r.epoch);
    if (p.cap && r.wallMs >= p.capFrom) {
      for (let i = 0; i < r.frames; i++) p.cap.push(out[i * outCh]!);
      if (info.concealedFrames > 0 || info.silentFrames > 0) p.capClean = false;
    }
  }

  // Virtual time in 5 ms steps, letting the set-up of what started meanwhile (socket and DAC
  // opens are promises, as on the real stack) complete between steps.
  for (let t = 0; t < endWall - T0;) {
    t = Math.min(endWall - T0, t + 5);
    base.advanceTo(t);
    for (let k = 0; k < 16; k++) await null;
  }
  players.sort((a, b) => order.get(a.spec)! - order.get(b.spec)!);
  for (const p of players) p.loop.stop();
  return summarize(
    o,
    players.map((p) => ({
      wallMs: p.wall.view(),
      rtp: p.rtp.view(),
      epoch: p.epoch.view(),
      stats: p.playout.stats(),
      dacUnderruns: p.dac.underruns(),
      latency: p.spec.latencyMs ?? 100,
      trim: p.spec.trimMs ?? 0,
      join: p.join,
      cpuUs: p.cpuUs,
      capture: p.cap ? p.cap.view() : null,
      captureClean: p.capClean,
    })),
    segs,
    sRate,
    rate,
    endWall,
  );
}

interface Raw extends Omit<SimPlayerResult, 'errorUs'> {
  latency: number;
  trim: number;
  join: number;
  cpuUs: number;
}

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
    return {
      wallMs: r.wallMs,
      rtp: r.rtp,
      epoch: r.epoch,
      stats: r.stats,
      dacUnderruns: r.dacUnderruns,
      errorUs: err,
      capture: r.capture,
      captureClean: r.captureClean,
    };
  });
  // Pairwise sync error at common instants: q's error interpolated at p's block instants.
  // Episodes: from the later join, and from each sender restart (the new stream's first frame).
  const restartsAt = segs.slice(1).map((s) => s.wall0);
  const pairErrors: number[] = [];
  let joinToSync = 0,
    resync = 0;
  for (let a = 0; a < raw.length; a++) {
    for (let b = a + 1; b < raw.length; b++) {
      if (raw[a]!.latency + raw[a]!.trim !== raw[b]!.latency + raw[b]!.trim) continue;
      const pa = players[a]!,
        pb = players[b]!;
      const joinT = Math.max(raw[a]!.join, raw[b]!.join);
      const starts = [joinT, ...restartsAt.filter((r) => r > joinT)];
      const lastBad = starts.slice();
      let j = 0;
      for (let i = 0; i < pa.wallMs.length; i++) {
        const wv = pa.wallMs[i]!;
        if (wv < joinT) continue;
        while (j + 1 < pb.wallMs.length && pb.wallMs[j + 1]! <= wv) j++;
        if (j + 1 >= pb.wallMs.length || pb.wallMs[j]! > wv) continue;
        const e0 = pb.errorUs[j]!,
          e1 = pb.errorUs[j + 1]!,
          ea = pa.errorUs[i]!;
        const w0 = pb.wallMs[j]!,
          w1 = pb.wallMs[j + 1]!;
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
    let n = 0,
      sx = 0,
      sy = 0,
      sxx = 0,
      sxy = 0;
    for (let i = 0; i < p.wallMs.length; i++) {
      const e = p.errorUs[i]!;
      if (p.wallMs[i]! < steadyFrom || Number.isNaN(e)) continue;
      const x = (p.wallMs[i]! - steadyFrom) / 1000;
      n++;
      sx += x;
      sy += e;
      sxx += x * x;
      sxy += x * e;
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
    render_cpu_pct: (raw.reduce((s, r) => s + r.cpuUs, 0) / raw.length / 1e6 / seconds) * 100,
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
      const r0 = p.rtp[i - 2]!,
        r1 = p.rtp[i - 1]!,
        r2 = p.rtp[i]!;
      if (Number.isNaN(r0) || Number.isNaN(r1) || Number.isNaN(r2)) continue;
      // Consecutive blocks advance by the same amount to within the ratio's slow change.
      if (Math.abs(r2 - r1 - (r1 - r0)) > rate * 1e-4) jumps++;
    }
  }
  return jumps;
}
