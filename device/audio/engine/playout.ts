// The playout engine: RTP/RTCP datagrams in, DAC-ready blocks out, each block carrying exactly
// the audio whose first frame belongs at the wall instant the DAC will play it. Pure (no sockets,
// no timers); the player role (A2) feeds it packets and drives render() from its output loop.
//
// Chain (one stage per file): packets/rtp.ts parse/filter → packets/jitter-buffer.ts (order, lock,
// re-sync) → reader.ts (depacketize, conceal) → resampler.ts (ratio = sender rate / DAC rate ×
// (1 + u)) → volume.ts → int16. timing.ts maps RTP time to wall time; drift.ts turns the phase
// error into u.
//
// Rules:
// - Target: source frame T plays at wallOf(T) + latency + trim, on every player alike.
// - Per block: ideal = tsAt(firstFrameWall − latency − trim); e = ideal − position. The first
//   anchor waits until the ideal position reaches buffered audio (pre-roll silence meanwhile),
//   so the mapping has had the whole latency to settle. |e| > 5 ms re-anchors (fade out, jump,
//   fade in: only at start, re-sync or a clock step), and so does |e| > 0.5 ms on the block where
//   the timing source changes (arrivals → SRs after a join) or the sender's timing steps (its
//   arrival floor moved); otherwise the PI loop slews: no frame is
//   dropped or inserted in steady state. The loop is fast for a few seconds after an anchor, a
//   change of timing source (arrivals → SRs) or a move of the clock's line by CLOCK_MOVE_S or more
//   (a house-clock correction, told by the output loop: clockMoved), and calm after that.
// - Sender restart (a run of another SSRC once ours fell silent, or our SSRC on a new timeline,
//   or a new sender after BYE) starts a new epoch: a fresh buffer, reader, mapping and resampler,
//   fed the run at once, while the old epoch keeps playing what it had buffered. The output
//   moves to the new epoch when its audio is due (its pre-roll ends) or the old one has run out:
//   a cross-fade within one block when both have audio, else the new epoch's fade-in. Flushing
//   the old audio and waiting a latency again cost a latency of silence per restart (70 ms at
//   100 ms, 270 ms at 300 ms); now the gap is the sender's own.
// - Never throws on input: every bad datagram is counted (malformed, wrong payload type, foreign
//   SSRC, late, duplicate) and dropped.
import type { PlayoutOptions, PlayoutStats, RenderInfo, StreamFormat } from '../types.ts';
import { parseRtp } from '../packets/rtp.ts';
import { parseRtcp } from '../packets/rtcp.ts';
import { bytesPerFrame, sameFormat, staticFormat } from '../packets/formats.ts';
import { JitterBuffer } from '../packets/jitter-buffer.ts';
import { SourceReader } from './reader.ts';
import { StreamTiming } from './timing.ts';
import { Resampler } from './resampler.ts';
import { DriftController } from './drift.ts';
import { GainRamp, VolumeControl } from './volume.ts';

const READ_CHUNK = 1024;
const REANCHOR_S = 0.005;
// When the timing source changes (arrivals → SRs, a second or so after a join), the ideal
// position moves by the network's floor, a few ms at most: slewing that took the loop ~2 s with a
// 10-cent pitch bend and a 200 µs overshoot (the bench's join time); a re-anchor (5 ms cross-fade)
// takes one block. Above this error a switch re-anchors.
const REANCHOR_SWITCH_S = 0.0005;
// Gain scheduling of the drift loop: ωn decays from ACQ_OMEGA to STEADY_OMEGA with time constant
// ACQ_TAU_S after an anchor or a change of timing source (arrivals → SRs), so a join settles in
// about a second while the steady loop stays calm (smooth ratio, no audible FM).
const STEADY_OMEGA = 0.5;
const ACQ_OMEGA = 4;
const ACQ_TAU_S = 2;
// A move of the clock's line this large (a house-clock correction) restarts the fast gains, as an
// anchor does: at the steady gains the loop took seconds to follow it (a joining player 66-76 µs
// early at +3.6-5.6 s, rooms bench), while estimator noise in steady state moves it a few µs.
const CLOCK_MOVE_S = 50e-6;
const MIN_LATENCY_MS = 20;
// The ratio the resampler gets is the loop's output through a first-order low-pass with time
// constant RATIO_TAU / ωn (0.2 s steady, 25 ms acquiring): its pole sits 10× above the loop's
// natural frequency (≈ 6° of phase margin; join time unchanged in the bench), yet a step in the
// timing estimate (a new point on an arrival hull, a refitted SR line) becomes a ramp instead of a
// frequency step. A step of a few hundred ppm otherwise puts a phase kink into the tone: −55 dB
// THD+N over the window around it with ffmpeg's jittery pacing (−81 dB with the filter).
const RATIO_TAU = 0.1;

