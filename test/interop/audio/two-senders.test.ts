// Two real GStreamer senders (rtpL16pay, a 1024-frame buffer sent as packets back to back) on one
// group and port, different SSRCs and tones, into our player in a namespace. The player used to
// flip between them 5–8 times in 9 s; it must stay on the first it locked, and move to the other
// only when told (`subscribe` with `ssrc`). What it played is checked on the audio the simulated
// DAC wrote through `speaker` to an ALSA file device, on the windows whose RTP time the sender
// (tapped on the wire) sent clean and on time (test/helpers/sender-health.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ChildProcess } from 'node:child_process';
import { createNetns, type Netns } from '../../helpers/netns.ts';
import { startAudioHost, stopAllHosts } from '../../helpers/audio-hosts.ts';
import { alsaFiles, type AlsaFiles } from '../../helpers/alsa.ts';
import { readS16 } from '../../helpers/audio-check.ts';
import { startUdpTap, type UdpTap } from '../../helpers/udp-taps.ts';
import { judgeTry, tappedHealth, waitPlaying, withCleanSender } from '../../helpers/sender-health.ts';
import { watchStarvation, type Starvation } from '../../helpers/starvation.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let ns: Netns | undefined, alsa: AlsaFiles | undefined, tap: UdpTap | undefined;
let starvation: Starvation | undefined; // stopped in teardown, whatever way a try ends
const procs: ChildProcess[] = [];

