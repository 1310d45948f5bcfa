// The interop tests' sender check (test/helpers/sender-health.ts) on made-up wire captures: a
// clean tone is clean; a skipped quantum, a run of zeros, a missing packet, a late packet and a
// step of the arrival floor are each found where they are; and the player is still judged (and
// fails) where the sender was clean, excused only around the sender's own faults.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sentAudio, senderHealth, judgePlayed, playedVerdict, machineFaults, waitPlaying } from '../../helpers/sender-health.ts';
import type { AudioHost } from '../../helpers/audio-hosts.ts';
import type { UdpTap } from '../../helpers/udp-taps.ts';
import type { Dgram } from '../../helpers/udp-taps.ts';
import type { SimBlockRecord } from '../../../device/hal/audio-out.sim.ts';

const RATE = 48000,
  PKT = 320,
  PORT = 46000,
  HZ = 1000,
  AMP = 16384;
// Near the 32-bit wrap, so the helper's unwrapping is exercised.
const TS0 = 2 ** 32 - 3 * RATE;

interface Wire {
  seconds?: number;
  /** Sent content's phase offset (frames) from this frame on: a skipped (+) or repeated (−) stretch. */
  skipAt?: [number, number];
  /** Zeros over [from, to) frames. */
  zeros?: [number, number];
  /** Packet indices never sent. */
  missing?: number[];
  /** Extra delay (ms) of one packet index. */
  late?: [number, number];
  /** Every packet from this frame on arrives this much later (ms). */
  step?: [number, number];
}

/** The left channel a sender with `w`'s faults sends at frame n of its tone. */
function sample(n: number, w: Wire): number {
  if (w.zeros && n >= w.zeros[0] && n < w.zeros[1]) return 0;
  const m = w.skipAt && n >= w.skipAt[0] ? n + w.skipAt[1] : n;
  return Math.round(AMP * Math.sin((2 * Math.PI * HZ * m) / RATE));
}

function wire(w: Wire = {}): Dgram[] {
  const packets = Math.floor(((w.seconds ?? 6) * RATE) / PKT);
  const out: Dgram[] = [];
  for (let i = 0; i < packets; i++) {
    if (w.missing?.includes(i)) continue;
    const b = Buffer.alloc(12 + PKT * 4);
    b[0] = 0x80;
    b[1] = 96;
    b.writeUInt16BE(i & 0xffff, 2);
    b.writeUInt32BE((TS0 + i * PKT) % 2 ** 32, 4);
    b.writeUInt32BE(1234, 8);
    for (let f = 0; f < PKT; f++) {
      const v = sample(i * PKT + f, w);
      b.writeInt16BE(v, 12 + 4 * f);
      b.writeInt16BE(v, 14 + 4 * f);
    }
    let wallMs = 1e6 + (((i + 1) * PKT) / RATE) * 1000 + 2 + ((i * 7919) % 13) / 10; // ≤ 1.2 ms jitter
    if (w.late && w.late[0] === i) wallMs += w.late[1];
    if (w.step && i * PKT >= w.step[0]) wallMs += w.step[1];
    out.push({ group: '239.1.1.1', port: PORT, from: '127.0.0.1', data: b, wallMs });
  }
  return out;
}

const health = (w: Wire = {}) => senderHealth(sentAudio(wire(w), { port: PORT, rate: RATE, channels: 2 }), { budgetMs: 28 });

test('a clean, on-time tone has no faults', () => {
  const h = health();
  assert.equal(h.faults, [], h.summary());
  assert.ok(h.residualLsb <= 3, `residual ${h.residualLsb}`);
  assert.ok(h.maxLateMs < 2, `lateness ${h.maxLateMs}`);
  assert.match(h.summary(), /clean and on time/);
});

test('a skipped quantum that is not silence is a discontinuity, where it happened', () => {
  const at = 2 * RATE + 100;
  const h = health({ skipAt: [at, 320] });
  assert.is(h.faults.length, 1, h.summary());
  assert.is(h.faults[0]!.kind, 'discontinuity');
  assert.ok(Math.abs(h.faults[0]!.from - (TS0 + at)) < 4, `at ${h.faults[0]!.from - TS0}`);
  // A repeat of a single frame (a 0.13 rad phase step) too.
  assert.is(health({ skipAt: [at, -1] }).faults.length, 1);
});

