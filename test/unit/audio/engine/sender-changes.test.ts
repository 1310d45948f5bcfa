// Senders coming and going, in virtual time, through the real Playout into a simulated DAC:
// - a sender restart (RTP timestamp jump of 2^31 and a sequence jump, or a new SSRC) must cost no
//   more than 200 ms of silence at any latency (it cost a latency: the buffered audio was thrown
//   away and the player waited a latency again);
// - two live senders on one group and port must not make the player flip between them (it did
//   5–8 times in 9 s: 3 packets of the other with none of ours between is ordinary interleaving
//   with GStreamer's bursts); pinned to an SSRC, only that one plays.
// Silence is measured on what reaches the DAC: the longest run of output frames below −60 dBFS,
// in DAC time, once audio has started.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Playout } from '../../../../device/audio/engine/playout.ts';
import { DacClock } from '../../../../device/audio/engine/dac-clock.ts';
import { SimDac } from '../../../../device/audio/sim/dac.ts';
import { buildRtp } from '../../../../device/audio/packets/rtp.ts';
import { VirtualClock } from '../../../../device/core/clock.ts';
import type { StreamFormat } from '../../../../device/audio/types.ts';
import { dacTick } from '../fixtures.ts';

const W0 = 1_700_000_000_000;
const RATE = 48000;
const FMT: StreamFormat = { encoding: 'L16', rate: RATE, channels: 2, payloadType: 96 };

/** One RTP sender: a tone, sent as `sizes` packets back to back per block of sum(sizes) frames. */
interface Sender {
  ssrc: number;
  seq0: number;
  ts0: number;
  startMs: number;
  stopMs: number;
  hz: number;
  sizes?: number[];
  netMs?: number;
  /** Frames captured before startMs (the tone's phase continues across a restart). */
  phase?: number;
}

function rig(o: { latencyMs: number; senders: Sender[]; ms: number; pin?: number }) {
  const clock = new VirtualClock(0, W0);
  const playout = new Playout({ clock, latencyMs: o.latencyMs, outputRate: RATE, outputChannels: 2, format: FMT });
  if (o.pin !== undefined) playout.pinSsrc(o.pin);
  const t = {
    playout,
    dac: new SimDac(RATE, 0, W0 + 5),
    dacClock: new DacClock(RATE),
    block: new Int16Array(240 * 2),
    out: [] as number[],
  };
  const state = o.senders.map((s) => ({ s, sent: 0, seq: s.seq0, k: 0 }));
  const ssrcs: Array<number | null> = [];
  for (let ms = 0; ms < o.ms; ms++) {
    clock.advanceTo(ms);
    const wall = W0 + ms;
    for (const st of state) {
      const s = st.s,
        sizes = s.sizes ?? [320];
      const block = sizes.reduce((a, b) => a + b, 0);
      // A block leaves once its last frame is captured.
      while (
        wall >= W0 + s.startMs &&
        W0 + s.startMs + ((st.sent + block) * 1000) / RATE <= wall &&
        s.startMs + (st.sent * 1000) / RATE < s.stopMs
      ) {
        let off = 0;
        for (const n of sizes) {
          const pay = Buffer.alloc(n * 4);
          for (let i = 0; i < n; i++) {
            const v = Math.round(16000 * Math.sin((2 * Math.PI * s.hz * ((s.phase ?? 0) + st.sent + off + i)) / RATE));
            pay.writeInt16BE(v, i * 4);
            pay.writeInt16BE(v, i * 4 + 2);
          }
          const at = W0 + s.startMs + ((st.sent + block) * 1000) / RATE + (s.netMs ?? 0.2) + st.k++ * 0.02;
          playout.pushRtp(
            buildRtp({ payloadType: 96, sequence: st.seq++ & 0xffff, timestamp: (s.ts0 + st.sent + off) >>> 0, ssrc: s.ssrc }, pay),
            at,
          );
          off += n;
        }
        st.sent += block;
      }
    }
    if (wall >= W0 + 5) dacTick(t, wall);
    if (ms % 100 === 0) ssrcs.push(playout.stats().ssrc);
  }
  return { out: t.out, playout, ssrcs };
}

/** Longest run of output frames below −60 dBFS after the first audible one, in ms (left channel). */
function longestSilenceMs(out: number[], fromMs = 0): number {
  let started = false,
    run = 0,
    worst = 0;
  for (let i = Math.floor((fromMs * RATE) / 1000) * 2; i < out.length; i += 2) {
    const loud = Math.abs(out[i]!) > 32;
    if (loud) {
      if (started) worst = Math.max(worst, run);
      started = true;
      run = 0;
    } else run++;
  }
  return (worst * 1000) / RATE;
}

