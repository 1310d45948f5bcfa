// The jitter buffer: RTP packets of one source, in timeline order, for the reader to play.
//
// Rules:
// - Lock: the first source heard is locked. Its sequence numbers are extended (RFC 3550 A.1 style)
//   and its timestamps unwrapped across 2^32 into one continuous frame timeline, starting at the
//   first packet's raw timestamp (so players that join within one wrap agree on every value).
// - Ordering: packets are kept sorted by timeline position; a packet whose sequence number was
//   already received is a duplicate; one that ends at or before the read cursor is late. Both are
//   dropped and counted.
// - Plausibility: a locked-source packet whose timestamp disagrees with its arrival time by more
//   than `maxSkewMs` (default 1 s; real gaps in sending keep the two consistent), or whose
//   sequence number jumps by more than 3000, is off-timeline: dropped and counted, unless it is
//   the start of a new run (below).
// - Re-sync on sender restart: a run of `probation` (3) packets that follow each other (seq + 1,
//   timestamps consistent) may take over the lock. From the locked SSRC off its timeline (the
//   sender restarted its timestamps or sequence): once the locked timeline has fallen silent
//   (nothing on it since the run began); at PulseAudio's 6.6 ms packets that is ~20 ms after the
//   restart. From another SSRC: only once the locked SSRC has been silent for `switchSilenceMs`
//   (default 100 ms), because two live senders on one group interleave, and a sender that sends
//   in bursts (GStreamer: a 1024-frame buffer as 3 packets back to back) makes "3 packets of the
//   other with none of ours between" ordinary: the player flipped 5–8 times in 9 s. While the
//   locked source keeps sending, another SSRC's packets are foreign: dropped and counted.
//   unlock() (on RTCP BYE) lets the next packet lock at once.
// - The JB never re-syncs itself: insert() says 'resync' and hands the run over (takeRun()); the
//   playout starts a new buffer (a new epoch) with it, while this one plays out what it holds.
// - Pinned (`ssrc` option, the subscribe command's `ssrc`): only that SSRC ever locks; every
//   other is foreign, whatever it does.
// - Capacity: at most `maxFrames` of audio ahead of the read cursor; beyond that the oldest go.
// - Loss: when the reader moves past a sequence gap, the missing packets count as lost.
// - History: packets the cursor has passed are kept for `historyFrames` (default 1 s) behind it,
//   so a reader restarted earlier (rewind) reads them again: a DAC reopened mid-play has lost the
//   audio queued in the old device, which the player had already taken from here
//   (engine/output-loop.ts); without them that audio was a queue's worth of silence.

export interface JbPacket {
  seq: number;
  ts: number;
  frames: number;
  /** L16 payload (copied), big-endian. */
  payload: Uint8Array;
  arrivalWallMs: number;
}

export type JbInsertResult = 'ok' | 'locked' | 'resync' | 'duplicate' | 'late' | 'foreign' | 'off-timeline' | 'probation';

export interface JitterBufferOptions {
  rate: number;
  maxFrames: number;
  probation?: number;
  maxSkewMs?: number;
  /** Silence of the locked SSRC before another SSRC may take over (ms, default 100). */
  switchSilenceMs?: number;
  /** Lock to this SSRC only (null/undefined: the first heard). */
  ssrc?: number | null;
  /** Played audio kept behind the cursor for rewind() (frames; default 1 s). */
  historyFrames?: number;
}

export interface JbRunPacket {
  ssrc: number;
  seq: number;
  tsRaw: number;
  frames: number;
  payload: Uint8Array;
  arrival: number;
}

interface Candidate {
  ssrc: number;
  seq: number;
  ts: number;
  arrival: number;
  frames: number;
  run: JbRunPacket[];
}

const SEQ_RING = 2048;

export class JitterBuffer {
  private rate: number;
  private readonly maxFrames: number;
  private readonly probation: number;
  private readonly maxSkewMs: number;
  private readonly switchSilenceMs: number;
  private readonly pinned: number | null;
  private takeover: JbRunPacket[] | null = null;
  private ssrcLocked: number | null = null;
  // Extended seq / unwrapped ts of the newest packet (highest seq), and its arrival.
  private maxSeq = 0;
  private lastTsRaw = 0;
  private lastTs = 0;
  private lastArrival = 0;
  private lastLockedArrival = -Infinity;
  private readonly seen = new Float64Array(SEQ_RING).fill(-1);
  private q: JbPacket[] = [];
  private head = 0;
  /** Oldest index of the history (played packets kept behind head). */
  private tail = 0;
  private readonly historyFrames: number;
  private cursor = -Infinity;
  private lastPlayedSeq: number | null = null;
  private cand: Candidate | null = null;
  /** End of the newest audio that arrived on the locked timeline, played in time or not. */
  private arrived = -Infinity;
  // Counters.
  received = 0;
  duplicates = 0;
  late = 0;
  foreign = 0;
  offTimeline = 0;
  lost = 0;
  overflow = 0;
  resyncs = 0;

