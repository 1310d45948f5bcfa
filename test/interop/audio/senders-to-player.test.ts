// Real senders written by others → our player, each in a fresh namespace, the played audio
// checked by tone analysis on what the simulated DAC (+100 ppm, so the resampler works) wrote
// through `speaker` to an ALSA file device, on the windows whose RTP time the sender (tapped on the
// wire) sent clean and on time (test/helpers/sender-health.ts); a try whose sender glitched is
// repeated with a fresh sender, three tries at most:
// - PulseAudio module-rtp-send (PT 127, 317-frame packets, SAP announced), chosen by SAP name;
// - ffmpeg (PT 96, no SAP), chosen by group:port + format;
// - GStreamer rtpL16pay (PT 96), chosen by group:port + format.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createNetns, type Netns } from '../../helpers/netns.ts';
import { startAudioHost, stopAllHosts, type AudioHost } from '../../helpers/audio-hosts.ts';
import { alsaFiles, type AlsaFiles } from '../../helpers/alsa.ts';
import { startPulse, type Pulse } from '../../helpers/pulse.ts';
import { wavBytes } from '../../helpers/audio-check.ts';
import { startUdpTap, type UdpTap } from '../../helpers/udp-taps.ts';
import { faultsNearEnd, judgeTry, waitPlaying, withCleanSender, type PlayedVerdictOptions } from '../../helpers/sender-health.ts';
import { watchStarvation, type Starvation } from '../../helpers/starvation.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let ns: Netns | undefined, alsa: AlsaFiles | undefined, pa: Pulse | undefined, tap: UdpTap | undefined;
let starvation: Starvation | undefined;
const procs: ChildProcess[] = [];

