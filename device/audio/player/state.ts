// The player's state (playerSpec.state) and telemetry, read from its parts. Pure.
import type { PlayerLevel, PlayerState } from '../../../protocol/roles/player.ts';
import type { OutputMonitor, OutputReport } from '../engine/output-monitor.ts';
import type { PlayoutStats } from '../types.ts';
import type { AudioSink } from '../../hal/audio-out.ts';

export interface PlayerParts {
  stream: PlayerState['stream'];
  sender: string | null;
  stats: PlayoutStats | undefined;
  report: OutputReport;
  monitor: OutputMonitor;
  sink: AudioSink | undefined;
  /** The DAC's measured rate offset (ppm; 0 before the output loop runs). */
  driftPpm: number;
  latencyMs: number;
  trimMs: number;
  outRate: number;
  volume: number;
  muted: boolean;
  clock: PlayerState['clock'] | undefined;
  /** The level written to the DAC over the last state interval (level.ts); undefined before the first. */
  level: PlayerLevel | undefined;
}

export function playerState(p: PlayerParts): PlayerState {
  const { stats: s, report, monitor, sink } = p;
  return {
    stream: p.stream,
    playing: report.status === 'playing',
    sender: p.sender,
    ssrc: s?.ssrc ?? null,
    format: s?.format ?? null,
    latencyMs: p.latencyMs,
    trimMs: p.trimMs,
    bufferMs: s?.bufferMs ?? 0,
    driftPpm: p.driftPpm,
    senderDriftPpm: s?.senderDriftPpm ?? 0,
    timing: s?.timingSource ?? null,
    syncErrorUs: report.syncErrorUs,
    output: {
      status: report.status,
      reason: report.reason,
      audiblePct: Math.round(report.audible * 1000) / 10,
      leadMs: report.leadMs,
      lateBlocks: monitor.lateBlocks,
      droppedBlocks: monitor.droppedBlocks,
      silentMs: (monitor.silentFrames * 1000) / p.outRate,
    },
    packets: {
      received: s?.received ?? 0,
      lost: s?.lost ?? 0,
      late: s?.late ?? 0,
      duplicates: s?.duplicates ?? 0,
      concealed: s?.concealed ?? 0,
      malformed: s?.malformed ?? 0,
      wrongPt: s?.wrongPt ?? 0,
      foreignSsrc: s?.foreignSsrc ?? 0,
    },
    underruns: s?.underruns ?? 0,
    resyncs: s?.resyncs ?? 0,
    volume: p.volume,
    muted: p.muted,
    sink: {
      kind: sink?.kind ?? 'none',
      device: sink?.device ?? '',
      status: sink?.status() ?? 'closed',
      error: sink?.lastError() ?? null,
      lostCount: sink?.lostCount() ?? 0,
      ...(sink?.underruns ? { underruns: sink.underruns() } : {}),
    },
    ...(p.level ? { level: p.level } : {}),
    ...(p.clock ? { clock: p.clock } : {}),
  };
}

export function playerTelemetry(s: PlayerState): Record<string, number> {
  return {
    received: s.packets.received,
    lost: s.packets.lost,
    late: s.packets.late,
    concealed: s.packets.concealed,
    underruns: s.underruns,
    resyncs: s.resyncs,
    bufferMs: s.bufferMs,
    driftPpm: s.driftPpm,
    ...(s.syncErrorUs !== null ? { syncErrorUs: s.syncErrorUs } : {}),
    sinkOpen: s.sink.status === 'open' ? 1 : 0,
    playing: s.playing ? 1 : 0,
    lateBlocks: s.output.lateBlocks,
    silentMs: s.output.silentMs,
    ...(s.clock?.uncertaintyUs !== undefined
      ? { clockUncertaintyUs: s.clock.uncertaintyUs, clockSufficient: s.clock.sufficient ? 1 : 0 }
      : {}),
  };
}
