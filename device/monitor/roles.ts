// What leads each role's line in the monitor: the figures a person looks for first, in the order
// they matter (a player: what it plays, its sync error, buffer and drift). Everything else of a
// role's state is in the expanded view. A role without a summary here gets the generic one.
import { LEVEL_FLOOR_DBFS, type PlayerState } from '../../protocol/roles/player.ts';
import type { SourceState } from '../../protocol/roles/source.ts';
import type { TunerState } from '../../protocol/roles/tuner.ts';
import type { WakerState } from '../../protocol/roles/waker.ts';
import type { ClockStatus } from '../../protocol/clock.ts';

const signed = (x: number, digits = 0) => `${x > 0 ? '+' : x < 0 ? '−' : '±'}${Math.abs(x).toFixed(digits)}`;
const secs = (ms: number) => (ms < 60_000 ? `${Math.round(ms / 1000)}s` : `${Math.round(ms / 60_000)}m`);

/**
 * The house clock, when a player's or source's state has it (protocol/clock.ts): its state, the
 * offset of house time from this device's OS clock and how sure it is ("clock locked +12.3 ms ±40 µs").
 */
export function clockPart(detail: unknown): string | undefined {
  const c = (detail as { clock?: ClockStatus & { sufficient?: boolean } } | undefined)?.clock;
  if (!c || typeof c !== 'object' || typeof c.state !== 'string') return undefined;
  if (c.state === 'off') return undefined;
  const off = typeof c.offsetMs === 'number' ? ` ${signed(c.offsetMs, 1)} ms` : '';
  const unc = typeof c.uncertaintyUs === 'number' ? ` ±${Math.round(c.uncertaintyUs)} µs` : '';
  return `clock ${c.state}${off}${unc}${c.sufficient === false ? ' (NOT SURE ENOUGH)' : ''}`;
}

/** The level written to the DAC (RMS per channel, dBFS), "level −18/−17 dB (peak −9)", when the state has it. */
export function levelPart(s: PlayerState): string | undefined {
  const l = s.level;
  if (!l || !Array.isArray(l.rmsDbfs) || !Array.isArray(l.peakDbfs)) return undefined;
  if (l.frames === 0 || l.peakDbfs.every((p) => p <= LEVEL_FLOOR_DBFS)) return 'level silent';
  const db = (x: number) => (x <= LEVEL_FLOOR_DBFS ? '–' : x.toFixed(0).replace('-', '−'));
  return `level ${l.rmsDbfs.map(db).join('/')} dB (peak ${db(Math.max(...l.peakDbfs))})`;
}

function player(s: PlayerState): string {
  if (!s.playing)
    return `■ ${s.stream.name ?? s.stream.id} (not playing${s.sink.status !== 'open' ? `, DAC ${s.sink.status}` : ''}${s.stream.error ? `; ${s.stream.error}` : ''})`;
  const received = s.packets.received + s.packets.lost;
  const loss = received > 0 ? (100 * s.packets.lost) / received : 0;
  return [
    `▶ ${s.stream.name ?? s.stream.id}`,
    s.syncErrorUs === null ? 'sync – (nothing reached the DAC)' : `sync ${signed(Math.round(s.syncErrorUs))} µs`,
    `buffer ${Math.round(s.bufferMs)}/${s.latencyMs} ms`,
    `drift ${signed(s.driftPpm, 1)} ppm`,
    `loss ${loss.toFixed(loss < 1 ? 2 : 1)} %`,
    clockPart(s),
    `vol ${Math.round(s.volume * 100)} %${s.muted ? ' muted' : ''}`,
    levelPart(s),
    s.sink.status !== 'open' ? `DAC ${s.sink.status}` : undefined,
  ]
    .filter(Boolean)
    .join('  ');
}

function source(s: SourceState): string {
  return (
    s.streams
      .map((x) => `${x.id} ${x.enabled ? (x.sending ? 'sending' : 'NO INPUT') : 'off'}${x.enabled ? ` ${x.group}:${x.port}` : ''}`)
      .join(', ') + (clockPart(s) ? `  ${clockPart(s)}` : '')
  );
}

function tuner(s: TunerState): string {
  const last = s.last
    ? `last ${s.last.outcome} ${s.last.mode}${s.last.key.lowMs !== null ? `, KEY ${Math.round(s.last.key.lowMs)} ms` : ''}`
    : 'no tune yet';
  return [`${s.status}${s.error ? ` (${s.error})` : ''}`, last, `${s.counts.tunes} tunes, ${s.counts.failures} failed`].join('  ');
}

function waker(s: WakerState, now: number): string {
  return (
    s.hosts.map((h) => `${h.name} ${h.state}${h.lastSeenAt ? ` (seen ${secs(now - Date.parse(h.lastSeenAt))} ago)` : ''}`).join(', ') ||
    'no hosts'
  );
}

/** The lead of a role's line, or undefined for a role without one (or a detail that is not its shape). */
export function roleSummary(role: string, detail: unknown, now: number): string | undefined {
  if (!detail || typeof detail !== 'object') return undefined;
  try {
    switch (role) {
      case 'player':
        return player(detail as PlayerState);
      case 'source':
        return source(detail as SourceState);
      case 'tuner':
        return tuner(detail as TunerState);
      case 'waker':
        return waker(detail as WakerState, now);
      default:
        return undefined;
    }
  } catch {
    return undefined; // a detail that does not match its spec is flagged by the model; show the generic line
  }
}