  constructor(o: JitterBufferOptions) {
    this.rate = o.rate;
    this.maxFrames = o.maxFrames;
    this.probation = o.probation ?? 3;
    this.maxSkewMs = o.maxSkewMs ?? 1000;
    this.switchSilenceMs = o.switchSilenceMs ?? 100;
    this.pinned = o.ssrc ?? null;
    this.historyFrames = o.historyFrames ?? o.rate;
  }

  /** The SSRC this buffer is pinned to, if any. */
  pinnedSsrc(): number | null {
    return this.pinned;
  }

  ssrc(): number | null {
    return this.ssrcLocked;
  }

  /** Forgets everything (format change). Counters stay. */
  clear(rate = this.rate): void {
    this.rate = rate;
    this.ssrcLocked = null;
    this.q = [];
    this.head = 0;
    this.cursor = -Infinity;
    this.lastPlayedSeq = null;
    this.cand = null;
    this.arrived = -Infinity;
    this.seen.fill(-1);
  }

  /** The locked source said goodbye: the next source heard locks at once. */
  unlock(): void {
    this.ssrcLocked = null;
    this.cand = null;
  }

  /** Unwraps a raw 32-bit timestamp near the current timeline (for RTCP SRs). */
  unwrapTs(raw: number): number {
    return this.lastTs + ((raw - this.lastTsRaw) | 0);
  }

  insert(ssrc: number, seq16: number, tsRaw: number, frames: number, payload: Uint8Array, arrivalWallMs: number): JbInsertResult {
    if (this.pinned !== null && ssrc !== this.pinned) {
      this.foreign++;
      return 'foreign';
    }
    if (this.ssrcLocked === null) {
      this.lock(ssrc, seq16, tsRaw, arrivalWallMs);
      this.arrived = this.lastTs + frames;
      this.store(this.maxSeq, this.lastTs, frames, payload, arrivalWallMs);
      return 'locked';
    }
    if (ssrc !== this.ssrcLocked) return this.consider(ssrc, seq16, tsRaw, frames, payload, arrivalWallMs, 'foreign');
    const dSeq = ((seq16 - (this.maxSeq & 0xffff)) << 16) >> 16;
    const ext = this.maxSeq + dSeq;
    const ts = this.lastTs + ((tsRaw - this.lastTsRaw) | 0);
    const expectedArrival = this.lastArrival + ((ts - this.lastTs) * 1000) / this.rate;
    if (Math.abs(dSeq) > 3000 || Math.abs(arrivalWallMs - expectedArrival) > this.maxSkewMs) {
      return this.consider(ssrc, seq16, tsRaw, frames, payload, arrivalWallMs, 'off-timeline');
    }
    this.lastLockedArrival = arrivalWallMs;
    this.cand = null;
    const slot = ext & (SEQ_RING - 1);
    if (ts + frames > this.arrived) this.arrived = ts + frames;
    if (this.seen[slot] === ext) {
      this.duplicates++;
      return 'duplicate';
    }
    if (ts + frames <= this.cursor) {
      this.seen[slot] = ext;
      this.late++;
      return 'late';
    }
    if (ext > this.maxSeq) {
      this.maxSeq = ext;
      this.lastTsRaw = tsRaw >>> 0;
      this.lastTs = ts;
      this.lastArrival = arrivalWallMs;
    }
    this.store(ext, ts, frames, payload, arrivalWallMs);
    return 'ok';
  }

  /**
   * The wall clock the arrivals are stamped on moved by `ms` (a house clock's first lock, a
   * reference jump): the stamps kept for the plausibility check move with it. Left on the old line,
   * a step over maxSkewMs put every later packet off the timeline, and a step back also kept the
   * re-sync from ever finding the locked timeline silent: the player heard nothing from then on.
   */
  shiftArrivals(ms: number): void {
    if (!Number.isFinite(ms)) return;
    this.lastArrival += ms;
    this.lastLockedArrival += ms;
    if (this.cand) {
      this.cand.arrival += ms;
      for (const it of this.cand.run) it.arrival += ms;
    }
  }

  private lock(ssrc: number, seq16: number, tsRaw: number, arrival: number): void {
    this.ssrcLocked = ssrc;
    this.maxSeq = 65536 + seq16; // one cycle of headroom so early reordering stays positive
    this.lastTsRaw = tsRaw >>> 0;
    this.lastTs = tsRaw >>> 0;
    this.lastArrival = arrival;
    this.lastLockedArrival = arrival;
    this.arrived = -Infinity;
  }

  private store(ext: number, ts: number, frames: number, payload: Uint8Array, arrival: number): void {
    this.seen[ext & (SEQ_RING - 1)] = ext;
    this.received++;
    const p: JbPacket = { seq: ext, ts, frames, payload: Uint8Array.from(payload), arrivalWallMs: arrival };
    // Sorted insert by (ts, seq); almost always an append.
    let i = this.q.length;
    while (i > this.head && (this.q[i - 1]!.ts > ts || (this.q[i - 1]!.ts === ts && this.q[i - 1]!.seq > ext))) i--;
    this.q.splice(i, 0, p);
    // Capacity, measured from the read cursor (or the oldest packet before reading starts).
    const from = Number.isFinite(this.cursor) ? this.cursor : this.q[this.head]!.ts;
    while (this.q.length - this.head > 1 && this.endTs() - Math.max(from, this.q[this.head]!.ts) > this.maxFrames) {
      this.q[this.head++] = undefined as unknown as JbPacket;
      this.overflow++;
    }
    this.compact();
  }

