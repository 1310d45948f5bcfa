// A house-clock correction after the drift loop has settled to its calm gains: the player's line
// moves 500 µs (slewed at 500 ppm, as HouseClock does), and the room must be back on true time
// within a couple of seconds, not after the steady loop's ~10 s (a joining player measured 66-76 µs
// early for seconds at +3.6-5.6 s, rooms bench). The shipped Playout and OutputLoop on the HAL's
// simulated DAC (whose crystal keeps to true time), in virtual time; the error is taken from the
// DAC's records in TRUE time against the sender's timeline, not from the player's own estimate.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock, type Clock, type TimerHandle } from '../../../../device/core/clock.ts';
import { memoryLogger } from '../../../../device/core/log.ts';
import { createSimDac } from '../../../../device/hal/audio-out.sim.ts';
import { wrapSink } from '../../../../device/hal/audio-out.ts';
import { OutputLoop } from '../../../../device/audio/engine/output-loop.ts';
import { DacClock } from '../../../../device/audio/engine/dac-clock.ts';
import { Playout } from '../../../../device/audio/engine/playout.ts';
import { buildRtp } from '../../../../device/audio/packets/rtp.ts';
import { buildSenderReport } from '../../../../device/audio/packets/rtcp.ts';

const W0 = 1_700_000_000_000;
const RATE = 48000;
const LATENCY = 100;
/** The player's line before the correction (ms ahead of true): B's house clock at its lock measured −484 µs. */
const OFF_MS = 0.5;

/**
 * A player's house clock: `offMs` ahead of true time until a correction at `atMs` (true), which it
 * then slews away at 500 ppm, or steps away (`step`: the first lock of a player that was on its OS
 * clock). wallAt() is the line served now, as HouseClock's.
 */
class CorrectedLine implements Clock {
  constructor(
    private readonly v: VirtualClock,
    private readonly offMs: number,
    private readonly atMs: number,
    private readonly step = false,
  ) {}
  wallAt(t: number): number {
    if (this.v.now() < this.atMs) return W0 + t + this.offMs;
    if (this.step) return W0 + t;
    const left = Math.max(0, Math.abs(this.offMs) - 500e-6 * Math.max(0, t - this.atMs));
    return W0 + t + Math.sign(this.offMs) * left;
  }
  now = () => this.v.now();
  wall = () => this.wallAt(this.v.now());
  both = () => ({ now: this.v.now(), wall: this.wallAt(this.v.now()) });
  setTimeout = (fn: () => void, ms: number): TimerHandle => this.v.setTimeout(fn, ms);
  clearTimeout = (h: TimerHandle | undefined): void => this.v.clearTimeout(h);
  setInterval = (fn: () => void, ms: number): TimerHandle => this.v.setInterval(fn, ms);
  clearInterval = (h: TimerHandle | undefined): void => this.v.clearInterval(h);
}

/**
 * Runs a sender (RTP every 2 ms, an SR in true time every second: the player takes SRs only once
 * its line is house time, from `correctionAtMs`, when `srFromCorrection`, as join.ts does before
 * the first lock) and one player for `endMs`; returns |true error| (µs) per 0.5 s bucket of audio.
 */
