// What actually reaches the DAC, judged from outside the playout engine: every block the output
// loop writes (stream audio, concealment or silence, written on time or after the DAC needed
// it), how far ahead of its playout instant the stream's audio arrives, and whether the sink's
// position moves. A player's `playing`, sync error and output status come from here, not from
// "packets are arriving": a player whose mapping put every block in the past kept saying
// `playing: true` and a sync error of −12 µs while it wrote nothing but silence.
//
// Rules:
// - Judged over the last second (ten 100 ms bins), on the injected clock; pure.
// - Audible: frames of stream audio written (not silence, not concealment). Muted audio counts
//   as audible: the state says `muted` beside it.
// - A block is written late when its first frame's DAC instant (the DacClock's prediction) had
//   already passed by more than LATE_MS: the DAC ran dry before it (an output-loop stall). The
//   first second of a sink epoch is not judged (the queue is filling).
// - Lead: how far the newest buffered audio reaches past the playout position (RenderInfo.leadMs);
//   below zero the stream arrives after its playout instant, so nothing of it can be played.
// - The sink is stalled when it is open, holds written frames, and its consumed-frames position
//   has not moved for STALL_MS.
// - Status, first match: sink-lost; sink-stalled; idle (no packets for 2 s, told by the caller);
//   playing (≥ half the window's frames audible, < 10 % of its blocks late); late (lead < 0, or
//   ≥ 10 % of blocks late); buffering (nothing audible yet, audio ahead of its instant: pre-roll
//   after a join or re-sync); silent (anything else).
import type { RenderInfo } from '../types.ts';
import type { SinkStatus } from '../../hal/audio-out.ts';

export type OutputStatus = 'idle' | 'buffering' | 'playing' | 'late' | 'silent' | 'sink-lost' | 'sink-stalled';

export interface OutputReport {
  status: OutputStatus;
  /** Why, for anything but playing and idle. */
  reason: string | null;
  /** Share of the last second's written frames that were stream audio (0..1). */
  audible: number;
  /** Lowest lead over the last second (ms), null without a stream. */
  leadMs: number | null;
  /** Mean sync error of the audible blocks of the last second (µs), null when none. */
  syncErrorUs: number | null;
}

const BIN_MS = 100;
const BINS = 10;
const LATE_MS = 2;
const STALL_MS = 500;
const SETTLE_MS = 1000;

interface Bin {
  id: number;
  frames: number;
  audible: number;
  blocks: number;
  late: number;
  lead: number;
  errSum: number;
  errN: number;
}

export class OutputMonitor {
  private readonly bins: Bin[] = Array.from({ length: BINS }, () => ({
    id: -1,
    frames: 0,
    audible: 0,
    blocks: 0,
    late: 0,
    lead: Infinity,
    errSum: 0,
    errN: 0,
  }));
  private epoch = -1;
  private epochStart = 0;
  private lastConsumed = -1;
  private movedAt = 0;
  private stalled = false;
  /** Cumulative: blocks written after their DAC instant, blocks written while the sink was lost, silence written (frames). */
  lateBlocks = 0;
  droppedBlocks = 0;
  silentFrames = 0;

  private bin(nowMs: number): Bin {
    const id = Math.floor(nowMs / BIN_MS);
    const b = this.bins[id % BINS]!;
    if (b.id !== id) {
      b.id = id;
      b.frames = b.audible = b.blocks = b.late = b.errSum = b.errN = 0;
      b.lead = Infinity;
    }
    return b;
  }

  /** The sink's position at a tick: its epoch, consumed and written frames, its status. */
  position(nowMs: number, epoch: number, consumed: number, written: number, status: SinkStatus): void {
    if (epoch !== this.epoch) {
      this.epoch = epoch;
      this.epochStart = nowMs;
      this.lastConsumed = -1;
    }
    if (consumed !== this.lastConsumed || status !== 'open' || written <= consumed) {
      this.lastConsumed = consumed;
      this.movedAt = nowMs;
    }
    this.stalled = nowMs - this.movedAt >= STALL_MS;
  }

  /**
   * One block written at `nowMs`: `frames` long, rendered as `info` (null: no renderer), its first
   * frame due at the DAC at `dueWallMs` while the wall clock read `wallMs`.
   */
  block(nowMs: number, frames: number, info: RenderInfo | null, dueWallMs: number, wallMs: number, status: SinkStatus): void {
    const b = this.bin(nowMs);
    b.frames += frames;
    b.blocks++;
    const audible = info && info.rtpTimeAtStart !== null ? Math.max(0, frames - info.silentFrames - info.concealedFrames) : 0;
    b.audible += audible;
    if (audible < frames) this.silentFrames += frames - audible;
    if (info && info.leadMs !== null) b.lead = Math.min(b.lead, info.leadMs);
    if (info && audible > 0) {
      b.errSum += info.syncErrorUs;
      b.errN++;
    }
    if (status === 'lost') this.droppedBlocks++;
    else if (nowMs - this.epochStart >= SETTLE_MS && wallMs - dueWallMs > LATE_MS) {
      b.late++;
      this.lateBlocks++;
    }
  }

  /** The output over the last second; `live`: packets of the stream arrived in the last 2 s. */
  report(nowMs: number, live: boolean, sinkStatus: SinkStatus, sinkError: string | null): OutputReport {
    const id = Math.floor(nowMs / BIN_MS);
    let frames = 0,
      audible = 0,
      blocks = 0,
      late = 0,
      lead = Infinity,
      errSum = 0,
      errN = 0;
    for (const b of this.bins) {
      if (b.id <= id - BINS || b.id > id) continue;
      frames += b.frames;
      audible += b.audible;
      blocks += b.blocks;
      late += b.late;
      lead = Math.min(lead, b.lead);
      errSum += b.errSum;
      errN += b.errN;
    }
    const share = frames > 0 ? audible / frames : 0;
    const leadMs = Number.isFinite(lead) ? lead : null;
    const syncErrorUs = errN > 0 ? errSum / errN : null;
    const out = (status: OutputStatus, reason: string | null): OutputReport => ({ status, reason, audible: share, leadMs, syncErrorUs });
    if (sinkStatus === 'lost') return out('sink-lost', `the DAC is gone${sinkError ? `: ${sinkError}` : ''}`);
    if (sinkStatus === 'open' && this.stalled)
      return out('sink-stalled', `the DAC's position has not moved for ${((nowMs - this.movedAt) / 1000).toFixed(1)} s`);
    if (!live) return out('idle', null);
    const lateShare = blocks > 0 ? late / blocks : 0;
    if (share >= 0.5 && lateShare < 0.1) return out('playing', null);
    if (leadMs !== null && leadMs < 0)
      return out(
        'late',
        `the stream's audio arrives ${(-leadMs).toFixed(0)} ms after its playout instant: nothing of it can be played (latency too small, or this player's clock is ahead of the sender's)`,
      );
    if (lateShare >= 0.1) return out('late', `${late} of ${blocks} blocks reached the DAC after it needed them (the output loop stalls)`);
    if (audible === 0 && leadMs !== null && leadMs > 0) return out('buffering', "waiting for the stream's audio to come due (pre-roll)");
    return out(
      'silent',
      `only ${(share * 100).toFixed(0)} % of the last second's output was the stream's audio (the rest silence or concealment)`,
    );
  }
}