async function teardown(): Promise<void> {
  await stopAllHosts();
  starvation?.stop();
  starvation = undefined;
  for (const p of procs.splice(0)) {
    try {
      p.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  tap?.close();
  tap = undefined;
  ns?.delete();
  ns = undefined;
  alsa?.cleanup();
  alsa = undefined;
}
test.after.each(teardown);

const GROUP = '239.255.6.5',
  PORT = 46058;
const FORMAT = { rate: 48000, channels: 2, payloadType: 96 };
const SENDERS = [
  { ssrc: 1111, hz: 1000 },
  { ssrc: 2222, hz: 1500 },
];

/** A GStreamer sender, real-time like the player (as ffmpeg in senders-to-player): a sender starved 100 ms by a loaded machine is a sender gone. */
function gst(n: Netns, ssrc: number, hz: number): ChildProcess {
  return n.spawn('chrt', [
    '-r',
    '10',
    'gst-launch-1.0',
    '-q',
    'audiotestsrc',
    'is-live=true',
    `freq=${hz}`,
    'volume=0.5',
    '!',
    'audio/x-raw,format=S16BE,rate=48000,channels=2',
    '!',
    'rtpL16pay',
    'pt=96',
    `ssrc=${ssrc}`,
    '!',
    'udpsink',
    `host=${GROUP}`,
    `port=${PORT}`,
    'multicast-iface=lo',
    'ttl-mc=1',
    'auto-multicast=true',
  ]);
}

test('two GStreamer senders on one group and port: the player stays on one for 9 s, and switches by `subscribe` ssrc', async () => {
  await withCleanSender(3, twoSendersOnce, teardown);
});

async function twoSendersOnce(): Promise<{ result: null } | { senderFault: string }> {
  ns = createNetns('h2snd');
  alsa = alsaFiles(['room']);
  tap = await startUdpTap(ns, { realtime: true });
  await tap.listen(GROUP, PORT);
  const p = await startAudioHost({
    ns,
    id: 'p1',
    role: 'player',
    realtime: true,
    config: { group: GROUP, port: PORT, format: FORMAT, latencyMs: 100 },
    dac: { ppm: 0, bufferMs: 40, mirror: { device: 'room', env: alsa.env } },
  });
  starvation = watchStarvation(p.proc.pid!);
  for (const s of SENDERS) procs.push(gst(ns, s.ssrc, s.hz));
  const started = await waitPlaying({
    host: p,
    pred: (s) => s.playing && s.ssrc !== null,
    tap,
    port: PORT,
    latencyMs: 100,
    dacBufferMs: 40,
    starvation,
    what: 'two GStreamer senders',
  });
  if ('senderFault' in started) return started;
  const locked = started.state.ssrc as number;
  const t0 = Date.now();
  const seen = new Set<number>();
  while (Date.now() - t0 < 9000) {
    await sleep(250);
    const s = p.lastState()!;
    if (s.ssrc !== null) seen.add(s.ssrc);
  }
  const s = p.lastState()!;
  const resyncs = p.events.filter((e) => e.type === 'resync').length;
  if (seen.size > 1) {
    // The player takes another SSRC once the locked one fell silent for 100 ms (jitter-buffer.ts:
    // a sender gone). Only a locked sender that really went quiet that long on the wire (the tap
    // stamps a few ms apart from the player under load: 90 ms) makes the switch the sender's.
    const h = tappedHealth({ tap, port: PORT, ssrc: locked, latencyMs: 100, dacBufferMs: 40 });
    if (h.silence.ms >= 90) return { senderFault: `the locked sender fell silent for ${h.silence.ms.toFixed(0)} ms; ${h.summary()}` };
  }
  assert.equal([...seen], [locked], `SSRCs played in 9 s: ${[...seen].join(', ')}`);
  assert.is(s.resyncs, 0, `resyncs ${s.resyncs} (events ${resyncs})`);
  assert.ok(s.packets.foreignSsrc > 500, `the other sender's packets are counted foreign (${s.packets.foreignSsrc})`);
  // One clean tone, the locked sender's, on every window from 2 s after the player's first frame of
  // it (past its acquisition) that the sender sent clean and on time.
  const judge = (ssrc: number, what: string, sinceWallMs?: number) =>
    judgeTry({
      host: p,
      tap: tap!,
      port: PORT,
      ssrc,
      outFile: alsa!.outFile('room'),
      latencyMs: 100,
      dacBufferMs: 40,
      sinceWallMs,
      starvation,
      verdict: { what, hz: SENDERS.find((x) => x.ssrc === ssrc)!.hz, maxThdnDb: -50, fromS: sinceWallMs === undefined ? 2 : 0 },
    });
  const r = await judge(locked, `the locked sender (SSRC ${locked})`);
  if ('senderFault' in r) return r;

  // By command: the other sender, and only it.
  const other = SENDERS.find((x) => x.ssrc !== locked)!;
  const sub = await p.cmd('subscribe', { group: GROUP, port: PORT, format: FORMAT, ssrc: other.ssrc });
  assert.ok(sub.ok, JSON.stringify(sub.error));
  await p.waitState((x) => x.ssrc === other.ssrc && x.playing, 5000);
  const switched = Date.now();
  await sleep(4000);
  assert.is(p.lastState()!.ssrc, other.ssrc);
  // Judged from 2 s after the switch was reported (past the new stream's acquisition): the output
  // from then on is the other sender's.
  const u = await judge(other.ssrc, `after subscribe (SSRC ${other.ssrc})`, switched + 2000);
  if ('senderFault' in u) return u;
  return { result: null };
}

test("a GStreamer sender killed and started again (new SSRC, timestamps, sequence) at 300 ms latency: the DAC is silent for the sender's own gap, not a latency more", async () => {
  ns = createNetns('h2rst');
  alsa = alsaFiles(['room']);
  tap = await startUdpTap(ns, { realtime: true });
  await tap.listen(GROUP, PORT);
  const p = await startAudioHost({
    ns,
    id: 'p1',
    role: 'player',
    realtime: true,
    config: { group: GROUP, port: PORT, format: FORMAT, latencyMs: 300 },
    dac: { ppm: 0, bufferMs: 40, mirror: { device: 'room', env: alsa.env } },
  });
  const first = gst(ns, 1111, 1000);
  procs.push(first);
  await p.waitState((s) => s.playing && s.ssrc === 1111, 10_000);
  await sleep(3000);
  first.kill('SIGKILL');
  procs.push(gst(ns, 2222, 1000));
  await p.waitState((s) => s.playing && s.ssrc === 2222, 10_000);
  await sleep(2000);
  // The sender's own gap, on the wire: its last packet to the new one's first.
  const ssrc = (d: Buffer) => d.readUInt32BE(8);
  const lastOld = tap.got.filter((d) => ssrc(d.data) === 1111).at(-1)!;
  const firstNew = tap.got.find((d) => ssrc(d.data) === 2222)!;
  const wireGapMs = firstNew.wallMs - lastOld.wallMs;
  // The DAC's: the longest run of output below −60 dBFS once the tone had started.
  const pcm = readS16(alsa.outFile('room'));
  let started = false,
    run = 0,
    worst = 0;
  for (let i = 0; i < pcm.length; i += 2) {
    if (Math.abs(pcm[i]!) > 32) {
      if (started) worst = Math.max(worst, run);
      started = true;
      run = 0;
    } else run++;
  }
  const dacGapMs = worst / 48;
  const extraMs = dacGapMs - wireGapMs;
  console.log(
    `sender restart at 300 ms latency: wire gap ${wireGapMs.toFixed(1)} ms, DAC silent ${dacGapMs.toFixed(1)} ms, the player's share ${extraMs.toFixed(1)} ms`,
  );
  assert.ok(
    extraMs < 60,
    `the player added ${extraMs.toFixed(1)} ms of silence to the sender's ${wireGapMs.toFixed(1)} ms gap (DAC silent ${dacGapMs.toFixed(1)} ms)`,
  );
  assert.is(p.lastState()!.resyncs, 1);
});

test.run();
