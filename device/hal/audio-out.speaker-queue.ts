// What the speaker sink knows of its DAC from the sink process's delay readings (pure; times are
// ms on one monotonic clock, the sink's now()). Four rules:
// 1. Nothing counts as played before it could have been: a reading never says more frames played
//    than the nominal rate (+ BOUND_PPM, for a DAC crystal that runs fast) allows since the first
//    write of this opening. ALSA's PulseAudio plugin
//    under-reports its delay for the first ~0.2 s of a stream (its timing info is not in yet):
//    speaker-paced saw 127 ms "played" 54 ms after the first write. Such a reading is held to the
//    bound, never taken as is.
// 2. Between readings (every 30–50 ms) the writer's queue depth runs the last reading on at the
//    nominal rate (a DAC does not stop between readings), but only while the DAC is seen playing
//    (the last reading showed progress since the one before, and frames still queued: a
//    PulseAudio stream still prebuffering shows none, a DAC that ran dry has none queued), at
//    most EXTRAPOLATE_MS past a reading (a
//    late reading stops the run-on: nothing is assumed of a DAC not heard from) and never past
//    rule 1's bound. Counting only the last reading kept up to a report interval less than
//    bufferMs queued: with the default 40 ms a true-time DAC (test/helpers/true-dac) ran dry 12–74
//    times a minute in the rooms bench while the player said 0 underruns.
// 3. An underrun is counted when the DAC did run dry: a reading shows everything queued at the
//    previous reading played and the DAC UNDERRUN_MIN_MS or more short of the nominal since then,
//    or the sink process saw the PCM in its xrun state (snd_pcm_delay → -EPIPE; speaker's ALSA
//    output recovers from it silently). One dry spell counts once: a spell that straddles a
//    reading, or a writer that stopped, is not counted again at every reading after it; two spells
//    with a clean interval between them count two.
// 4. A reading whose count has reached what ALSA had accepted at it (delay 0: nothing queued) is
//    dry: the DAC's count had stopped there, and the next frame plays when it is written, not on
//    the DAC's line. The sink's position carries it (SinkPosition.dry), because by the time the
//    player reads the position the writer has usually written more, and a count below the frames
//    written no longer shows it. (The xrun state marks nothing: it comes with no reading, and the
//    position stays the last one, taken while the DAC still played.)

/** How far past its last reading the DAC is taken to have kept playing (a reading is due every 30–50 ms). */
export const EXTRAPOLATE_MS = 60;
/** Rule 1's allowance for a DAC faster than nominal (ppm): a crystal is good to ±100; 1000 keeps a fast one's readings untouched for hours. */
export const BOUND_PPM = 1000;
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
  /** The last reading's interval held a dry spell already counted (rule 3). */
  private inSpell = false;
  private xrunSeen = false;
  /** Dry spells of the DAC counted so far (rule 3). */
  underruns = 0;

  constructor(private readonly rate: number) {}

  /** Frames the DAC has played at the last reading (null: no reading yet). */
  get consumed(): number | null {
    return this.last?.consumed ?? null;
  }

  /** The last reading found nothing queued: its count had stopped at what ALSA had accepted (rule 4). */
  get dry(): boolean {
    const last = this.last;
    return last !== null && last.consumed >= last.accepted;
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
    return this.firstWriteMs === null
      ? 0
      : Math.max(0, Math.floor(((atMs - this.firstWriteMs) * (1 + BOUND_PPM / 1e6) * this.rate) / 1000));
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
    // Playing: it moved since the last reading and has frames left (after a dry spell too: the
    // interval with the gap still shows progress, so the run-on does not stop when most needed).
    this.running = played > 0 && consumed < accepted;
    const ranDry =
      this.xrunSeen || (prev.consumed > 0 && consumed >= prev.accepted && expected - played >= (UNDERRUN_MIN_MS * this.rate) / 1000);
    this.xrunSeen = false;
    const counted = ranDry && !this.inSpell;
    if (counted) this.underruns++;
    this.inSpell = ranDry;
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
