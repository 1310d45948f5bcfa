// Our source in a namespace, heard by a plain UDP tap: RTP L16 paced in real time, RTCP sender
// reports that map RTP time to the wall clock, SAP/SDP on 224.0.0.56:9875 and the group's 9875,
// the MQTT announcement, and disable/enable with SAP deletion and RTCP BYE.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createNetns, type Netns } from '../../helpers/netns.ts';
import { startAudioHost, stopAllHosts, announcements, type AudioHost } from '../../helpers/audio-hosts.ts';
import { startUdpTap, type UdpTap } from '../../helpers/udp-taps.ts';
import { parseRtp } from '../../../device/audio/packets/rtp.ts';
import { parseRtcp } from '../../../device/audio/packets/rtcp.ts';
import { parseSap } from '../../../device/audio/packets/sap.ts';
import { parseSdp } from '../../../device/audio/packets/sdp.ts';

const G = '239.255.1.1',
  P = 46000;
let ns: Netns, src: AudioHost, tap: UdpTap;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test.before(async () => {
  ns = createNetns('hsrc');
  tap = await startUdpTap(ns);
  await tap.listen(G, P);
  await tap.listen(G, P + 1);
  await tap.listen('224.0.0.56', 9875);
  await tap.listen(G, 9875);
  src = await startAudioHost({
    ns,
    id: 'src1',
    role: 'source',
    realtime: true,
    config: {
      streams: [{ id: 'tone', name: 'Kitchen tone', input: { kind: 'tone', frequency: 1000, amplitude: 0.5 }, group: G, port: P }],
    },
  });
});
test.after(async () => {
  await stopAllHosts();
  tap.close();
  ns.delete();
});

test('RTP L16 packets: PT 127, 240 frames, consecutive sequence and timestamps, one SSRC, paced in real time', async () => {
  await sleep(1200);
  const rtp = tap.got.filter((d) => d.port === P).map((d) => ({ ...d, p: parseRtp(d.data) }));
  assert.ok(
    rtp.every((x) => x.p.ok),
    'every packet parses',
  );
  const pk = rtp.map((x) => (x.p as { ok: true; packet: any }).packet);
  assert.ok(pk.length > 150, `packets arrived (${pk.length})`);
  assert.ok(pk.every((p) => p.payloadType === 127 && p.payload.length === 960 && p.ssrc === pk[0].ssrc));
  for (let i = 1; i < pk.length; i++) {
    assert.is(pk[i].sequence, (pk[i - 1].sequence + 1) & 0xffff);
    assert.is(pk[i].timestamp, (pk[i - 1].timestamp + 240) >>> 0);
  }
  // Real-time pace: RTP time elapsed matches wall time elapsed within 5 % (arrival times at a
  // non-real-time tap on a loaded machine carry tens of ms of noise).
  const span = rtp.at(-1)!.wallMs - rtp[0]!.wallMs;
  const audio = ((pk.length - 1) * 240 * 1000) / 48000;
  assert.ok(Math.abs(audio - span) / span < 0.05, `pace: ${audio.toFixed(0)} ms of audio in ${span.toFixed(0)} ms`);
  // Payload: big-endian 1 kHz sine at half scale, both channels equal.
  const pl = Buffer.from(pk[10].payload);
  let peak = 0;
  for (let i = 0; i < 240; i++) {
    const l = pl.readInt16BE(i * 4),
      r = pl.readInt16BE(i * 4 + 2);
    assert.is(l, r);
    peak = Math.max(peak, Math.abs(l));
  }
  assert.ok(Math.abs(peak - 16384) < 200, `half-scale tone (${peak})`);
});

