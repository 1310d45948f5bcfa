// A player whose wall clock is 95 ms ahead of the source's, shifted from outside hearth's code
// with libfaketime (realtime clock only; DONT_FAKE_MONOTONIC). Its SRs' apparent delay (95 ms)
// is inside the SR trust window (capped by its 100 ms latency), so it trusts them and schedules
// every block ~35 ms before its audio arrives (its DAC queue is 40 ms): it plays nothing. (At
// 150 ms ahead, as this test first had it, the cap now leaves the arrival mapping in charge.)
// Its state used to say `playing: true` with a sync error of a few µs. What reaches its DAC (the simulated DAC's records, in the player's process) must be
// what its state says: late, not playing, no sync error, and an `output` event saying so. A
// player beside it on a true clock plays.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { createNetns, type Netns } from '../../helpers/netns.ts';
import { startAudioHost, stopAllHosts } from '../../helpers/audio-hosts.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const G = '239.255.5.3',
  P = 46044;
let ns: Netns;

test.after(async () => {
  await stopAllHosts();
  ns?.delete();
});

test('a player 95 ms ahead of the sender (SRs still trusted) says late, not playing; its DAC gets no stream audio', async () => {
  assert.ok(existsSync(LIBFAKETIME), `libfaketime (Debian package faketime) at ${LIBFAKETIME}`);
  ns = createNetns('hclk');
  await startAudioHost({
    ns,
    id: 'src1',
    role: 'source',
    realtime: true,
    config: { streams: [{ id: 'tone', input: { kind: 'tone', frequency: 1000, amplitude: 0.5 }, group: G, port: P }] },
  });
  const dac = { ppm: 0, bufferMs: 40 };
  const [ahead, right] = await Promise.all([
    startAudioHost({
      ns,
      id: 'ahead',
      role: 'player',
      realtime: true,
      config: { group: G, port: P },
      dac,
      env: { LD_PRELOAD: LIBFAKETIME, FAKETIME: '+0.095', DONT_FAKE_MONOTONIC: '1' },
    }),
    startAudioHost({ ns, id: 'right', role: 'player', realtime: true, config: { group: G, port: P }, dac }),
  ]);
  // Until the player ahead trusts the SRs and says late, and the other plays; then the 3 s of
  // DAC records the checks below read.
  await ahead.waitState((x) => x.timing === 'rtcp' && x.output.status === 'late', 20_000);
  await right.waitState((x) => x.playing, 20_000);
  await sleep(3500);
  const s = ahead.lastState()!;
  assert.is(s.timing, 'rtcp', 'it trusts the SRs (the case the trust window lets through)');
  assert.ok(s.packets.received + s.packets.late > 500, `packets arrive (${s.packets.received} in time, ${s.packets.late} late)`);
  // What its DAC got over the last 3 s (records are in its own, shifted, wall clock: take the newest).
  const recs = (await ahead.records()).records;
  const tail = recs.slice(-Math.round(3000 / 5));
  const audible = tail.filter((r) => r.rtpTimeAtStart !== null).length;
  assert.is(audible, 0, `blocks of stream audio at its DAC in the last 3 s: ${audible} of ${tail.length}`);
  assert.is(s.playing, false, 'not playing');
  assert.is(s.output.status, 'late', `output ${s.output.status}: ${s.output.reason}`);
  assert.ok(s.output.leadMs < -20, `the audio arrives ${-s.output.leadMs} ms after its playout instant`);
  assert.is(s.syncErrorUs, null, 'no sync error without audio at the DAC');
  assert.ok(
    ahead.events.some((e) => e.type === 'output' && e.data?.status === 'late'),
    `an output event says late (${ahead.events.map((e) => e.type).join(', ')})`,
  );
  // The player on a true clock plays, and says so.
  const t = right.lastState()!;
  const rt = (await right.records()).records.slice(-600);
  assert.ok(rt.filter((r) => r.rtpTimeAtStart !== null).length > 550, "the true-clock player's DAC gets the stream");
  assert.is(t.playing, true);
  assert.is(t.output.status, 'playing', t.output.reason ?? '');
  assert.ok(t.syncErrorUs !== null && Math.abs(t.syncErrorUs) < 200, `sync error ${t.syncErrorUs} µs`);
});

test.run();
