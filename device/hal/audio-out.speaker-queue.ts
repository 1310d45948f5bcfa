// What the speaker sink knows of its DAC from the sink process's delay readings (pure; times are
// ms on one monotonic clock, the sink's now()). Three rules:
// 1. Nothing counts as played before it could have been: a reading never says more frames played
//    than the nominal rate allows since the first write of this opening. ALSA's PulseAudio plugin
//    under-reports its delay for the first ~0.2 s of a stream (its timing info is not in yet):
//    speaker-paced saw 127 ms "played" 54 ms after the first write. Such a reading is held to the
//    bound, never taken as is.
// 2. Between readings (every 30–50 ms) the writer's queue depth runs the last reading on at the
//    nominal rate (a DAC does not stop between readings), but only while the last two readings
//    showed the DAC playing at ≥ RUNNING_PACE of nominal, at most EXTRAPOLATE_MS past a reading (a
//    late reading stops the run-on: nothing is assumed of a DAC not heard from) and never past
//    rule 1's bound. Counting only the last reading kept up to a report interval less than
//    bufferMs queued: with the default 40 ms a true-time DAC (test/helpers/true-dac) ran dry 12–74
//    times a minute in the rooms bench while the player said 0 underruns.
// 3. An underrun is counted when the DAC did run dry: a reading shows everything queued at the
//    previous reading played and the DAC UNDERRUN_MIN_MS or more short of the nominal since then,
//    or the sink process saw the PCM in its xrun state (snd_pcm_delay → -EPIPE; speaker's ALSA
//    output recovers from it silently). One dry spell counts once: the count waits for a reading
//    that shows the DAC playing again.

/** How far past its last reading the DAC is taken to have kept playing (a reading is due every 30–50 ms). */
export const EXTRAPOLATE_MS = 60;
/** The last two readings' pace, as a share of nominal, that shows a DAC playing (a PulseAudio stream still prebuffering shows 0). */
export const RUNNING_PACE = 0.75;
/** A dry spell shorter than this is not told apart from the readings' granularity (ms). */
export const UNDERRUN_MIN_MS = 3;

interface Reading {
  consumed: number;
  accepted: number;
  atMs: number;
}

export class DacReadings {
  private firstWriteMs: number | null = null;
  private last: Reading | null = null;
  private running = false;
  private dry = false;
  private xrunSeen = false;
  /** Dry spells of the DAC counted so far (rule 3). */
  underruns = 0;

  constructor(private readonly rate: number) {}

  /** Frames the DAC has played at the last reading (null: no reading yet). */
  get consumed(): number | null {
    return this.last?.consumed ?? null;
  }
  /** When the last reading was taken. */
  get atMs(): number | null {
    return this.last?.atMs ?? null;
  }

  /** Audio was handed to the device at `nowMs` (the first write starts rule 1's bound). */
  wrote(nowMs: number): void {
    this.firstWriteMs ??= nowMs;
  }

  /** The sink process found the PCM in its xrun state (a reading it could not take). */
  xrun(): void {
    this.xrunSeen = true;
  }

  /** The most frames the DAC can have played by `atMs` (rule 1). */
  private bound(atMs: number): number {
    return this.firstWriteMs === null ? 0 : Math.max(0, Math.floor(((atMs - this.firstWriteMs) * this.rate) / 1000));
  }

  /** A reading: `accepted` frames handed to ALSA in all, `delay` of them still queued, at `atMs`. Returns true if it counted an underrun. */
  reading(accepted: number, delay: number, atMs: number): boolean {
    const prev = this.last;
    const raw = Math.min(accepted, accepted - delay);
    // Never backwards, never past what was accepted nor past what time allows (rule 1).
    const consumed = Math.max(prev?.consumed ?? 0, Math.min(raw, this.bound(atMs)));
    this.last = { consumed, accepted, atMs };
    if (!prev) return false;
    const expected = ((atMs - prev.atMs) * this.rate) / 1000;
    const played = consumed - prev.consumed;
    this.running = expected > 0 && played >= RUNNING_PACE * expected;
    const ranDry =
      this.xrunSeen || (prev.consumed > 0 && consumed >= prev.accepted && expected - played >= (UNDERRUN_MIN_MS * this.rate) / 1000);
    this.xrunSeen = false;
    let counted = false;
    if (ranDry && !this.dry) {
      this.underruns++;
      counted = true;
    }
    this.dry = ranDry || (this.dry && !this.running);
    return counted;
  }

  /** Frames the DAC has played by `nowMs`, for the writer's queue depth (rule 2); at most `written`. */
  playedBy(nowMs: number, written: number): number {
    const last = this.last;
    if (!last) return 0;
    if (!this.running) return Math.min(written, last.consumed);
    const ms = Math.min(EXTRAPOLATE_MS, Math.max(0, nowMs - last.atMs));
    const run = last.consumed + Math.floor((ms * this.rate) / 1000);
    return Math.min(written, Math.max(last.consumed, Math.min(run, this.bound(nowMs))));
  }
}
