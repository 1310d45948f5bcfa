// RTP time → wall time for one stream: the timing arbiter. Two mappings feed it: the sender's
// RTCP sender reports (sr-mapping.ts) and filtered packet arrivals (arrival-mapping.ts); it
// decides which one steers playout. Every player of a stream sees the same packets and SRs, so
// every player derives (nearly) the same mapping; that is what puts rooms in sync.
//
// Rules:
// - Timestamps here are unwrapped source frames (the jitter buffer's timeline); wall times are the
//   shared wall clock in ms. `wallOf(ts)` is the wall instant of source frame ts: its capture time
//   per the sender's SRs, or (without SRs) its earliest plausible arrival.
// - SRs steer playout only while they are consistent with what arrives. The check is the apparent
//   delay: the arrival floor of packet ends minus the instant the SR line says those frames were
//   captured, at the newest SR. A truthful SR from a disciplined clock makes it the network floor:
//   ≥ 0 and small. Trusted when it lies in [−srEarlyMs, srTrustMs] (default −3…+250 ms), and the
//   newest SR's NTP time is not later than its own arrival by more than srEarlyMs. Once trusted,
//   kept while inside twice that band: hysteresis, so the mapping never flaps. The late side is
//   capped by maxDelayMs (the playout's latency): audio arriving later than the latency after the
//   SR says it was captured is due before it arrives, so trusting it means silence. Judged at every SR
//   and every closed arrival bucket. Rejected SRs leave the arrival mapping in charge. Why:
//   · a sender clock hours or seconds off would mute or stall every player (late side);
//   · packets arriving before the SR says their audio was captured mean the SR's RTP↔NTP pairing
//     is not the packets' clock. ffmpeg's RTP muxer does that: it derives the SR's RTP time from
//     its NTP clock since its first RTCP, while `-re` releases each 1024-frame input block as soon
//     as the block's first frame is due, so every packet end arrives ~21 ms before its SR-implied
//     capture. Switching from arrivals to that mapping jumps 21 ms: a re-anchor (fade, jump)
//     that measured THD+N −16 dB over its third of a second (−37 dB over a 0.68 s window).
// - Sender drift (ppm) is the served slope; it is clamped to ±2000 ppm.

import { ArrivalMapping } from './arrival-mapping.ts';
import { SrMapping } from './sr-mapping.ts';

const MAX_DRIFT = 2000e-6;

export type TimingSource = 'rtcp' | 'arrival';

/**
 * The arrival mapping's step size for a playout latency (ms): a floor gap beyond a tenth of the
 * latency (5–20 ms) is taken at once (a re-anchor), not slewed. The lead a late step eats must
 * stay well inside what the latency leaves after the DAC's queue.
 */
export function arrivalStepMs(maxDelayMs: number): number {
  return Number.isFinite(maxDelayMs) ? Math.min(20, Math.max(5, maxDelayMs / 10)) : 10;
}

export interface StreamTimingOptions {
  bucketMs?: number;
  arrivalWindowMs?: number;
  minBuckets?: number;
  maxSenderReports?: number;
  /** Largest apparent delay (arrival floor − SR capture instant) for SRs to be trusted (ms). */
  srTrustMs?: number;
  /** How far before the SR-implied capture instant packets may arrive for SRs to be trusted (ms). */
  srEarlyMs?: number;
  /** The playout's latency (ms): no apparent delay beyond it is trusted, with or without hysteresis. */
  maxDelayMs?: number;
}

export class StreamTiming {
  private rate: number;
  private readonly srTrustMs: number;
  private readonly srEarlyMs: number;
  private readonly maxDelayMs: number;
  private readonly arrival: ArrivalMapping;
  private readonly sr: SrMapping;
  /** First packet's frame and arrival: the origin of both mappings' coordinates. */
  private tsRef = NaN;
  private dRef = 0;
  /** Steps of the mapping (mappingSteps), and the source when last judged. */
  private steps = 0;
  private judgedSource: TimingSource | null = null;
  private srOk = false;

  constructor(rate: number, o: StreamTimingOptions = {}) {
    this.rate = rate;
    this.srTrustMs = o.srTrustMs ?? 250;
    this.srEarlyMs = o.srEarlyMs ?? 3;
    this.maxDelayMs = o.maxDelayMs ?? Infinity;
    this.arrival = new ArrivalMapping(rate, MAX_DRIFT, { ...o, stepMs: arrivalStepMs(this.maxDelayMs) });
    this.sr = new SrMapping(rate, MAX_DRIFT, o.maxSenderReports ?? 16);
  }

  reset(rate = this.rate): void {
    this.rate = rate;
    this.arrival.reset(rate);
    this.sr.reset(rate);
    this.tsRef = NaN;
    this.judgedSource = null;
    this.srOk = false;
  }

  /**
   * This player's wall clock moved by `ms` (its house clock's first lock, a reference jump): the
   * arrival mapping, stamped on the old line, moves with it (its origin), and the SRs, judged
   * against it, are judged again from the next one.
   */
  shiftWall(ms: number): void {
    if (!Number.isFinite(ms) || Number.isNaN(this.tsRef)) return;
    this.dRef += ms;
    this.sr.reset(this.rate);
    this.srOk = false;
  }