test('RTCP sender reports map RTP time to the wall clock the packets were sent at', async () => {
  const srs = tap.got
    .filter((d) => d.port === P + 1)
    .map((d) => parseRtcp(d.data))
    .filter((r) => r.ok)
    .flatMap((r) => (r as any).rtcp.senderReports);
  assert.ok(srs.length >= 1, 'a sender report');
  const sr = srs.at(-1);
  const rtp = tap.got.filter((d) => d.port === P).slice(-100);
  const offsets: number[] = [];
  for (const d of rtp) {
    const p = (parseRtp(d.data) as any).packet;
    assert.is(p.ssrc, sr.ssrc);
    const delta = ((p.timestamp - sr.rtpTimestamp) | 0) / 48;
    offsets.push(d.wallMs - (sr.wallMs + delta));
  }
  offsets.sort((a, b) => a - b);
  // A packet leaves when its first frame falls due (never early); timer and loopback delays
  // only make it later, and a loaded machine makes some much later.
  assert.ok(offsets[0]! > -2, `no packet ahead of the SR mapping (${offsets[0]!.toFixed(2)} ms)`);
  assert.ok(
    offsets[offsets.length >> 1]! < 8,
    `median arrival within 8 ms of the mapping (${offsets[offsets.length >> 1]!.toFixed(2)} ms)`,
  );
});

test('SAP announcements with an SDP describing the stream, on the SAP group and on the stream group', async () => {
  const sapSdp = (group: string) => tap.waitFor((d) => d.port === 9875 && d.group === group);
  for (const g of ['224.0.0.56', G]) {
    const d = await sapSdp(g);
    const m = parseSap(d.data);
    assert.ok(m.ok);
    if (!m.ok) return;
    assert.is(m.message.type, 'announce');
    assert.is(m.message.origin, '127.0.0.1');
    const s = parseSdp(m.message.sdp);
    assert.ok(s.ok, 'the SDP parses');
    if (!s.ok) return;
    assert.is(s.stream.name, 'Kitchen tone');
    assert.is(s.stream.group, G);
    assert.is(s.stream.port, P);
    assert.equal(s.stream.format, { encoding: 'L16', rate: 48000, channels: 2, payloadType: 127 });
  }
});

test('the MQTT stream announcement and the state', async () => {
  const a = announcements().get('src1/tone')?.announcement;
  assert.ok(a, 'announced');
  assert.is(a!.enabled, true);
  assert.is(a!.group, G);
  assert.is(a!.port, P);
  assert.is(a!.name, 'Kitchen tone');
  assert.is(a!.payloadType, 127);
  const st = await src.waitState((s) => s.streams?.[0]?.packets > 0);
  assert.is(st.streams[0].sending, true);
  assert.is(st.streams[0].ssrc, a!.ssrc);
});

test('disable: RTCP BYE and SAP deletion, packets stop, announcement says disabled; enable resumes with a new SSRC', async () => {
  const before = tap.got.length;
  const oldSsrc = announcements().get('src1/tone')!.announcement!.ssrc;
  const r = await src.cmd('disable', { stream: 'tone' });
  assert.ok(r.ok, JSON.stringify(r.error));
  const del = await tap.waitFor(
    (d) => d.port === 9875 && tap.got.indexOf(d) >= before && parseSap(d.data).ok && (parseSap(d.data) as any).message.type === 'delete',
  );
  assert.ok(del);
  const bye = await tap.waitFor(
    (d) => d.port === P + 1 && tap.got.indexOf(d) >= before && (parseRtcp(d.data) as any).rtcp?.byes.includes(oldSsrc),
  );
  assert.ok(bye);
  assert.is(announcements().get('src1/tone')!.announcement!.enabled, false);
  await sleep(100);
  const n = tap.got.filter((d) => d.port === P).length;
  await sleep(300);
  assert.is(tap.got.filter((d) => d.port === P).length, n, 'no RTP while disabled');
  assert.ok((await src.cmd('enable', { stream: 'tone' })).ok);
  await sleep(300);
  const fresh = tap.got
    .filter((d) => d.port === P)
    .slice(n)
    .map((d) => (parseRtp(d.data) as any).packet);
  assert.ok(fresh.length > 20, 'sending again');
  assert.ok(
    fresh.every((p) => p.ssrc !== oldSsrc),
    'a new SSRC',
  );
  assert.is((await src.cmd('disable', { stream: 'nope' })).error?.code, 'not-found');
});

test.run();
