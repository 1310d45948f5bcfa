import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { JitterBuffer } from '../../../../device/audio/packets/jitter-buffer.ts';

const RATE = 48000,
  F = 317;
const pay = new Uint8Array(F * 4);

/** Packet k of a PulseAudio-like stream (317 frames, 6.6 ms apart). */
function pk(k: number, o: { ssrc?: number; seq0?: number; ts0?: number; t0?: number; jitter?: number } = {}) {
  const seq = ((o.seq0 ?? 65530) + k) & 0xffff;
  const ts = ((o.ts0 ?? 2 ** 32 - 3 * F) + k * F) >>> 0;
  const at = (o.t0 ?? 1000) + (k * F * 1000) / RATE + (o.jitter ?? 0);
  return { ssrc: o.ssrc ?? 7, seq, ts, at };
}
function put(jb: JitterBuffer, p: ReturnType<typeof pk>) {
  return jb.insert(p.ssrc, p.seq, p.ts, F, pay, p.at);
}
function drain(jb: JitterBuffer): number[] {
  const out: number[] = [];
  for (let p = jb.first(); p; p = jb.first()) {
    out.push(p.ts);
    jb.advance(p.ts + p.frames);
  }
  return out;
}

test('orders by timeline across sequence and timestamp wrap-around; reordered packets land in place', () => {
  const jb = new JitterBuffer({ rate: RATE, maxFrames: RATE * 2 });
  const order = [0, 1, 3, 2, 5, 4, 6, 8, 7, 9];
  const res = order.map((k) => put(jb, pk(k)));
  assert.is(res[0], 'locked');
  assert.ok(
    res.slice(1).every((r) => r === 'ok'),
    res.join(),
  );
  const ts = drain(jb);
  const start = 2 ** 32 - 3 * F;
  assert.equal(
    ts,
    order.map((_, k) => start + k * F),
    'continuous unwrapped timeline past 2^32',
  );
  assert.is(jb.lost, 0);
});

test('duplicates and late packets are dropped and counted; gaps count as lost when passed', () => {
  const jb = new JitterBuffer({ rate: RATE, maxFrames: RATE * 2 });
  for (const k of [0, 1, 2, 4, 5]) put(jb, pk(k));
  assert.is(put(jb, pk(1)), 'duplicate');
  const start = 2 ** 32 - 3 * F;
  jb.advance(start + 4 * F); // the reader has passed packet 3's span: it's too late
  assert.is(put(jb, pk(3)), 'late');
  jb.advance(start + 6 * F);
  assert.is(jb.duplicates, 1);
  assert.is(jb.late, 1);
  assert.is(jb.lost, 1, 'seq of packet 3 was skipped');
  assert.is(put(jb, pk(3)), 'duplicate', 'a late packet seen again is a duplicate');
});

test('foreign SSRC while the locked sender is live: dropped and counted, never locks', () => {
  const jb = new JitterBuffer({ rate: RATE, maxFrames: RATE * 2 });
  for (let k = 0; k < 50; k++) {
    put(jb, pk(k));
    // A hostile sender interleaves a consistent stream of its own.
    const r = put(jb, { ...pk(k, { ssrc: 99, seq0: 10, ts0: 5000 }), at: pk(k).at + 0.1 });
    assert.ok(r === 'foreign' || r === 'probation', r);
  }
  assert.is(jb.ssrc(), 7);
  assert.is(jb.resyncs, 0);
  assert.is(jb.foreign, 50);
});

test('sender restart with a new SSRC: takes over once the old one has been silent 100 ms; the run is handed over', () => {
  const jb = new JitterBuffer({ rate: RATE, maxFrames: RATE * 2 });
  for (let k = 0; k < 20; k++) put(jb, pk(k));
  const tStop = pk(19).at;
  const results: string[] = [];
  let resyncAt = NaN;
  for (let k = 0; k < 30 && Number.isNaN(resyncAt); k++) {
    const p = pk(k, { ssrc: 1234, seq0: 40000, ts0: 777, t0: tStop + 30 });
    results.push(put(jb, p));
    if (results.at(-1) === 'resync') resyncAt = p.at;
  }
  assert.equal(results.slice(0, 2), ['foreign', 'probation']);
  assert.ok(resyncAt - tStop >= 100, `took over ${resyncAt - tStop} ms after the old SSRC's last packet`);
  assert.ok(resyncAt - (tStop + 30) < 200, `re-synced ${resyncAt - tStop - 30} ms after the restart`);
  const run = jb.takeRun();
  assert.is(run.length, results.length, 'every packet of the new run since it began');
  assert.is(run[0]!.tsRaw, 777);
  assert.is(run[0]!.ssrc, 1234);
  assert.equal(jb.takeRun(), [], 'handed over once');
  assert.is(jb.ssrc(), 7, 'the old buffer stays as it was (its audio plays out)');
  assert.is(jb.resyncs, 1);
});