  private get k0(): number {
    return 1000 / this.rate;
  }

  /**
   * A packet arrived at `arrivalWallMs`; `ts` is the (unwrapped) timeline point it stands for —
   * the playout passes the frame just after its last one, which the sender had captured when it sent.
   */
  onPacket(ts: number, arrivalWallMs: number): void {
    if (!Number.isFinite(ts) || !Number.isFinite(arrivalWallMs)) return;
    if (Number.isNaN(this.tsRef)) {
      this.tsRef = ts;
      this.dRef = arrivalWallMs;
    }
    const t = ts - this.tsRef;
    const update = this.arrival.add(ts, t, arrivalWallMs - this.dRef - t * this.k0);
    if (update === 'open') return;
    // A step of the arrival mapping (a floor gap too large to slew) is a step while arrivals are in charge.
    if (update === 'shifted' && !this.srTrusted()) this.steps++;
    this.judgeSr();
  }

  /**
   * How many times the mapping in charge stepped rather than drifted: the source changed between
   * arrivals and SRs, or the arrival floor moved too far to slew while arrivals were in charge.
   * The playout re-anchors on a step instead of slewing it.
   */
  mappingSteps(): number {
    return this.steps;
  }

  /**
   * An RTCP SR of the locked source: RTP time `ts` (unwrapped) was sampled at sender wall `wallMs`;
   * the SR arrived at `arrivalWallMs` (our wall clock; optional, for the future-report check).
   */
  onSenderReport(ts: number, wallMs: number, arrivalWallMs?: number): void {
    if (!Number.isFinite(ts) || !this.sr.accepts(wallMs)) return;
    if (Number.isNaN(this.tsRef)) return; // no packets yet: nothing to unwrap against
    this.sr.add(ts - this.tsRef, wallMs, arrivalWallMs);
    this.judgeSr();
  }

  private arrivalWall(t: number): number | null {
    const w = this.arrival.wall(t);
    return w === null ? null : this.dRef + w;
  }

  /** The arrival floor itself (the served line slews toward it): what SRs are judged against. */
  private arrivalFloor(t: number): number | null {
    const w = this.arrival.floor(t);
    return w === null ? null : this.dRef + w;
  }

  /**
   * Apparent delay under the SR mapping at the newest SR (ms): arrival floor of packet ends minus
   * the SR line's capture instant. NaN without both mappings.
   */
  srDelayMs(): number {
    if (!this.sr.has()) return NaN;
    const t = this.sr.newestT();
    const a = this.arrivalFloor(t);
    const s = this.sr.wall(t);
    return a === null || s === null ? NaN : a - s;
  }

  /** Re-decides whether SRs steer (see the rules above); called on every SR and closed bucket. */
  private judgeSr(): void {
    const delay = this.srDelayMs();
    if (Number.isNaN(delay)) {
      this.srOk = false;
      this.noteSource();
      return;
    }
    // Trusted SRs keep their trust inside a band twice as wide (hysteresis).
    const early = this.srOk ? 2 * this.srEarlyMs : this.srEarlyMs;
    const late = Math.min(this.maxDelayMs, this.srOk ? 2 * this.srTrustMs : this.srTrustMs);
    const lead = Number.isNaN(this.sr.lead()) ? 0 : this.sr.lead();
    this.srOk = delay >= -early && delay <= late && lead <= early;
    this.noteSource();
  }

  /** Counts a change between two sources as a step (not the first mapping of a stream). */
  private noteSource(): void {
    const src = this.source();
    if (src === this.judgedSource) return;
    if (this.judgedSource !== null && src !== null) this.steps++;
    this.judgedSource = src;
  }

  private srTrusted(): boolean {
    return this.srOk && this.sr.has();
  }

  source(): TimingSource | null {
    if (this.srTrusted()) return 'rtcp';
    return this.arrivalWall(0) === null ? null : 'arrival';
  }

  /** Wall instant (ms) of unwrapped source frame `ts`, or null before any packet. */
  wallOf(ts: number): number | null {
    if (Number.isNaN(this.tsRef)) return null;
    const t = ts - this.tsRef;
    return this.srTrusted() ? this.sr.wall(t) : this.arrivalWall(t);
  }

  /** Source frame (fractional, unwrapped) whose wall instant is `wallMs`, or null before any packet. */
  tsAt(wallMs: number): number | null {
    if (Number.isNaN(this.tsRef)) return null;
    const k = this.msPerFrame();
    const w0 = this.wallOf(this.tsRef);
    if (w0 === null) return null;
    return this.tsRef + (wallMs - w0) / k;
  }

  private msPerFrame(): number {
    return this.srTrusted() ? this.sr.msPerFrame() : this.arrival.msPerFrame();
  }

  /** Source frames per wall second (the sender's true rate). */
  sourceRateHz(): number {
    return 1000 / this.msPerFrame();
  }

  senderDriftPpm(): number {
    return (this.sourceRateHz() / this.rate - 1) * 1e6;
  }
}