async function teardown(): Promise<void> {
  await stopAllHosts();
  starvation?.stop();
  starvation = undefined;
  tap?.close();
  tap = undefined;
  for (const p of procs.splice(0)) {
    try {
      p.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  await pa?.stop();
  pa = undefined;
  ns?.delete();
  ns = undefined;
  alsa?.cleanup();
  alsa = undefined;
}
test.after.each(teardown);

function sine(seconds: number, hz: number, amp: number): Int16Array {
  const out = new Int16Array(seconds * 48000 * 2);
  for (let i = 0; i < seconds * 48000; i++)
    out[2 * i] = out[2 * i + 1] = Math.round(amp * 32767 * Math.sin((2 * Math.PI * hz * i) / 48000));
  return out;
}

/** A fresh namespace, ALSA file device and wire tap on group:port (real-time, like the player). */
async function fresh(prefix: string, group: string, port: number): Promise<void> {
  ns = createNetns(prefix);
  alsa = alsaFiles(['room']);
  tap = await startUdpTap(ns, { realtime: true });
  await tap.listen(group, port);
}

/** The player, with its run-queue waits watched (starvation.ts). */
async function player(config: Record<string, unknown>): Promise<AudioHost> {
  const p = await startAudioHost({
    ns: ns!,
    id: 'p1',
    role: 'player',
    realtime: true,
    config,
    dac: { ppm: 100, bufferMs: 60, mirror: { device: 'room', env: alsa!.env } },
  });
  starvation = watchStarvation(p.proc.pid!);
  return p;
}

/** Waits for `p` (its DAC queue 60 ms, as player() gives it) to play, judged against the wire (waitPlaying). */
function playing(
  p: AudioHost,
  what: string,
  port: number,
  latencyMs = 100,
  pred: (s: Record<string, any>) => boolean = (s) => s.playing,
): ReturnType<typeof waitPlaying> {
  return waitPlaying({ host: p, pred, tap: tap!, port, latencyMs, dacBufferMs: 60, starvation, what });
}

/**
 * The tone the player played, judged on the output windows from `fromS` after its first frame of
 * the tone (past its acquisition) whose RTP time the sender sent clean and on time (THD+N < −60 dB, 1 kHz, level); the sender's faults when
 * too few windows were clean.
 */
async function checkTone(
  p: AudioHost,
  port: number,
  verdict: Omit<PlayedVerdictOptions, 'hz' | 'maxThdnDb'>,
  latencyMs = 100,
): Promise<{ result: null } | { senderFault: string }> {
  const s = p.lastState()!;
  const dacUnderruns = (await p.records()).underruns;
  assert.ok(s.packets.received > 100, `${verdict.what}: packets received`);
  const r = await judgeTry({
    host: p,
    tap: tap!,
    port,
    outFile: alsa!.outFile('room'),
    latencyMs,
    dacBufferMs: 60,
    starvation,
    verdict: {
      ...verdict,
      hz: 1000,
      maxThdnDb: -60,
      why: `packets ${JSON.stringify(s.packets)}, underruns ${s.underruns}, DAC underruns ${dacUnderruns}, resyncs ${s.resyncs}, buffer ${s.bufferMs.toFixed(1)} ms`,
    },
  });
  if ('senderFault' in r) return r;
  // The player's own state must say it plays. Its last state covers the last half second or so:
  // a sender or machine fault there (the tap's last 3 s, to be safe) makes a "not playing" theirs.
  if (!s.playing) {
    const near = faultsNearEnd(r.health, 3);
    if (near.length) return { senderFault: `not playing (${s.output?.status ?? '?'}) just after: ${near.map((f) => f.what).join('; ')}` };
  }
  assert.is(s.playing, true, `${verdict.what}: playing (state ${JSON.stringify(s.output ?? null)}; ${r.health.summary()})`);
  const t = r.worst.tone;
  assert.ok(t.dbfs > -12 && t.dbfs < -3, `${verdict.what}: level ${t.dbfs.toFixed(1)} dBFS`);
  return { result: null };
}

test('PulseAudio module-rtp-send (its defaults: 224.0.0.56, SAP there) → our player, found by its SAP session name', async () => {
  await withCleanSender(3, pulseOnce, teardown);
});

async function pulseOnce(): Promise<{ result: null } | { senderFault: string }> {
  await fresh('hpas', '224.0.0.56', 46050);
  pa = await startPulse(ns!, [
    'load-module module-null-sink sink_name=rtpsink format=s16be channels=2 rate=48000',
    'load-module module-rtp-send source=rtpsink.monitor port=46050 loop=1 ttl=1 stream_name=hearth-pa',
  ]);
  const p = await player({ sap: 'hearth-pa' });
  const wav = join(alsa!.dir, 'tone.wav');
  writeFileSync(wav, wavBytes(sine(20, 1000, 0.5), 48000, 2));
  procs.push(pa.client('paplay', ['-d', 'rtpsink', wav]));
  const started = await playing(p, 'PulseAudio', 46050, 100, (s) => s.playing && s.stream.origin === 'sap');
  if ('senderFault' in started) return started;
  await sleep(4000);
  const s = p.lastState()!;
  assert.equal(s.format, { encoding: 'L16', rate: 48000, channels: 2, payloadType: 127 });
  assert.is(s.stream.group, '224.0.0.56');
  // What a user asks a player to find the name to subscribe to (cmd/player/streams).
  const listed = await p.cmd('streams', {});
  const e = (listed.result as { streams: Array<{ choose: { sap?: string }; origin: string; group: string; port: number }> }).streams.find(
    (x) => x.choose.sap === 'hearth-pa',
  );
  assert.ok(e && e.origin === 'sap' && e.group === '224.0.0.56' && e.port === 46050, JSON.stringify(listed));
  return checkTone(p, 46050, { what: 'PulseAudio', fromS: 2 });
}

test('PulseAudio announcing on its own group (destination_ip) is found with sapGroups', async () => {
  ns = createNetns('hpa2');
  alsa = alsaFiles(['room']);
  pa = await startPulse(ns, [
    'load-module module-null-sink sink_name=rtpsink format=s16be channels=2 rate=48000',
    'load-module module-rtp-send source=rtpsink.monitor destination_ip=239.255.6.1 port=46052 loop=1 ttl=1 stream_name=hearth-pa2',
  ]);
  const p = await player({ sap: 'hearth-pa2', sapGroups: ['239.255.6.1'] });
  await p.waitState((s) => s.playing && s.stream.origin === 'sap' && s.stream.group === '239.255.6.1', 10_000);
});

test('ffmpeg RTP (PT 96) → our player, by group:port and format', async () => {
  await withCleanSender(3, ffmpegOnce, teardown);
});

async function ffmpegOnce(): Promise<{ result: null } | { senderFault: string }> {
  await fresh('hffm', '239.255.6.4', 46056);
  // 150 ms of latency, as a user of ffmpeg needs: ffmpeg 5.1's -re pacing sends runs of packets
  // 28-40 ms late a few seconds in (tapped, 5 of 5 tries of one loop), past what 100 ms leaves
  // over a 60 ms DAC queue (28 ms): at 100 ms all three tries of one run met it (a sender fault
  // each), and the test failed with nothing wrong in the player.
  const p = await player({ group: '239.255.6.4', port: 46056, latencyMs: 150, format: { rate: 48000, channels: 2, payloadType: 96 } });
  // Real-time like the player (and like PulseAudio, which asks for it): the worst-window check
  // below is about the player, and an ffmpeg starved > 100 ms by a loaded machine sends late.
  procs.push(
    ns!.spawn('chrt', [
      '-r',
      '10',
      'ffmpeg',
      '-hide_banner',
      '-loglevel',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      'aevalsrc=0.5*sin(2*PI*1000*t)|0.5*sin(2*PI*1000*t):s=48000:d=20',
      '-c:a',
      'pcm_s16be',
      '-payload_type',
      '96',
      '-f',
      'rtp',
      'rtp://239.255.6.4:46056?ttl=1&pkt_size=1292&localaddr=127.0.0.1',
    ]),
  );
  const started = await playing(p, 'ffmpeg', 46056, 150);
  if ('senderFault' in started) return started;
  await sleep(7000); // past ffmpeg's second RTCP SR (5 s after its first packet)
  assert.is(p.lastState()!.format.payloadType, 96);
  // ffmpeg sends RTCP SRs every 5 s (the first before any packet); their RTP↔NTP pairing is 21 ms
  // off its packets, and following them once re-anchored the playout mid-tone. Every window from
  // 2 s after the tone starts playing (past the second SR) must be clean, not just the last one;
  // 34 windows 0.1 s apart: at least 4 s of tone judged.
  return checkTone(p, 46056, { what: 'ffmpeg', fromS: 2, minWindows: 34 }, 150);
}

test('GStreamer rtpL16pay (PT 96) → our player, by group:port and format', async () => {
  await withCleanSender(3, gstreamerOnce, teardown);
});

async function gstreamerOnce(): Promise<{ result: null } | { senderFault: string }> {
  await fresh('hgst', '239.255.6.3', 46054);
  const p = await player({ group: '239.255.6.3', port: 46054, format: { rate: 48000, channels: 2, payloadType: 96 } });
  // Real-time like the player, as ffmpeg above.
  procs.push(
    ns!.spawn('chrt', [
      '-r',
      '10',
      'gst-launch-1.0',
      '-q',
      'audiotestsrc',
      'is-live=true',
      'freq=1000',
      'volume=0.5',
      '!',
      'audio/x-raw,format=S16BE,rate=48000,channels=2',
      '!',
      'rtpL16pay',
      'pt=96',
      '!',
      'udpsink',
      'host=239.255.6.3',
      'port=46054',
      'multicast-iface=lo',
      'ttl-mc=1',
      'auto-multicast=true',
    ]),
  );
  const started = await playing(p, 'GStreamer', 46054);
  if ('senderFault' in started) return started;
  await sleep(6000); // senders without RTCP: the arrival-time mapping settles first
  assert.is(p.lastState()!.format.payloadType, 96);
  return checkTone(p, 46054, { what: 'GStreamer', fromS: 2 });
}

test.run();
