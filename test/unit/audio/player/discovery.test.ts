// The stream table players resolve their choice in: SAP announcements (with PulseAudio's real
// announcement as sent), goodbyes, expiry, hearth MQTT announcements, and hostile SAP bytes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { StreamTable } from '../../../../device/audio/player/discovery.ts';
import { buildSap } from '../../../../device/audio/packets/sap.ts';

// What PulseAudio 16 module-rtp-send announces (LF line ends, PT 127).
const PA_SDP =
  'v=0\no=root 3909437013 0 IN IP4 127.0.0.1\ns=PulseAudio RTP Stream on vm\nc=IN IP4 239.255.0.1\nt=3909437013 0\na=recvonly\nm=audio 46000 RTP/AVP 127\na=rtpmap:127 L16/48000/2\na=type:broadcast\n';

const ann = (over: Record<string, unknown> = {}) => ({
  v: 2,
  stream: 'tone',
  device: 'src1',
  name: 'Kitchen',
  group: '239.255.1.1',
  port: 46000,
  encoding: 'L16' as const,
  rate: 48000 as const,
  channels: 2 as const,
  payloadType: 127,
  enabled: true,
  ...over,
});

test('a PulseAudio SAP announcement resolves by session name, with its format', () => {
  const t = new StreamTable();
  let changes = 0;
  t.onChange(() => changes++);
  assert.ok(t.sap(buildSap({ type: 'announce', origin: '127.0.0.1', sdp: PA_SDP }), 0));
  const e = t.resolve({ sap: 'PulseAudio RTP Stream on vm' });
  assert.ok(e);
  assert.is(e!.group, '239.255.0.1');
  assert.is(e!.port, 46000);
  assert.equal(e!.format, { encoding: 'L16', rate: 48000, channels: 2, payloadType: 127 });
  assert.is(changes, 1);
  t.sap(buildSap({ type: 'announce', origin: '127.0.0.1', sdp: PA_SDP }), 5000);
  assert.is(changes, 1, 'a repeated announcement is no change');
});

test('senders announcing with origin 0.0.0.0 and one hash (PipeWire 0.3.65 defaults) stay apart by source address', () => {
  const t = new StreamTable();
  const sdp = (name: string, port: number) =>
    PA_SDP.replace('PulseAudio RTP Stream on vm', name).replace('m=audio 46000', `m=audio ${port}`);
  t.sap(buildSap({ type: 'announce', origin: '0.0.0.0', hash: 0x6745, sdp: sdp('kitchen-pc', 46162) }), 0, '10.0.0.7');
  t.sap(buildSap({ type: 'announce', origin: '0.0.0.0', hash: 0x6745, sdp: sdp('den-pc', 46164) }), 0, '10.0.0.8');
  assert.is(t.resolve({ sap: 'kitchen-pc' })?.port, 46162);
  assert.is(t.resolve({ sap: 'den-pc' })?.port, 46164);
  assert.is(t.resolve({ sap: 'den-pc' })?.sender, '10.0.0.8');
  t.sap(buildSap({ type: 'delete', origin: '0.0.0.0', hash: 0x6745, sdp: sdp('den-pc', 46164) }), 1000, '10.0.0.8');
  assert.is(t.resolve({ sap: 'den-pc' }), undefined);
  assert.ok(t.resolve({ sap: 'kitchen-pc' }), "one sender's goodbye leaves the other");
});

test('a SAP goodbye removes the session; silence past the timeout expires it', () => {
  const t = new StreamTable();
  t.sap(buildSap({ type: 'announce', origin: '10.0.0.5', sdp: PA_SDP }), 0);
  t.sap(buildSap({ type: 'delete', origin: '10.0.0.5', sdp: PA_SDP }), 1000);
  assert.is(t.resolve({ sap: 'PulseAudio RTP Stream on vm' }), undefined);
  t.sap(buildSap({ type: 'announce', origin: '10.0.0.5', sdp: PA_SDP }), 2000);
  t.expire(50_000, 60_000);
  assert.ok(t.resolve({ sap: 'PulseAudio RTP Stream on vm' }), 'still fresh');
  t.expire(70_000, 60_000);
  assert.is(t.resolve({ sap: 'PulseAudio RTP Stream on vm' }), undefined, 'expired');
});

test('MQTT announcements resolve by "device/stream" or by stream id; an empty payload withdraws', () => {
  const t = new StreamTable();
  t.mqtt('src1', 'tone', ann(), 0);
  t.mqtt('src2', 'radio', ann({ stream: 'radio', device: 'src2', group: '239.255.1.2', port: 46002 }), 0);
  assert.is(t.resolve({ stream: 'src1/tone' })!.group, '239.255.1.1');
  assert.is(t.resolve({ stream: 'radio' })!.port, 46002);
  assert.is(t.resolve({ stream: 'src2/tone' }), undefined);
  t.mqtt('src1', 'tone', ann({ enabled: false }), 1);
  assert.is(t.resolve({ stream: 'src1/tone' })!.enabled, false);
  t.mqtt('src1', 'tone', null, 2);
  assert.is(t.resolve({ stream: 'src1/tone' }), undefined);
});

test('a SAP name also matches a hearth stream by its name, SAP preferred', () => {
  const t = new StreamTable();
  t.mqtt('src1', 'tone', ann({ name: 'PulseAudio RTP Stream on vm', group: '239.255.9.9' }), 0);
  assert.is(t.resolve({ sap: 'PulseAudio RTP Stream on vm' })!.origin, 'mqtt');
  t.sap(buildSap({ type: 'announce', origin: '127.0.0.1', sdp: PA_SDP }), 0);
  assert.is(t.resolve({ sap: 'PulseAudio RTP Stream on vm' })!.origin, 'sap');
});

test('hostile SAP bytes are counted and never thrown', () => {
  const t = new StreamTable();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
      t.sap(b, 0);
    }),
    { numRuns: 3000 },
  );
  const before = t.malformed;
  assert.ok(before > 0);
  assert.is(t.sap(buildSap({ type: 'announce', origin: '1.2.3.4', sdp: 'v=0\ns=no media\n' }), 0), false, 'SDP without a playable stream');
  assert.is(t.malformed, before + 1);
});

test.run();