  private consider(
    ssrc: number,
    seq16: number,
    tsRaw: number,
    frames: number,
    payload: Uint8Array,
    arrival: number,
    why: 'foreign' | 'off-timeline',
  ): JbInsertResult {
    const c = this.cand;
    const continues =
      c !== null &&
      c.ssrc === ssrc &&
      ((seq16 - c.seq) & 0xffff) === 1 &&
      Math.abs(arrival - (c.arrival + (((tsRaw - c.ts) | 0) * 1000) / this.rate)) <= this.maxSkewMs;
    const item = { ssrc, seq: seq16, tsRaw: tsRaw >>> 0, frames, payload: Uint8Array.from(payload), arrival };
    if (continues) {
      c.seq = seq16;
      c.ts = tsRaw >>> 0;
      c.arrival = arrival;
      c.frames = frames;
      c.run.push(item);
    } else {
      this.cand = { ssrc, seq: seq16, ts: tsRaw >>> 0, arrival, frames, run: [item] };
    }
    const run = this.cand!;
    // The locked timeline's own restart: it has stopped since the run began. Another SSRC: the
    // locked one has been silent for switchSilenceMs.
    const lockedSilent =
      why === 'off-timeline' ? this.lastLockedArrival < run.run[0]!.arrival : arrival - this.lastLockedArrival >= this.switchSilenceMs;
    if (run.run.length >= this.probation && lockedSilent) {
      this.takeover = run.run;
      this.cand = null;
      this.resyncs++;
      return 'resync';
    }
    if (why === 'foreign') this.foreign++;
    else this.offTimeline++;
    return run.run.length > 1 ? 'probation' : why;
  }

  /**
   * The run that took over at the last 'resync' (once): the new buffer is filled with it; this
   * one stays as it was, its packets still readable, and takes nothing more.
   */
  takeRun(): JbRunPacket[] {
    const r = this.takeover ?? [];
    this.takeover = null;
    return r;
  }

  private compact(): void {
    const keep = this.cursor - this.historyFrames;
    while (this.tail < this.head) {
      const p = this.q[this.tail];
      if (p && p.ts + p.frames > keep) break;
      this.q[this.tail++] = undefined as unknown as JbPacket;
    }
    if (this.tail > 256 && this.tail * 2 > this.q.length) {
      this.q = this.q.slice(this.tail);
      this.head -= this.tail;
      this.tail = 0;
    }
  }

  /** Moves the cursor back to `cursor`: played packets still in the history are readable again. */
  rewind(cursor: number): void {
    if (!(cursor < this.cursor)) return;
    while (this.head > this.tail) {
      const p = this.q[this.head - 1];
      if (!p || p.ts + p.frames <= cursor) break;
      this.head--;
    }
    this.cursor = cursor;
  }

  /** End of the newest audio that arrived on the locked timeline, late or not (−Infinity before any). */
  arrivedEnd(): number {
    return this.arrived;
  }

  /** End of the newest buffered packet on the timeline (−Infinity when empty). */
  bufferedEnd(): number {
    return this.endTs();
  }

  private endTs(): number {
    const last = this.q[this.q.length - 1];
    return last ? last.ts + last.frames : -Infinity;
  }

  // ---- reader side ----

  /** The earliest buffered packet, if any. */
  first(): JbPacket | undefined {
    return this.head < this.q.length ? this.q[this.head] : undefined;
  }

  /** Sets the read cursor (frames before it are played); drops packets it has passed, counting sequence gaps as lost. */
  advance(cursor: number): void {
    this.cursor = cursor;
    for (;;) {
      const p = this.first();
      if (!p) break;
      if (p.ts > cursor) break;
      // The reader has reached p: any sequence numbers skipped before it are lost.
      this.notePlayed(p.seq);
      if (p.ts + p.frames > cursor) break;
      this.head++; // kept as history (compact() ages it out)
    }
    this.compact();
  }

  private notePlayed(seq: number): void {
    if (this.lastPlayedSeq !== null && seq > this.lastPlayedSeq + 1) this.lost += seq - this.lastPlayedSeq - 1;
    if (this.lastPlayedSeq === null || seq > this.lastPlayedSeq) this.lastPlayedSeq = seq;
  }

  /** Buffered frames ahead of the cursor (or in total before reading starts). */
  bufferedFrames(): number {
    const f = this.first();
    if (!f) return 0;
    const from = Number.isFinite(this.cursor) ? Math.max(this.cursor, f.ts) : f.ts;
    return Math.max(0, this.endTs() - from);
  }

  /** Visits the buffered packets in timeline order (used once per re-sync, not per packet). */
  forEachPacket(fn: (p: JbPacket) => void): void {
    for (let i = this.head; i < this.q.length; i++) fn(this.q[i]!);
  }

  /** Number of packets held. */
  size(): number {
    return this.q.length - this.head;
  }
}