test('same SSRC, timestamp jump: one absurd packet is dropped; a consistent new run re-syncs at once', () => {
  const jb = new JitterBuffer({ rate: RATE, maxFrames: RATE * 2 });
  for (let k = 0; k < 10; k++) put(jb, pk(k));
  // One hostile/absurd timestamp in the middle of a live stream.
  assert.is(put(jb, { ...pk(10), ts: 123456 }), 'off-timeline');
  assert.is(put(jb, pk(10)), 'ok');
  assert.is(jb.offTimeline, 1);
  // Then the sender restarts its timeline (same SSRC, new ts base, seq continues).
  const t = pk(11).at + 50;
  const r = [0, 1, 2].map((k) =>
    put(jb, { ssrc: 7, seq: (pk(11).seq + k) & 0xffff, ts: (99999 + k * F) >>> 0, at: t + (k * F * 1000) / RATE }),
  );
  assert.equal(r, ['off-timeline', 'probation', 'resync']);
  assert.is(jb.takeRun()[0]!.tsRaw, 99999);
});

test('two live senders interleaving in bursts (GStreamer: 3 packets back to back): the lock never flips', () => {
  const jb = new JitterBuffer({ rate: RATE, maxFrames: RATE * 2 });
  // Each sends a 1024-frame buffer as packets of 350, 350, 324 frames every 21.3 ms; B 7 ms after A.
  const sizes = [350, 350, 324];
  const send = (ssrc: number, block: number, t0: number) =>
    sizes.map((n, i) => {
      const seq = (block * 3 + i) & 0xffff,
        ts = block * 1024 + sizes.slice(0, i).reduce((a, b) => a + b, 0);
      return jb.insert(ssrc, seq, ts, n, new Uint8Array(n * 4), t0 + (block * 1024 * 1000) / RATE + i * 0.05);
    });
  const results: string[] = [];
  for (let b = 0; b < 420; b++) results.push(...send(1, b, 1000), ...send(2, b, 1007)); // 9 s
  assert.is(jb.ssrc(), 1);
  assert.is(results.filter((r) => r === 'resync').length, 0, 'no switch while both send');
  // A stops: B takes over once A has been silent 100 ms, not before.
  let at = NaN;
  for (let b = 420; b < 440 && Number.isNaN(at); b++) if (send(2, b, 1007).includes('resync')) at = 1007 + (b * 1024 * 1000) / RATE;
  const lastA = 1000 + (419 * 1024 * 1000) / RATE + 0.1;
  assert.ok(at - lastA >= 100 && at - lastA < 130, `switched ${at - lastA} ms after A's last packet`);
  assert.is(jb.takeRun()[0]!.ssrc, 2);
});

test('pinned to an SSRC: no other ever locks or takes over, even after long silence', () => {
  const jb = new JitterBuffer({ rate: RATE, maxFrames: RATE * 2, ssrc: 1234 });
  for (let k = 0; k < 50; k++) assert.is(put(jb, pk(k)), 'foreign');
  assert.is(jb.ssrc(), null);
  assert.is(put(jb, pk(0, { ssrc: 1234, t0: 2000 })), 'locked');
  for (let k = 1; k < 5; k++) put(jb, pk(k, { ssrc: 1234, t0: 2000 }));
  // 1234 falls silent for a second; 7 sends a long consistent run: still foreign.
  for (let k = 0; k < 200; k++) assert.is(put(jb, pk(k, { t0: 3000 })), 'foreign');
  assert.is(jb.ssrc(), 1234);
  assert.is(jb.pinnedSsrc(), 1234);
});

test('a silence gap in sending (timestamps consistent with arrival) is not a restart', () => {
  const jb = new JitterBuffer({ rate: RATE, maxFrames: RATE * 10 });
  for (let k = 0; k < 5; k++) put(jb, pk(k));
  // 3 s pause: seq continues, ts advanced by the pause, arrivals consistent.
  const r = put(jb, pk(5 + 454));
  assert.is(r, 'ok');
  assert.is(jb.resyncs, 0);
});

test('capacity: the oldest audio goes when more than maxFrames are buffered', () => {
  const jb = new JitterBuffer({ rate: RATE, maxFrames: 10 * F });
  for (let k = 0; k < 30; k++) put(jb, pk(k));
  assert.ok(jb.bufferedFrames() <= 10 * F + F);
  assert.ok(jb.overflow >= 19);
  assert.is(jb.first()!.ts, 2 ** 32 - 3 * F + (30 - jb.size()) * F);
});

test('unwrapTs places SR timestamps on the packet timeline across the wrap', () => {
  const jb = new JitterBuffer({ rate: RATE, maxFrames: RATE * 2 });
  for (let k = 0; k < 6; k++) put(jb, pk(k));
  const start = 2 ** 32 - 3 * F;
  assert.is(jb.unwrapTs((start + 100) >>> 0), start + 100);
  assert.is(jb.unwrapTs((start + 5 * F) >>> 0), start + 5 * F);
});

test.run();
