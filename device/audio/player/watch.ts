// What the player says about its stream and its output, judged every 500 ms (role.ts's timer):
// packets arriving or not (found/lost after 2 s of silence), re-syncs of the playout, and the
// OutputMonitor's verdict on what reached the DAC. Pure: the instant and the parts' readings in,
// events and "the state changed" out.
import type { EventData, EventType } from '../../../protocol/role-spec.ts';
import type { playerSpec } from '../../../protocol/roles/player.ts';
import type { OutputMonitor, OutputReport } from '../engine/output-monitor.ts';
import type { SinkStatus } from '../../hal/audio-out.ts';

/** Packets stop "arriving" after this long without one (ms). */
export const STREAM_LOST_MS = 2000;

type Spec = typeof playerSpec;
export type Emit = <K extends EventType<Spec>>(type: K, message: string, data?: EventData<Spec, K>) => void;

export interface WatchReading {
  now: number;
  lastPacketMs: number;
  sender: string | null;
  joined: { group: string; port: number } | undefined;
  /** The playout's re-sync count and SSRC (undefined: no playout). */
  playout: { resyncs: number; ssrc: number | null } | undefined;
  /** underruns: the DAC's dry spells so far (undefined: the sink cannot tell). */
  sink: { status: SinkStatus; error: string | null; underruns?: number | undefined };
}

export class PlayerWatch {
  /** Packets arriving (one came within STREAM_LOST_MS). */
  live = false;
  report: OutputReport = { status: 'idle', reason: null, audible: 0, leadMs: null, syncErrorUs: null };
  private resyncsSeen = 0;
  private underrunsSeen = 0;

  constructor(private readonly monitor: OutputMonitor) {}

  /** The stream was left: the next packets are a new "found". */
  left(): void {
    this.live = false;
  }
  /** A fresh playout: its re-syncs count from zero. */
  newPlayout(): void {
    this.resyncsSeen = 0;
  }

  /** Judges one reading; returns whether the state changed (events already emitted). */
  tick(r: WatchReading, emit: Emit): boolean {
    let changed = false;
    const p = r.playout;
    if (p && p.resyncs > this.resyncsSeen) {
      this.resyncsSeen = p.resyncs;
      emit('resync', `re-synchronised to the sender${p.ssrc !== null ? ` (SSRC ${p.ssrc})` : ''}`, p.ssrc !== null ? { ssrc: p.ssrc } : {});
    }
    // The DAC ran dry since the last reading: an event (the state's sink.underruns has the count).
    const u = r.sink.underruns;
    if (u !== undefined && u < this.underrunsSeen) this.underrunsSeen = u; // a new sink
    if (u !== undefined && u > this.underrunsSeen) {
      emit('underrun', `the DAC ran dry ${u - this.underrunsSeen === 1 ? 'once' : `${u - this.underrunsSeen} times`} (${u} in all)`, {
        count: u - this.underrunsSeen,
        total: u,
      });
      this.underrunsSeen = u;
      changed = true;
    }
    const arriving = r.now - r.lastPacketMs < STREAM_LOST_MS;
    if (arriving !== this.live) {
      this.live = arriving;
      changed = true;
      if (arriving) emit('stream-found', `packets arriving from ${r.sender ?? '?'}`);
      else if (r.joined) emit('stream-lost', `no packets on ${r.joined.group}:${r.joined.port} for 2 s`);
    }
    const prev = this.report.status;
    this.report = this.monitor.report(r.now, this.live, r.sink.status, r.sink.error);
    if (this.report.status !== prev) {
      changed = true;
      emit('output', `output ${this.report.status}${this.report.reason ? `: ${this.report.reason}` : ''}`, {
        status: this.report.status,
        previous: prev,
      });
    }
    return changed;
  }
}