interface Stream {
  format: StreamFormat;
  jb: JitterBuffer;
  reader: SourceReader;
  timing: StreamTiming;
  rs: Resampler;
  rsCh: number;
}

export class Playout {
  private readonly o: PlayoutOptions;
  private readonly latencyMs: number;
  private readonly trimMs: number;
  private s: Stream | null = null;
  /** The previous epoch after a sender restart, playing out what it buffered (always anchored). */
  private old: Stream | null = null;
  private pinned: number | null = null;
  private readonly drift = new DriftController();
  private readonly volume: VolumeControl;
  private readonly fade = new GainRamp(1);
  private anchored = false;
  private hadLock = false;
  private lastError = 0;
  private lastRatio = 0;
  /** The smoothed ratio fed to the resampler (0: none yet). */
  private smoothRatio = 0;
  /** The feed-forward ratio of the previous block (0 after an anchor): its changes are rebased into the drift loop. */
  private lastFf = 0;
  /** Seconds of output since the loop last (re)acquired, and the timing's mappingSteps() then. */
  private acqS = 0;
  private acqSteps = 0;
  // Scratch (grown on demand, never per frame).
  private readBuf = new Float32Array(READ_CHUNK * 2);
  private monoBuf = new Float32Array(READ_CHUNK);
  private fout = new Float32Array(0);
  // Counters that outlive a stream.
  private malformed = 0;
  private wrongPt = 0;
  private resyncs = 0;
  private reanchors = 0;
  /** discontinuity() was called: the next block re-anchors whatever its error ('fresh': with no fade-out). */
  private jumpNext: false | 'fade' | 'fresh' = false;
  private prev = { received: 0, lost: 0, late: 0, duplicates: 0, foreign: 0, offTimeline: 0, concealed: 0, underruns: 0 };

  constructor(opts: PlayoutOptions) {
    this.o = opts;
    this.latencyMs = Math.max(MIN_LATENCY_MS, Number.isFinite(opts.latencyMs) ? opts.latencyMs : 100);
    this.trimMs = Number.isFinite(opts.trimMs) ? opts.trimMs! : 0;
    this.volume = new VolumeControl(opts.outputRate);
    if (opts.format) this.setFormat(opts.format);
  }

  setFormat(f: StreamFormat): void {
    if (this.s && sameFormat(this.s.format, f)) return;
    if (f.encoding !== 'L16' || (f.channels !== 1 && f.channels !== 2) || !(f.rate >= 8000 && f.rate <= 192000)) return;
    this.retire();
    this.s = this.newStream(f);
    this.anchored = false;
    this.hadLock = false;
  }

  private newStream(f: StreamFormat): Stream {
    const rate = f.rate;
    const jb = new JitterBuffer({ rate, maxFrames: Math.round((rate * (this.latencyMs + this.trimMs + 2000)) / 1000), ssrc: this.pinned });
    const rsCh = this.o.outputChannels === 1 ? 1 : f.channels;
    return {
      format: f,
      jb,
      rsCh,
      reader: new SourceReader(jb, f.channels, rate),
      timing: new StreamTiming(rate, { maxDelayMs: this.latencyMs + this.trimMs }),
      rs: new Resampler({ channels: rsCh, nominalRatio: rate / this.o.outputRate }),
    };
  }

  /**
   * Locks to one SSRC only (null: the first heard, switching on silence). Starts over: what is
   * buffered belongs to whatever was locked before.
   */
  pinSsrc(ssrc: number | null): void {
    if (ssrc === this.pinned) return;
    this.pinned = ssrc;
    this.reset();
  }

  /** Folds a stream's counters into the totals before it is replaced. */
  private retire(): void {
    this.dropOld();
    const s = this.s;
    if (!s) return;
    this.fold(s);
    this.s = null;
  }

  /** The old epoch is done: its counters join the totals. */
  private dropOld(): void {
    if (this.old) this.fold(this.old);
    this.old = null;
  }

