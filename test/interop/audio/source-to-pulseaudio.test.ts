// Our source → a real PulseAudio module-rtp-recv (which finds it by our SAP announcement alone),
// recorded from its sink monitor and checked by tone analysis (PulseAudio resamples).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createNetns, type Netns } from '../../helpers/netns.ts';
import { startAudioHost, stopAllHosts } from '../../helpers/audio-hosts.ts';
import { startPulse, record, type Pulse } from '../../helpers/pulse.ts';
import { thdn, channel, rms } from '../../../device/audio/analysis.ts';

let ns: Netns, pa: Pulse | undefined;
test.after(async () => {
  await stopAllHosts();
  await pa?.stop();
  ns?.delete();
});

test('PulseAudio module-rtp-recv plays our 1 kHz stream, found through SAP', async () => {
  ns = createNetns('hpar');
  pa = await startPulse(ns, [
    'load-module module-null-sink sink_name=recvsink format=s16le channels=2 rate=48000',
    'load-module module-rtp-recv sink=recvsink sap_address=224.0.0.56 latency_msec=200',
  ]);
  await startAudioHost({
    ns,
    id: 'src1',
    role: 'source',
    config: {
      streams: [
        { id: 'tone', name: 'hearth tone', input: { kind: 'tone', frequency: 1000, amplitude: 0.5 }, group: '239.255.2.1', port: 46010 },
      ],
    },
  });
  // SAP goes out at start; PulseAudio creates its sink input on the first announcement.
  await new Promise((r) => setTimeout(r, 2500));
  const pcm = await record(pa, 'recvsink.monitor', 2);
  assert.ok(pcm.length > 48000 * 2, `recorded ${pcm.length / 2} frames`);
  const left = channel(pcm, 2, 0, pcm.length / 2 - 32768, 32768);
  assert.ok(rms(left) > 5000, `PulseAudio played audio (rms ${rms(left).toFixed(0)}); log:\n${pa.log().slice(-1500)}`);
  const r = thdn(left, 48000, { fullScale: 32767 });
  // PulseAudio steers its resampler in whole-Hz steps while it converges: a few Hz of wander is its design.
  assert.ok(Math.abs(r.fundamentalHz - 1000) < 10, `1 kHz (${r.fundamentalHz.toFixed(2)} Hz)`);
  assert.ok(r.thdnDb < -40, `clean tone through PulseAudio (THD+N ${r.thdnDb.toFixed(1)} dB)`);
  assert.ok(Math.abs(r.fundamentalDbfs + 6) < 1.5, `half scale (${r.fundamentalDbfs.toFixed(1)} dBFS)`);
});

test.run();
