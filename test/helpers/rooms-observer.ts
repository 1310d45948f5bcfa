// The rooms bench's true-time observer, either of two (ROOMS_OBSERVER):
//   true-dac (default)  each room's PCM is a true-time DAC stand-in (true-dac/true-dac.c): paced on
//                       the machine's shared CLOCK_MONOTONIC, exact snd_pcm_delay, each run's true
//                       start recorded; the rooms are compared from those recordings (true-dac.ts)
//   pulse               one PulseAudio on the unshifted clock, room A left and room B right of a
//                       null sink, its monitor recorded (room-observer.ts). A fresh PulseAudio stream
//                       reports its delay up to 1.2 ms off while it settles (~10 s), so this one
//                       bounds what it can see; kept for comparison.
// Either way the devices only see an ALSA config (ALSA_CONFIG_PATH) naming pcm.<room>.
import type { Netns } from './netns.ts';
import { startRoomObserver, roomErrors, type RoomError } from './room-observer.ts';
import { writeTrueDacConf, readRoom, dacErrors, silentSpans, trueNowNs, type DacRun, type SilentSpan } from './true-dac/true-dac.ts';

export type ObserverKind = 'true-dac' | 'pulse';

export interface RoomsObserver {
  kind: ObserverKind;
  /** For every device process: ALSA_CONFIG_PATH (and PULSE_SERVER for the pulse one). */
  env: Record<string, string>;
  /** Starts observing; stop() gives room B minus room A, window by window, in true time. */
  record(): { stop(): Promise<RoomError[]> };
  /** What the observer saw of the rooms' DACs, for the log (the true DAC: its runs and the gaps between them). */
  describe?(): string;
  /**
   * The true DAC only: when a room's DAC first ran (its first run's true start) and when it first
   * played audio (its first non-zero frame), true CLOCK_MONOTONIC ns; undefined before either.
   */
  firstAudio?(room: string): { runNs: number; audioNs: number | undefined } | undefined;
  /**
   * The true DAC only: when `room`'s DAC played no audio between `fromNs` and `toNs` (true
   * CLOCK_MONOTONIC ns; true-dac.ts silentSpans), a sink process killed at `killedAtNs` taken as
   * playing until then.
   */
  silences?(room: string, fromNs: number, toNs: number, killedAtNs?: number): SilentSpan[];
  stop(): Promise<void>;
}

export function observerKind(): ObserverKind {
  const k = process.env.ROOMS_OBSERVER ?? 'true-dac';
  if (k !== 'true-dac' && k !== 'pulse') throw new Error(`ROOMS_OBSERVER must be true-dac or pulse, not ${k}`);
  return k;
}

/** Rooms [A, B]: A is the reference, errors are B − A. */
export async function startRoomsObserver(ns: Netns, rooms: [string, string], dir: string, kind = observerKind()): Promise<RoomsObserver> {
  if (kind === 'pulse') {
    const o = await startRoomObserver(ns, rooms, dir);
    return {
      kind,
      env: o.env,
      record() {
        const r = o.record();
        return { stop: async () => roomErrors(await r.stop()) };
      },
      stop: () => o.stop(),
    };
  }
  const conf = writeTrueDacConf(
    dir,
    rooms.map((name) => ({ name })),
  );
  return {
    kind,
    env: { ALSA_CONFIG_PATH: conf },
    record() {
      const from = trueNowNs();
      return {
        stop: async () => dacErrors(readRoom(dir, rooms[0]), readRoom(dir, rooms[1]), from, trueNowNs()),
      };
    },
    describe: () => {
      const now = trueNowNs();
      return rooms.map((r) => `${r}: ${describeRuns(readRoom(dir, r), now)}`).join('; ');
    },
    silences: (room, fromNs, toNs, killedAtNs) => silentSpans(readRoom(dir, room), fromNs, toNs, { killedAtNs }),
    firstAudio: (room) => {
      const runs = readRoom(dir, room);
      if (!runs.length) return undefined;
      for (const r of runs) {
        const i = r.frames.findIndex((v) => v !== 0);
        if (i >= 0) return { runNs: runs[0]!.t0Ns, audioNs: r.t0Ns + (i / r.rate) * 1e9 };
      }
      return { runNs: runs[0]!.t0Ns, audioNs: undefined };
    },
    stop: async () => undefined,
  };
}

/** A room's DAC runs: how many, and the silences between them (an underrun, a sink restart). */
function describeRuns(runs: readonly DacRun[], nowNs: number): string {
  const gaps: string[] = [];
  for (let i = 1; i < runs.length; i++) {
    const prev = runs[i - 1]!;
    const endNs = prev.t0Ns + (prev.frames.length / prev.rate) * 1e9;
    gaps.push(`${((runs[i]!.t0Ns - endNs) / 1e6).toFixed(1)}@${((nowNs - endNs) / 1e9).toFixed(1)}`);
  }
  return `${runs.length} DAC run${runs.length === 1 ? '' : 's'}${gaps.length ? ` (gaps, ms@s before now: ${gaps.slice(0, 20).join(' ')}${gaps.length > 20 ? ' …' : ''})` : ''}`;
}