test('silence inside the tone and a missing packet are faults', () => {
  const z = health({ zeros: [RATE, RATE + 640] });
  assert.ok(z.faults.length >= 1 && z.faults.every((f) => f.kind === 'discontinuity'), z.summary());
  assert.ok(z.faults[0]!.from - TS0 < RATE + 4 && z.faults.at(-1)!.to - TS0 > RATE + 636, z.summary());
  const m = health({ missing: [400] });
  assert.ok(
    m.faults.some((f) => f.kind === 'hole' && f.from === TS0 + 400 * PKT && f.to === TS0 + 401 * PKT),
    m.summary(),
  );
});

test('a packet later than the budget is late; one within it is not', () => {
  const h = health({ late: [500, 40] });
  assert.equal(
    h.faults.map((f) => [f.kind, f.from - TS0]),
    [['late', 500 * PKT]],
    h.summary(),
  );
  assert.equal(health({ late: [500, 20] }).faults, []);
});

test('a step of the arrival floor is a fault lasting the 1.5 s the player takes to follow it', () => {
  const h = health({ step: [3 * RATE, 5] });
  assert.is(h.faults.length, 1, h.summary());
  const f = h.faults[0]!;
  assert.is(f.kind, 'step');
  assert.ok(f.from - TS0 <= 3 * RATE && f.to - TS0 >= 4.5 * RATE, `${(f.from - TS0) / RATE}…${(f.to - TS0) / RATE}`);
});

test('a step the player slews (under half its step size, with the steps of the 10 s before) is no fault, but named; one it may re-anchor on is', () => {
  const capture = (step: number) => sentAudio(wire({ step: [3 * RATE, step] }), { port: PORT, rate: RATE, channels: 2 });
  // 100 ms of latency: the player steps past 10 ms (timing.ts arrivalStepMs), so 2.5 ms is slewed.
  const slewed = senderHealth(capture(2.5), { budgetMs: 28, stepMs: 10 });
  assert.is(slewed.faults.length, 0, slewed.summary());
  assert.match(slewed.summary(), /1 slewed \(not faults\): arrival floor stepped \+2\.5 ms/);
  const big = senderHealth(capture(5), { budgetMs: 28, stepMs: 10 });
  assert.equal(
    big.faults.map((f) => f.kind),
    ['step'],
    big.summary(),
  );
});

/**
 * What a perfect player outputs for `w`'s capture, in 240-frame blocks (some pre-roll silence
 * first), with `glitch` applied to the output: its records and mirrored pcm.
 */
function played(w: Wire, glitch?: { at: number; skip: number }): { pcm: Int16Array; records: SimBlockRecord[] } {
  const frames = (w.seconds ?? 6) * RATE - 2 * PKT;
  const pre = 4800,
    block = 240;
  const pcm = new Int16Array((pre + frames) * 2);
  const records: SimBlockRecord[] = [];
  for (let f = 0; f < pre + frames; f += block) {
    const src = f - pre;
    const shift = glitch && src >= glitch.at ? glitch.skip : 0;
    records.push({ epoch: 1, frame: f, frames: block, wallMs: f / 48, rtpTimeAtStart: src < 0 ? null : (TS0 + src + shift) % 2 ** 32 });
    for (let k = 0; k < block && f + k < pre + frames; k++) {
      const n = src + k + shift;
      pcm[2 * (f + k)] = pcm[2 * (f + k) + 1] = src < 0 ? 0 : sample(n, w);
    }
  }
  return { pcm, records };
}