  private fold(s: Stream): void {
    const p = this.prev;
    p.received += s.jb.received;
    p.lost += s.jb.lost;
    p.late += s.jb.late;
    p.duplicates += s.jb.duplicates;
    p.foreign += s.jb.foreign;
    p.offTimeline += s.jb.offTimeline;
    p.concealed += s.reader.concealedFrames;
    p.underruns += s.reader.underruns;
    this.resyncs += s.jb.resyncs;
  }

  pushRtp(datagram: Buffer | Uint8Array, arrivalWallMs: number): void {
    const r = parseRtp(datagram);
    if (!r.ok) {
      this.malformed++;
      return;
    }
    const pkt = r.packet;
    if (!this.s) {
      const f = staticFormat(pkt.payloadType);
      if (!f) {
        this.wrongPt++;
        return;
      } // a dynamic PT and no SDP/format to say what it is
      this.setFormat(f);
    }
    const s = this.s!;
    if (pkt.payloadType !== s.format.payloadType) {
      this.wrongPt++;
      return;
    }
    const bpf = bytesPerFrame(s.format);
    const len = pkt.payload.length;
    if (len === 0 || len % bpf !== 0 || len / bpf > s.format.rate) {
      this.malformed++;
      return;
    }
    const frames = len / bpf;
    // A new sender after BYE: a new epoch, as for a re-sync.
    if (this.hadLock && s.jb.ssrc() === null) this.newEpoch(true);
    const cur = this.s!;
    const res = cur.jb.insert(pkt.ssrc, pkt.sequence, pkt.timestamp, frames, pkt.payload, arrivalWallMs);
    // The arrival filter is fed the packet's END: a packet leaves its sender once its last frame is
    // captured, so arrival floor ≈ capture instant + network floor, the same reference an SR gives
    // (switching from arrivals to SRs then moves the mapping by the network floor only).
    if (res === 'ok' || res === 'locked') {
      this.hadLock = true;
      cur.timing.onPacket(cur.jb.unwrapTs(pkt.timestamp) + frames, arrivalWallMs);
    } else if (res === 'resync') {
      const run = cur.jb.takeRun();
      const next = this.newEpoch(false);
      // The new lock holds the probation run: each packet informs the arrival filter at once.
      for (const it of run) {
        const r = next.jb.insert(it.ssrc, it.seq, it.tsRaw, it.frames, it.payload, it.arrival);
        if (r === 'ok' || r === 'locked') {
          next.timing.onPacket(next.jb.unwrapTs(it.tsRaw) + it.frames, it.arrival);
        }
      }
    }
  }

  /**
   * Sender restart (or a new sender after BYE): a fresh epoch takes the packets; the current one,
   * if it was playing, plays out its buffer meanwhile (see render). `count`: counted here (a
   * re-sync by the JB is counted by the JB).
   */
  private newEpoch(count: boolean): Stream {
    const s = this.s!;
    this.dropOld();
    if (this.anchored) this.old = s;
    else this.fold(s);
    this.s = this.newStream(s.format);
    this.anchored = false;
    if (count) this.resyncs++;
    return this.s;
  }

  pushRtcp(datagram: Buffer | Uint8Array, arrivalWallMs: number): void {
    const r = parseRtcp(datagram);
    const s = this.s;
    if (!r.ok || !s) return;
    const locked = s.jb.ssrc();
    if (locked === null) return;
    for (const sr of r.rtcp.senderReports) {
      if (sr.ssrc === locked) s.timing.onSenderReport(s.jb.unwrapTs(sr.rtpTimestamp), sr.wallMs, arrivalWallMs);
    }
    if (r.rtcp.byes.includes(locked)) s.jb.unlock();
  }

  /**
   * The output's timeline moved under the playout (a new DAC epoch, or its first blocks' provisional
   * instants replaced by measured ones: engine/output-loop.ts): the next block re-anchors (a fade
   * within the block) instead of slewing the jump, which the calm drift loop would carry for seconds.
   * `fresh`: the block starts a new DAC run (nothing of the old position is heard): it starts at
   * its ideal position at once, as a first anchor does, with no fade-out of the old position.
   */
  discontinuity(fresh = false): void {
    this.jumpNext = fresh ? 'fresh' : 'fade';
  }

