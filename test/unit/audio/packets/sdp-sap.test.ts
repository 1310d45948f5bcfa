import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseSdp, buildSdp } from '../../../../device/audio/packets/sdp.ts';
import { parseSap, buildSap, sapHash } from '../../../../device/audio/packets/sap.ts';
import { formatFromRtpmapText, formatForPayloadType, staticFormat } from '../../../../device/audio/packets/formats.ts';
import { hexDatagrams, fixtureText } from '../fixtures.ts';

test('PulseAudio SAP: two announcements then a deletion, same origin and hash; SDP gives the stream', () => {
  const msgs = hexDatagrams('pulseaudio-sap.hex').map((d) => parseSap(d));
  assert.is(msgs.length, 3);
  const ok = msgs.map((m) => {
    if (!m.ok) throw new Error(m.reason);
    return m.message;
  });
  assert.equal(
    ok.map((m) => m.type),
    ['announce', 'announce', 'delete'],
  );
  assert.ok(ok.every((m) => m.hash === ok[0]!.hash && m.origin === '127.0.0.1'));
  const s = parseSdp(ok[0]!.sdp);
  assert.ok(s.ok);
  if (!s.ok) return;
  assert.is(s.stream.name, 'PulseAudio RTP Stream on vm');
  assert.is(s.stream.group, '239.255.0.1');
  assert.is(s.stream.port, 46000);
  assert.is(s.stream.ttl, null);
  assert.equal(s.stream.format, { encoding: 'L16', rate: 48000, channels: 2, payloadType: 127 });
});

test('ffmpeg SDP: PT 96 L16/48000/2 on 239.255.0.4:46006 ttl 1', () => {
  const s = parseSdp(fixtureText('ffmpeg.sdp'));
  assert.ok(s.ok);
  if (!s.ok) return;
  assert.is(s.stream.group, '239.255.0.4');
  assert.is(s.stream.ttl, 1);
  assert.is(s.stream.port, 46006);
  assert.equal(s.stream.format, { encoding: 'L16', rate: 48000, channels: 2, payloadType: 96 });
});

test('static PT 10/11 without rtpmap; non-L16 and 6-channel refused; media-level c= wins', () => {
  const base = 'v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=s\r\nc=IN IP4 239.1.1.1/4\r\nt=0 0\r\n';
  const a = parseSdp(base + 'm=audio 5004 RTP/AVP 11\r\n');
  assert.ok(a.ok && a.stream.format.rate === 44100 && a.stream.format.channels === 1);
  const b = parseSdp(base + 'm=audio 5004 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n');
  assert.is(b.ok, false);
  const c = parseSdp(base + 'm=audio 5004 RTP/AVP 96\r\na=rtpmap:96 L16/48000/6\r\n');
  assert.is(c.ok, false);
  const d = parseSdp(base + 'm=audio 5006 RTP/AVP 97 96\r\nc=IN IP4 239.9.9.9/1\r\na=rtpmap:97 L24/48000/2\r\na=rtpmap:96 L16/44100\r\n');
  assert.ok(d.ok);
  if (d.ok) {
    assert.is(d.stream.group, '239.9.9.9');
    assert.equal(d.stream.format, { encoding: 'L16', rate: 44100, channels: 1, payloadType: 96 });
  }
  assert.is(parseSdp('hello').ok, false);
});

test('our SDP round trips; SAP build/parse round trips with deletion reusing the hash', () => {
  const format = { encoding: 'L16' as const, rate: 48000, channels: 2 as const, payloadType: 97 };
  const sdp = buildSdp({
    name: 'living room',
    originAddress: '10.77.0.1',
    sessionId: 123,
    group: '239.255.7.7',
    port: 46010,
    ttl: 1,
    format,
    ptime: 5,
  });
  assert.ok(sdp.includes('\r\n') && !/[^\r]\n/.test(sdp));
  const p = parseSdp(sdp);
  assert.ok(p.ok);
  if (!p.ok) return;
  assert.equal(p.stream.format, format);
  assert.is(p.stream.name, 'living room');
  assert.is(p.stream.ptime, 5);
  const ann = parseSap(buildSap({ type: 'announce', origin: '10.77.0.1', sdp }));
  assert.ok(ann.ok);
  if (!ann.ok) return;
  assert.is(ann.message.sdp, sdp);
  assert.is(ann.message.hash, sapHash(sdp));
  const del = parseSap(buildSap({ type: 'delete', origin: '10.77.0.1', sdp: 'o=- 123 0 IN IP4 10.77.0.1\r\n', hash: ann.message.hash }));
  assert.ok(del.ok && del.message.type === 'delete' && del.message.hash === ann.message.hash);
  assert.throws(() => buildSap({ type: 'announce', origin: 'fe80::1', sdp }));
});

test('SAP refusals: version, encrypted, compressed, foreign payload type, truncated', () => {
  const good = buildSap({ type: 'announce', origin: '1.2.3.4', sdp: 'v=0\r\n' });
  const mut = (i: number, v: number) => {
    const b = Buffer.from(good);
    b[i] = v;
    return b;
  };
  const reason = (b: Uint8Array) => {
    const r = parseSap(b);
    return r.ok ? 'ok' : r.reason;
  };
  assert.is(reason(mut(0, 0x40)), 'bad-version');
  assert.is(reason(mut(0, 0x22)), 'encrypted');
  assert.is(reason(mut(0, 0x21)), 'compressed');
  assert.is(reason(good.subarray(0, 6)), 'short');
  assert.is(reason(Buffer.concat([good.subarray(0, 8), Buffer.from('text/plain\0hi')])), 'not-sdp');
  assert.is(reason(Buffer.concat([good.subarray(0, 8), Buffer.from('v=0\r\ns=bare\r\n')])), 'ok');
  assert.is(reason(mut(1, 200)), 'short-auth');
});

test('formats: static table, rtpmap text, PT selection', () => {
  assert.equal(staticFormat(10), { encoding: 'L16', rate: 44100, channels: 2, payloadType: 10 });
  assert.is(staticFormat(0), null);
  assert.equal(formatFromRtpmapText(127, 'L16/48000/2'), { encoding: 'L16', rate: 48000, channels: 2, payloadType: 127 });
  assert.is(formatFromRtpmapText(127, 'L16/1000/2'), null);
  const known = formatFromRtpmapText(96, 'l16/48000/1')!;
  assert.is(formatForPayloadType(96, known), known);
  assert.is(formatForPayloadType(10, known), null, 'an announced stream refuses other PTs');
  assert.is(formatForPayloadType(11, null)!.channels, 1);
});

test.run();
