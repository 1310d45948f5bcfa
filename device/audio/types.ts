// The seam between the audio core (pure: RTP/RTCP/SDP/SAP parsing, jitter buffer, timing, drift
// control, resampling, playout; A1) and the audio edges (sockets, sinks, player/source roles; A2).
// Change this file only additively; note any change in the changelog below.
//
// Changelog:
//   v1: StreamFormat, PlayoutOptions, RenderInfo, PlayoutStats (as agreed in the contract).
//   v2 (additive): PlayoutStats.reanchors, PlayoutStats.timingSource; counter meanings documented.
//
// Notes between A1 and A2 (delete once handled):
//   A2 → A1: DacClock.reset() leaves the open bin's sums (sx, sy) in place, so the first bin after
//     a reset mixes old-epoch coordinates in; after a DAC restore the block instants were ~20 µs
//     off for seconds (test/unit/audio/engine/output-loop.test.ts, "lost and restored"). Zeroing sx/sy
//     in reset() fixes it (checked by patching the prototype in a scratch run).
//   A2 → A1 (request): bytes-exact playout where nothing needs resampling. The brief's interop test
//     "our source → our player, bytes exact (sim DAC at 0 ppm)" needs Playout to copy samples
//     unchanged when stream rate = DAC rate and the corrected ratio is within ~1 ppm of 1 with
//     the phase on a whole frame (snap the fractional phase to 0 and bypass the filter). Tested by
//     test/integration/audio/player.test.ts ("bytes exact").
//   A2 → A1: the source sends SDP with LF line ends and PT 127 by default: PulseAudio's parser
//     insists on "v=0\n", and its module-rtp-recv plays only PT 127 and static 10/11.
//
// Notes from A1 to A2 (what the core expects of the edges):
// - `new DacClock(nominalRate)`; observe(framesConsumed, wallMs) every tick, reset() on a new sink
//   epoch (it also resets itself when counts go backwards or the timeline jumps by > 2 ms).
// - latencyMs must cover packet duration + network floor + the sink queue ahead of the DAC + one
//   block (with SRs, latency counts from the sender's capture instant; without, from the
//   arrival floor of each packet's end, which is the same reference). 20 ms works with ≤ 6.6 ms
//   packets and a 5 ms sink queue rendered in 2.5 ms blocks.
// - A source's SR must pair an RTP timestamp with the exact wall instant that frame was captured
//   (both from the same sample counter), and the first SR should go out within a second of start.
// - render() returns rtpTimeAtStart null during pre-roll (the latency after the first packet) and
//   before a format is known; blocks are silence then.
// - bench: device/audio/sim/scenarios.ts `virtualAudioFigures({ quick })` returns the virtual-time
//   figures under the bench's names (sync_error_p99_us, sync_error_max_us, join_to_sync_s,
//   drift_residual_ppm, underruns_100ms_impaired, underruns_20ms, thdn_db, render_cpu_pct).
//
// Rules that hold across the seam:
// - Times named `...WallMs` are the shared (NTP/PTP-disciplined) wall clock, `Clock.wall()`,
//   in fractional milliseconds. Intervals use `Clock.now()`.
// - Audio buffers are interleaved signed 16-bit host-order samples (`Int16Array`). RTP L16 on
//   the wire is big-endian; the core converts.
// - RTP timestamps are unsigned 32-bit and wrap; `rtpTimeAtStart` is a continuous (unwrapped)
//   source-sample position so two players' records can be compared directly.

import type { Clock } from '../core/clock.ts';

/** An RTP L16 stream's format. `payloadType` is the PT the packets carry (10/11 static, 96..127 dynamic). */
export interface StreamFormat {
  encoding: 'L16';
  rate: number;
  channels: 1 | 2;
  payloadType: number;
}

export interface PlayoutOptions {
  /** wall() is the shared (NTP/PTP) clock; now() for intervals. */
  clock: Clock;
  /** Target playout latency, same on every player of a stream (default 100, min 20). */
  latencyMs: number;
  /** Per-device output delay trim (ms, positive = play later). */
  trimMs?: number;
  /** Nominal DAC rate, e.g. 48000. */
  outputRate: number;
  outputChannels: 1 | 2;
  /** Known from SDP/announcement; else derived from static PT 10/11. */
  format?: StreamFormat;
}

export interface RenderInfo {
  /** Source (RTP) time of the first output frame (unwrapped, fractional), null while silent/unsynced. */
  rtpTimeAtStart: number | null;
  /** Estimated playout error vs the ideal instant (µs, positive = playing late). */
  syncErrorUs: number;
  /** Frames in this block produced by concealment (loss). */
  concealedFrames: number;
  /** Frames in this block that are silence because nothing was playable. */
  silentFrames: number;
  /**
   * How far the newest buffered audio reaches past the block's playout position (ms): the time it
   * arrived before it was due. Negative: the stream arrives after its playout instant (every
   * packet late). Null without a stream or mapping.
   */
  leadMs: number | null;
}

/** Counters are cumulative over the Playout's life (they survive format changes and re-syncs). */
export interface PlayoutStats {
  /** The locked sender's SSRC. */
  ssrc: number | null;
  /** Packets accepted into the jitter buffer. */
  received: number;
  /** Packets never played: sequence gaps the reader moved past (a late packet also counts here). */
  lost: number;
  /** Packets that arrived after their audio was due (dropped). */
  late: number;
  duplicates: number;
  /** Source frames produced by concealment (loss or underrun). */
  concealed: number;
  /** Unparsable RTP, bad payload length, off-timeline timestamps. */
  malformed: number;
  /** Well-formed RTP whose payload type is not the stream's, or dynamic with no format known. */
  wrongPt: number;
  /** Packets of another SSRC while the locked sender is live. */
  foreignSsrc: number;
  /** Sender restarts followed (new SSRC, timeline jump, new sender after BYE). */
  resyncs: number;
  /** Episodes of the buffer running dry while playing. */
  underruns: number;
  /** Audio buffered ahead of the read position. */
  bufferMs: number;
  /** Estimated DAC-vs-sender ratio correction being applied, in ppm. */
  driftPpm: number;
  /** Estimated sender clock vs wall clock, in ppm. */
  senderDriftPpm: number;
  syncErrorUs: number;
  format: StreamFormat | null;
  /** Times the playout jumped to the ideal position (start excluded): re-sync, clock step, >5 ms error. */
  reanchors: number;
  /** What maps RTP time to wall time now: RTCP sender reports, filtered arrivals, or nothing yet. */
  timingSource: 'rtcp' | 'arrival' | null;
}