  render(out: Int16Array, firstFrameWallMs: number, dacRateHz: number): RenderInfo {
    const outCh = this.o.outputChannels;
    const n = Math.floor(out.length / outCh);
    const silent = (): RenderInfo => {
      out.fill(0);
      return { rtpTimeAtStart: null, syncErrorUs: 0, concealedFrames: 0, silentFrames: n, leadMs: null };
    };
    if (!this.s || n === 0 || !Number.isFinite(firstFrameWallMs) || !(dacRateHz > 0)) return silent();
    const at = firstFrameWallMs - this.latencyMs - this.trimMs;
    if (this.old) {
      const due = this.dueAt(this.s, at, n, dacRateHz);
      const old = this.old;
      const oldHas = old.jb.bufferedEnd() > old.rs.position();
      if (due !== null && oldHas) return this.crossfadeEpochs(out, n, due, at, dacRateHz);
      if (due !== null || !oldHas) this.dropOld();
      else return this.renderStream(old, true, out, n, at, dacRateHz) ?? silent();
    }
    const r = this.renderStream(this.s, this.anchored, out, n, at, dacRateHz);
    if (r) return r;
    // Pre-roll (or no mapping yet): silence, with how far ahead of its instant the audio is.
    const info = silent();
    info.leadMs = this.leadMs(this.s, at);
    return info;
  }

  /** Where stream `s` would anchor for a block whose first frame is due at `at` (ms), or null while it pre-rolls. */
  private dueAt(s: Stream, at: number, n: number, dacRateHz: number): number | null {
    const ideal = s.timing.tsAt(at);
    const first = s.jb.first();
    if (ideal === null || !first) return null;
    const ff = s.timing.sourceRateHz() / dacRateHz;
    return ideal + n * ff + s.rs.lookahead < first.ts ? null : ideal;
  }

  /**
   * The new epoch's audio is due while the old one still has some: the first half of the block
   * fades the old out at its position, the second fades the new one in at its ideal position.
   */
  private crossfadeEpochs(out: Int16Array, n: number, ideal: number, at: number, dacRateHz: number): RenderInfo {
    const old = this.old!,
      s = this.s!;
    const h = Math.max(1, n >> 1);
    const ch = Math.max(old.rsCh, s.rsCh);
    if (this.fout.length < n * ch) this.fout = new Float32Array(n * ch);
    const ratioOld = this.smoothRatio > 0 ? this.smoothRatio : old.timing.sourceRateHz() / dacRateHz;
    this.fade.set(1);
    this.fade.rampTo(0, h);
    const a = this.produce(old, 0, h, ratioOld);
    this.fade.apply(this.fout, 0, h, old.rsCh);
    this.dropOld();
    const ff = s.timing.sourceRateHz() / dacRateHz;
    this.anchor(s, ideal + h * ff);
    this.fade.rampTo(1, n - h);
    const b = this.produce(s, h, n - h, ff);
    this.fade.apply(this.fout, h, n - h, s.rsCh);
    this.reanchors++;
    this.lastError = 0;
    this.lastRatio = ff;
    this.volume.apply(this.fout, 0, n, s.rsCh);
    this.toInt16(out, n, s.rsCh, this.o.outputChannels);
    return {
      rtpTimeAtStart: ideal,
      syncErrorUs: 0,
      concealedFrames: Math.round((a.concealed + b.concealed) / ff),
      silentFrames: Math.round((a.silent + b.silent) / ff),
      leadMs: this.leadMs(s, at),
    };
  }

  /** How far ahead of the playout position the newest audio of `s` reaches (ms; negative: it arrives late). */
  private leadMs(s: Stream, at: number): number | null {
    const end = s.jb.arrivedEnd();
    const pos = s.timing.tsAt(at);
    if (!Number.isFinite(end) || pos === null) return null;
    return ((end - pos) * 1000) / s.format.rate;
  }