test('the player is judged where the sender was clean, excused only around its faults', () => {
  const w: Wire = { skipAt: [3 * RATE, 320] };
  const h = health(w);
  const v = (j: ReturnType<typeof judgePlayed>) => playedVerdict(j, h, { what: 'x', hz: HZ, maxThdnDb: -80, fromS: 0.5 });
  // A perfect player plays the sender's glitch: the windows over it are bad, and the sender's.
  const clean = played(w);
  const j = judgePlayed(clean.pcm, clean.records, h, { fromS: 0.5, stepFrames: 12000 });
  const met = j.windows.filter((x) => x.faults.length > 0);
  assert.ok(met.length > 0 && met.length < j.windows.length, `${j.windows.length} judged, ${met.length} met the fault`);
  const dump = j.windows.map((x) => `${x.atS.toFixed(2)}:${x.tone.thdnDb.toFixed(0)}${x.faults.length ? '*' : ''}`).join(' ');
  assert.ok(met.some((x) => x.tone.thdnDb > -40) && j.windows.every((x) => x.faults.length > 0 || x.tone.thdnDb < -80), dump);
  // Judged on the clean windows: the player played those cleanly.
  assert.is(v(j), null);
  // Too few clean windows left: the try is the sender's, naming its fault.
  assert.match(
    playedVerdict(j, h, { what: 'x', hz: HZ, maxThdnDb: -80, fromS: 0.5, minWindows: j.windows.length }) ?? '',
    /clean audio to judge the player on .*tone broken at 3\.00 s/,
  );
  // The player skipping 7 frames at 1.5 s, where the sender was clean: the player's fault.
  const bad = played(w, { at: 1.5 * RATE, skip: 7 });
  assert.throws(() => v(judgePlayed(bad.pcm, bad.records, h, { fromS: 0.5, stepFrames: 12000 })), /where the sender was clean and on time/);
  // A sender without faults and a perfect player: clean.
  const ok = played({});
  assert.is(
    playedVerdict(judgePlayed(ok.pcm, ok.records, health(), { fromS: 0.5, stepFrames: 12000 }), health(), {
      what: 'x',
      hz: HZ,
      maxThdnDb: -80,
    }),
    null,
  );
});

test("the machine keeping the player off the CPU is not the player's fault, and only where it happened", () => {
  const h = health();
  // The player starved 50 ms at 2.0 s of output wall time (output frame 96000 = source frame 91200).
  machineFaults(h, played({}).records, [{ from: 2000, to: 2050, waitedMs: 50 }], 60);
  assert.equal(
    h.faults.map((f) => [f.kind, Math.round((f.from - TS0) / 240), Math.round((f.to - TS0) / 240)]),
    [['starved', 380, 407]], // from the starvation to one DAC queue (60 ms) and 20 ms after it
    h.summary(),
  );
  const v = (glitchAt: number) => {
    const p = played({}, { at: glitchAt, skip: 7 });
    return () =>
      playedVerdict(judgePlayed(p.pcm, p.records, h, { fromS: 0.5, stepFrames: 12000 }), h, { what: 'x', hz: HZ, maxThdnDb: -80 });
  };
  assert.not.throws(v(91200 + 1200)); // a glitch right after the starvation: the machine's
  assert.throws(v(4 * RATE), /where the sender was clean and on time/); // two seconds later: the player's
});

test('too short a judged span is a failure, not a pass', () => {
  const p = played({ seconds: 2 });
  const h = health({ seconds: 2 });
  const j = judgePlayed(p.pcm, p.records, h, { fromS: 0.5, stepFrames: 12000 });
  assert.throws(() => playedVerdict(j, h, { what: 'x', hz: HZ, maxThdnDb: -80, minWindows: 34 }), /windows of output to judge \(want 34\)/);
});

/** A player that never plays (its wait times out at once), and a tap that saw `dgrams`. */
function neverPlays(dgrams: Dgram[]): { host: AudioHost; tap: UdpTap } {
  const host = {
    waitState: () => Promise.reject(new Error('timed out waiting for a state of p1')),
    lastState: () => ({ playing: false }),
  } as unknown as AudioHost;
  return { host, tap: { got: dgrams } as unknown as UdpTap };
}

test("a player not playing is its own fault over clean audio, and the sender's when the wire shows a fault or too little audio", async () => {
  const o = { pred: () => true, port: PORT, latencyMs: 100, dacBufferMs: 60, what: 'sender' };
  const clean = neverPlays(wire());
  await waitPlaying({ ...o, ...clean }).then(
    () => assert.unreachable('not playing over clean audio must throw'),
    (e: Error) => assert.match(e.message, /not playing 10 s after the sender started, over audio it sent clean and on time/),
  );
  const broken = await waitPlaying({ ...o, ...neverPlays(wire({ zeros: [RATE, RATE + 2000] })) });
  assert.ok('senderFault' in broken && /discontinuity/.test(broken.senderFault), JSON.stringify(broken));
  const little = await waitPlaying({ ...o, ...neverPlays(wire({ seconds: 0.5 })) });
  assert.ok('senderFault' in little && /0\.50 s of the sender's audio/.test(little.senderFault), JSON.stringify(little));
  const none = await waitPlaying({ ...o, ...neverPlays([]) });
  assert.ok('senderFault' in none && /nothing of the sender/.test(none.senderFault), JSON.stringify(none));
});

test.run();
