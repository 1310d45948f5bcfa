// The audio input edge of a source: ALSA capture (audio-in.alsa.ts, `alsa-capture` in a child
// process), a WAV/raw file (audio-in.file.ts) or a test tone (audio-in.tone.ts), opened by
// openAudioIn (open.ts). One contract
// suite (test/integration/hal/audio-in.contract.test.ts) runs against all three.
//
// Rules every adapter keeps:
// 1. The source paces itself on its own (NTP-disciplined) clock and pulls: read(frames) always
//    returns exactly `frames` frames of interleaved s16 in the opened format, so RTP time advances
//    with the wall clock whatever the input does.
// 2. A live input (ALSA) buffers what the device delivers between reads, at most `maxBufferMs`:
//    when the device runs fast the oldest frames are dropped, when it runs slow or stops the read
//    is padded with silence; both are counted (`dropped`, `padded`) — never thrown.
// 3. open() rejects only for a bad request (unreadable file, wrong format); a live device that
//    fails later goes to 'failed' with lastError() and the input keeps returning silence; it tries
//    to reopen with backoff, and returns to 'open' by itself.
// 4. close() releases everything and is safe to call twice.
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import type { SourceInput } from '../../protocol/roles/source.ts';
import type { EdgeFactory } from '../core/hal-overrides.ts';

export interface InputFormat {
  rate: number;
  channels: 1 | 2;
}

export type InputStatus = 'closed' | 'open' | 'failed';

export interface InputCounters {
  delivered: number;
  dropped: number;
  padded: number;
}

export interface AudioInput {
  readonly kind: 'alsa' | 'file' | 'tone' | string;
  /** e.g. "alsa:default", "file:/srv/a.wav", "tone:1000Hz". */
  readonly description: string;
  status(): InputStatus;
  lastError(): string | null;
  open(format: InputFormat): Promise<void>;
  read(frames: number): Int16Array;
  counters(): InputCounters;
  close(): Promise<void>;
}

export interface AudioInputOptions {
  clock: Clock;
  log: Logger;
  /** Environment for a capture child process (ALSA_CONFIG_PATH in tests). */
  env?: NodeJS.ProcessEnv;
  maxBufferMs?: number;
}

/** A source's `input` config: which adapter, and its settings. */
export type AudioInputConfig = SourceInput;

declare module '../core/hal-overrides.ts' {
  interface HalOverrides {
    /** Builds a source's input in place of the configured one (tests, house in a box). */
    audioIn?: EdgeFactory<AudioInputConfig, AudioInput>;
  }
}

/** A bounded FIFO of interleaved s16 samples (rule 2). */
export class SampleFifo {
  private buf: Int16Array;
  private start = 0;
  private len = 0;
  dropped = 0;
  padded = 0;
  constructor(
    private readonly channels: number,
    private readonly maxFrames: number,
  ) {
    this.buf = new Int16Array(maxFrames * channels);
  }
  get frames(): number {
    return this.len / this.channels;
  }
  push(samples: Int16Array): void {
    let s = samples;
    const cap = this.buf.length;
    if (s.length > cap) {
      this.dropped += (s.length - cap) / this.channels;
      s = s.subarray(s.length - cap);
    }
    const over = this.len + s.length - cap;
    if (over > 0) {
      this.start = (this.start + over) % cap;
      this.len -= over;
      this.dropped += over / this.channels;
    }
    let w = (this.start + this.len) % cap;
    for (let i = 0; i < s.length; i++) {
      this.buf[w] = s[i]!;
      w = w + 1 === cap ? 0 : w + 1;
    }
    this.len += s.length;
  }
  /** Exactly `frames` frames; silence (counted) where the FIFO has none. */
  take(frames: number): Int16Array {
    const out = new Int16Array(frames * this.channels);
    const n = Math.min(out.length, this.len);
    const cap = this.buf.length;
    for (let i = 0; i < n; i++) {
      out[i] = this.buf[this.start]!;
      this.start = this.start + 1 === cap ? 0 : this.start + 1;
    }
    this.len -= n;
    this.padded += (out.length - n) / this.channels;
    return out;
  }
  clear(): void {
    this.start = 0;
    this.len = 0;
  }
}