  /** Renders one block from stream `s` (anchoring it first unless `anchored`); null while it pre-rolls. */
  private renderStream(s: Stream, anchored: boolean, out: Int16Array, n: number, at: number, dacRateHz: number): RenderInfo | null {
    const outCh = this.o.outputChannels;
    const ideal = s.timing.tsAt(at);
    if (ideal === null) return null;
    const jump = this.jumpNext;
    this.jumpNext = false;
    const ff = s.timing.sourceRateHz() / dacRateHz;
    if (this.fout.length < n * s.rsCh) this.fout = new Float32Array(n * s.rsCh);
    let concealed = 0,
      silentFrames = 0;
    let startPos: number;
    let ratio: number;
    if (!anchored) {
      const first = s.jb.first();
      // Pre-roll: wait until the ideal position reaches buffered audio.
      if (!first || ideal + n * ff + s.rs.lookahead < first.ts) return null;
      this.anchor(s, ideal);
      this.fade.set(1);
      this.lastError = 0;
      ratio = ff;
      startPos = ideal;
      const r = this.produce(s, 0, n, ratio);
      concealed += r.concealed;
      silentFrames += r.silent;
    } else {
      const e = (ideal - s.rs.position()) / s.format.rate;
      this.lastError = e;
      // The mapping stepped (timing.mappingSteps: arrivals → SRs, or the sender's arrival floor
      // moved, where its audio already has its glitch): slewing that bent the pitch for seconds.
      const steps = s.timing.mappingSteps();
      const switched = steps !== this.acqSteps;
      if (jump === 'fresh') {
        this.reanchors++;
        ratio = ff;
        startPos = ideal;
        this.anchor(s, ideal);
        this.fade.set(1);
        const r = this.produce(s, 0, n, ratio);
        concealed += r.concealed;
        silentFrames += r.silent;
        this.lastError = 0;
      } else if (
        jump ||
        Math.abs(e) > (switched ? REANCHOR_SWITCH_S : REANCHOR_S) ||
        s.rs.inputNeeded(n, ff) - s.rs.inputEnd() > s.rs.capacity() / 2
      ) {
        // Fade out at the old position, jump, fade in at the new one.
        this.reanchors++;
        const h = Math.max(1, n >> 1);
        ratio = ff;
        startPos = s.rs.position();
        this.fade.rampTo(0, h);
        const a = this.produce(s, 0, h, ratio);
        this.fade.apply(this.fout, 0, h, s.rsCh);
        this.anchor(s, ideal + h * ff);
        this.fade.rampTo(1, n - h);
        const b = this.produce(s, h, n - h, ratio);
        this.fade.apply(this.fout, h, n - h, s.rsCh);
        concealed += a.concealed + b.concealed;
        silentFrames += a.silent + b.silent;
        this.lastError = 0;
      } else {
        if (switched) {
          this.acqSteps = steps;
          this.acqS = 0;
        }
        const k = Math.exp(-this.acqS / ACQ_TAU_S);
        const omega = STEADY_OMEGA + (ACQ_OMEGA - STEADY_OMEGA) * k;
        this.drift.setOmega(omega, 1 + 2 * k);
        if (this.lastFf > 0) this.drift.rebase(this.lastFf / ff);
        this.lastFf = ff;
        this.acqS += n / dacRateHz;
        const u = this.drift.update(e, n / dacRateHz);
        const target = ff * (1 + u);
        if (!(this.smoothRatio > 0)) this.smoothRatio = target;
        this.smoothRatio += (1 - Math.exp((-(n / dacRateHz) * omega) / RATIO_TAU)) * (target - this.smoothRatio);
        ratio = this.smoothRatio;
        startPos = s.rs.position();
        const r = this.produce(s, 0, n, ratio);
        concealed += r.concealed;
        silentFrames += r.silent;
        if (this.fade.ramping()) this.fade.apply(this.fout, 0, n, s.rsCh);
      }
    }
    this.lastRatio = ratio;
    this.volume.apply(this.fout, 0, n, s.rsCh);
    this.toInt16(out, n, s.rsCh, outCh);
    const playing = s.reader.hasPlayed();
    return {
      rtpTimeAtStart: playing ? startPos : null,
      syncErrorUs: this.lastError * 1e6,
      concealedFrames: Math.round(concealed / ratio),
      silentFrames: Math.round(silentFrames / ratio),
      leadMs: this.leadMs(s, at),
    };
  }

  /** The clock's line moved by `deltaMs` (OutputLoop's Renderer.clockMoved): a big move restarts the fast gains. */
  clockMoved(deltaMs: number): void {
    const d = Math.abs(deltaMs) / 1000;
    if (d >= CLOCK_MOVE_S) this.acqS = 0;
    // A move too large to slew (the house clock's first lock on a player that joined the stream
    // on its OS clock, a reference jump): what was stamped on the old line moves with it, the
    // jitter buffer's arrivals and the arrival mapping; the error left is re-anchored.
    if (d > REANCHOR_S)
      for (const s of [this.s, this.old]) {
        s?.jb.shiftArrivals(deltaMs);
        s?.timing.shiftWall(deltaMs);
      }
  }