for (const latencyMs of [20, 100, 300]) {
  test(`sender restart, same SSRC, timestamp +2^31 and sequence +5000: ≤ 200 ms of silence at ${latencyMs} ms latency`, () => {
    const a: Sender = { ssrc: 7, seq0: 100, ts0: 1000, startMs: 0, stopMs: 2000, hz: 440 };
    // The same sender again right away (its restart takes no time: any silence is the player's).
    const b: Sender = { ssrc: 7, seq0: 5100, ts0: 1000 + 2 ** 31, startMs: 2000, stopMs: 4000, hz: 440, phase: 96000 };
    const r = rig({ latencyMs, senders: [a, b], ms: 4000 });
    const gap = longestSilenceMs(r.out);
    assert.is(r.playout.stats().resyncs, 1);
    assert.ok(gap <= 200, `silence ${gap.toFixed(1)} ms`);
    // Nothing of the old epoch thrown away: the player's gap is the sender's (none here) plus the switch.
    assert.ok(gap <= 15, `silence ${gap.toFixed(1)} ms, expected a cross-fade, not a gap`);
  });

  test(`sender restart with a new SSRC (a crash: no BYE): ≤ 200 ms of silence at ${latencyMs} ms latency`, () => {
    const a: Sender = { ssrc: 7, seq0: 100, ts0: 1000, startMs: 0, stopMs: 2000, hz: 440 };
    const b: Sender = { ssrc: 99, seq0: 40000, ts0: 3_000_000_000, startMs: 2000, stopMs: 4000, hz: 440, phase: 96000 };
    const r = rig({ latencyMs, senders: [a, b], ms: 4000 });
    const gap = longestSilenceMs(r.out);
    assert.is(r.playout.stats().ssrc, 99);
    assert.ok(gap <= 200, `silence ${gap.toFixed(1)} ms`);
  });
}

test('two GStreamer-like senders on one group and port for 9 s: locked to the first, no flip', () => {
  // 1024-frame buffers sent as 350 + 350 + 324 frames back to back; B 7 ms after A, another tone.
  const sizes = [350, 350, 324];
  const a: Sender = { ssrc: 1, seq0: 0, ts0: 0, startMs: 0, stopMs: 9000, hz: 440, sizes };
  const b: Sender = { ssrc: 2, seq0: 30000, ts0: 123456789, startMs: 7, stopMs: 9000, hz: 660, sizes };
  const r = rig({ latencyMs: 100, senders: [a, b], ms: 9000 });
  const locks = r.ssrcs.filter((x) => x !== null);
  const flips = locks.filter((x, i) => i > 0 && x !== locks[i - 1]).length;
  assert.is(flips, 0, `the lock flipped ${flips} times`);
  assert.is(r.playout.stats().resyncs, 0);
  assert.is(r.playout.stats().ssrc, 1);
  assert.ok(longestSilenceMs(r.out) < 5, `gap ${longestSilenceMs(r.out)} ms`);
});

test('the locked sender stops while another goes on: switch after its silence, ≤ 200 ms gap', () => {
  const sizes = [350, 350, 324];
  const a: Sender = { ssrc: 1, seq0: 0, ts0: 0, startMs: 0, stopMs: 3000, hz: 440, sizes };
  const b: Sender = { ssrc: 2, seq0: 30000, ts0: 123456789, startMs: 7, stopMs: 6000, hz: 660, sizes };
  const r = rig({ latencyMs: 100, senders: [a, b], ms: 6000 });
  assert.is(r.playout.stats().ssrc, 2);
  assert.is(r.playout.stats().resyncs, 1);
  assert.ok(longestSilenceMs(r.out) <= 200, `gap ${longestSilenceMs(r.out)} ms`);
});

test('pinned to the second sender: it plays, the first never locks', () => {
  const sizes = [350, 350, 324];
  const a: Sender = { ssrc: 1, seq0: 0, ts0: 0, startMs: 0, stopMs: 4000, hz: 440, sizes };
  const b: Sender = { ssrc: 2, seq0: 30000, ts0: 123456789, startMs: 7, stopMs: 4000, hz: 660, sizes };
  const r = rig({ latencyMs: 100, senders: [a, b], ms: 4000, pin: 2 });
  assert.ok(
    r.ssrcs.every((x) => x === null || x === 2),
    r.ssrcs.join(),
  );
  assert.is(r.playout.stats().ssrc, 2);
  assert.ok(r.playout.stats().foreignSsrc > 300);
});

test.run();