async function run(
  correctionAtMs: number,
  endMs: number,
  o: { offMs?: number; step?: boolean; srFromCorrection?: boolean } = {},
): Promise<Map<number, number>> {
  const v = new VirtualClock(0, W0);
  const house = new CorrectedLine(v, o.offMs ?? OFF_MS, correctionAtMs, o.step);
  // The DAC keeps to true time (v); its readings reach the loop stamped in house time, as a sink stamps them.
  const dac = createSimDac({ device: 'sim', clock: v, log: memoryLogger(), ppm: 40, bufferMs: 20 });
  await dac.open({ rate: RATE, channels: 2 });
  const sink = wrapSink(dac, { position: () => ({ ...dac.position(), wallMs: house.wall() }) });
  const fmt = { encoding: 'L16' as const, rate: RATE, channels: 2 as const, payloadType: 96 };
  const playout = new Playout({ clock: house, latencyMs: LATENCY, outputRate: RATE, outputChannels: 2, format: fmt });
  const loop = new OutputLoop({ clock: house, sink, rate: RATE, channels: 2, blockFrames: 240, newDacClock: () => new DacClock(RATE) });
  loop.setRenderer(playout);
  const F = 96;
  const pay = Buffer.alloc(F * 4);
  let sent = 0,
    seq = 0,
    nextSr = 500;
  let seed = 11;
  while (v.now() < endMs) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    v.advance(1 + ((seed >>> 12) % 3000) / 1000); // ticks 1–4 ms apart, as a busy event loop's
    while (((sent + F) * 1000) / RATE <= v.now()) {
      // The sender's clock is true: frame `sent` was captured at true W0 + sent/RATE; 0.5 ms on the way.
      playout.pushRtp(buildRtp({ payloadType: 96, sequence: seq++ & 0xffff, timestamp: sent, ssrc: 7 }, pay), house.wall() + 0.5);
      sent += F;
    }
    if (v.now() >= nextSr && (!o.srFromCorrection || v.now() >= correctionAtMs)) {
      const ts = Math.floor((v.now() * RATE) / 1000);
      playout.pushRtcp(
        buildSenderReport({ ssrc: 7, wallMs: W0 + (ts * 1000) / RATE, rtpTimestamp: ts, packetCount: 0, octetCount: 0, cname: 's' }),
        house.wall(),
      );
      nextSr += 1000;
    }
    loop.tick();
  }
  // Source frame T belongs at true W0 + T/RATE + latency; the DAC's record says when it played (true).
  const worst = new Map<number, number>();
  for (const r of dac.records) {
    if (r.rtpTimeAtStart === null) continue;
    const errUs = (r.wallMs - (W0 + (r.rtpTimeAtStart * 1000) / RATE + LATENCY)) * 1000;
    const b = Math.floor((r.wallMs - W0) / 500) / 2;
    worst.set(b, Math.max(worst.get(b) ?? 0, Math.abs(errUs)));
  }
  await dac.close();
  return worst;
}

test('a 500 µs house-clock correction 12 s in, with the loop at its steady gains: true error under 50 µs from 2.5 s after it (80 µs at the steady gains)', async () => {
  const at = 12_000;
  const w = await run(at, 20_000);
  if (process.env.DBG) console.log([...w].map(([s, e]) => `${s}:${e.toFixed(0)}`).join(' '));
  const before = Math.max(...[...w].filter(([s]) => s >= 9 && s < 12).map(([, e]) => e));
  assert.ok(
    Math.abs(before - OFF_MS * 1000) < 20,
    `before the correction the room plays the line's ${OFF_MS * 1000} µs off (${before.toFixed(0)} µs)`,
  );
  const after = [...w].filter(([s]) => s >= 14.5);
  const worst = Math.max(...after.map(([, e]) => e));
  assert.ok(worst < 50, `true error from +2.5 s: ${after.map(([s, e]) => `${s}s ${e.toFixed(0)}`).join(', ')} µs`);
});

test('a player that joined the stream on its OS clock, 1.5 s off, then locked (the line steps back 1.5 s): it plays on, and on true time within 3 s', async () => {
  // Before, the jitter buffer judged every packet after the step off its timeline (arrival 1.5 s
  // from where its timestamp put it) and, the step being backwards, never found the locked
  // timeline silent to re-sync: the player heard nothing from the lock on (rooms bench, B never
  // played, its state "the stream's audio arrives 55-71 s after its playout instant").
  const w = await run(3000, 10_000, { offMs: 1500, step: true, srFromCorrection: true });
  if (process.env.DBG) console.log([...w].map(([s, e]) => `${s}:${e.toFixed(0)}`).join(' '));
  const silent = [];
  for (let b = 4; b < 9.5; b += 0.5) if (!w.has(b)) silent.push(b);
  assert.equal(silent, [], 'audio in every half second from 1 s after the lock');
  const late = [...w].filter(([s]) => s >= 6 && s < 9.5);
  assert.ok(
    Math.max(...late.map(([, e]) => e)) < 100,
    `true error from +3 s: ${late.map(([s, e]) => `${s}s ${e.toFixed(0)}`).join(', ')} µs`,
  );
});

test.run();