  private anchor(s: Stream, pos: number): void {
    s.rs.setPosition(pos);
    s.reader.start(Math.floor(pos) - s.rs.lookahead + 1);
    this.drift.reset(this.drift.learned());
    this.smoothRatio = (s.timing.sourceRateHz() / this.o.outputRate) * (1 + this.drift.learned());
    if (s === this.s) this.anchored = true;
    this.lastFf = 0;
    this.acqS = 0;
    this.acqSteps = s.timing.mappingSteps();
  }

  /** Renders `n` frames into fout at frame `at`, pulling source frames through the reader. */
  private produce(s: Stream, at: number, n: number, ratio: number): { concealed: number; silent: number } {
    const srcCh = s.format.channels;
    const need = s.rs.inputNeeded(n, ratio);
    let concealed = 0,
      silent = 0;
    if (this.readBuf.length < READ_CHUNK * srcCh) this.readBuf = new Float32Array(READ_CHUNK * srcCh);
    while (s.rs.inputEnd() < need) {
      const k = Math.min(READ_CHUNK, need - s.rs.inputEnd());
      const r = s.reader.read(this.readBuf, k);
      concealed += r.concealed;
      silent += r.silent;
      if (s.rsCh === srcCh) {
        s.rs.push(this.readBuf, k);
      } else {
        // Stereo source, mono output: mix down before resampling (half the work).
        const m = this.monoBuf;
        for (let i = 0; i < k; i++) m[i] = 0.5 * (this.readBuf[2 * i]! + this.readBuf[2 * i + 1]!);
        s.rs.push(m, k);
      }
    }
    s.rs.process(this.fout, at, n, ratio);
    return { concealed, silent };
  }

  private toInt16(out: Int16Array, n: number, rsCh: number, outCh: number): void {
    const f = this.fout;
    if (rsCh === outCh) {
      for (let i = 0; i < n * outCh; i++) {
        const v = Math.round(f[i]! * 32768);
        out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      }
    } else {
      // Mono source on a stereo DAC: the same sample on both channels.
      for (let i = 0; i < n; i++) {
        const v0 = Math.round(f[i]! * 32768);
        const v = v0 > 32767 ? 32767 : v0 < -32768 ? -32768 : v0;
        out[2 * i] = v;
        out[2 * i + 1] = v;
      }
    }
  }

  setVolume(gain: number, rampMs: number): void {
    this.volume.setVolume(gain, rampMs);
  }

  setMuted(m: boolean): void {
    this.volume.setMuted(m);
  }

  stats(): PlayoutStats {
    const s = this.s;
    const p = this.prev;
    const rate = s?.format.rate ?? 0;
    const nominal = s ? s.format.rate / this.o.outputRate : 1;
    // Live epochs: the current one and the old one still playing out.
    const live = [this.old, s].filter((x): x is Stream => x !== null);
    const sum = (f: (x: Stream) => number) => live.reduce((acc, x) => acc + f(x), 0);
    return {
      ssrc: s?.jb.ssrc() ?? null,
      received: p.received + sum((x) => x.jb.received),
      lost: p.lost + sum((x) => x.jb.lost),
      late: p.late + sum((x) => x.jb.late),
      duplicates: p.duplicates + sum((x) => x.jb.duplicates),
      concealed: p.concealed + sum((x) => x.reader.concealedFrames),
      malformed: this.malformed + p.offTimeline + sum((x) => x.jb.offTimeline),
      wrongPt: this.wrongPt,
      foreignSsrc: p.foreign + sum((x) => x.jb.foreign),
      resyncs: this.resyncs + sum((x) => x.jb.resyncs),
      underruns: p.underruns + sum((x) => x.reader.underruns),
      bufferMs: s && rate ? (s.jb.bufferedFrames() * 1000) / rate : 0,
      driftPpm: this.lastRatio ? (this.lastRatio / nominal - 1) * 1e6 : 0,
      senderDriftPpm: s ? s.timing.senderDriftPpm() : 0,
      syncErrorUs: this.lastError * 1e6,
      format: s ? { ...s.format } : null,
      reanchors: this.reanchors,
      timingSource: s ? s.timing.source() : null,
    };
  }

  /** Drops the stream state (buffer, mapping, anchor); the format and the counters stay. */
  reset(): void {
    const f = this.s?.format;
    this.retire();
    if (f) this.setFormat(f);
    this.drift.reset();
  }
}
