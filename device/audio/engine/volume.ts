// Click-free gain: a linear ramp per frame towards a target, used for volume/mute and for the
// playout's own fades (start, re-anchor). A step in gain is a click; a ramp of a few ms is not.
//
// Rules: gain is linear amplitude in [0, 4]; a new target starts a new ramp from the current
// gain (never a jump), over at least one frame; mute ramps to 0 and unmute back to the volume.

export class GainRamp {
  private gain: number;
  private target: number;
  private step = 0;
  private left = 0;

  constructor(initial = 1) {
    this.gain = initial;
    this.target = initial;
  }

  current(): number {
    return this.gain;
  }
  targetGain(): number {
    return this.target;
  }
  ramping(): boolean {
    return this.left > 0;
  }

  /** Ramps to `target` over `frames` frames (≥ 1). */
  rampTo(target: number, frames: number): void {
    const t = Math.max(0, Math.min(4, Number.isFinite(target) ? target : 0));
    const n = Math.max(1, Math.round(frames));
    this.target = t;
    this.left = n;
    this.step = (t - this.gain) / n;
  }

  /** Jumps (only for silence: the caller knows nothing audible is playing). */
  set(gain: number): void {
    this.gain = this.target = gain;
    this.left = 0;
  }

  /** Multiplies `n` interleaved frames of `buf` (from frame `at`) by the ramping gain. */
  apply(buf: Float32Array, at: number, n: number, channels: number): void {
    let i = at * channels;
    let f = 0;
    while (f < n && this.left > 0) {
      this.gain += this.step;
      if (--this.left === 0) this.gain = this.target;
      for (let c = 0; c < channels; c++, i++) buf[i] = buf[i]! * this.gain;
      f++;
    }
    if (f >= n) return;
    const g = this.gain;
    if (g === 1) return;
    const end = (at + n) * channels;
    for (; i < end; i++) buf[i] = buf[i]! * g;
  }
}

export class VolumeControl {
  private readonly ramp = new GainRamp(1);
  private volume = 1;
  private muted = false;

  constructor(private readonly rate: number) {}

  setVolume(gain: number, rampMs: number): void {
    this.volume = Math.max(0, Math.min(4, Number.isFinite(gain) ? gain : 1));
    if (!this.muted) this.ramp.rampTo(this.volume, (Math.max(1, rampMs) * this.rate) / 1000);
  }

  setMuted(m: boolean, rampMs = 10): void {
    this.muted = m;
    this.ramp.rampTo(m ? 0 : this.volume, (Math.max(1, rampMs) * this.rate) / 1000);
  }

  isMuted(): boolean {
    return this.muted;
  }
  gain(): number {
    return this.ramp.current();
  }

  apply(buf: Float32Array, at: number, n: number, channels: number): void {
    this.ramp.apply(buf, at, n, channels);
  }
}
