// The player's watch alone, in virtual time: packets found and lost at the 2 s rule's instants,
// re-syncs reported once each (and counted afresh for a new playout), the output verdict's changes,
// each as one event, and "changed" only when the state did.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OutputMonitor } from '../../../../device/audio/engine/output-monitor.ts';
import { PlayerWatch, STREAM_LOST_MS, type WatchReading } from '../../../../device/audio/player/watch.ts';

function rig() {
  const w = new PlayerWatch(new OutputMonitor());
  const events: Array<{ type: string; message: string; data?: unknown }> = [];
  const base: WatchReading = {
    now: 0,
    lastPacketMs: -Infinity,
    sender: null,
    joined: { group: '239.255.0.1', port: 46000 },
    playout: { resyncs: 0, ssrc: null },
    sink: { status: 'open', error: null },
  };
  const tick = (r: Partial<WatchReading>) =>
    w.tick({ ...base, ...r }, (type, message, data) => {
      events.push({ type, message, data });
    });
  return { w, events, tick };
}

test('found at the first packet, lost 2 s after the last one, not before', () => {
  const r = rig();
  assert.is(r.tick({ now: 0 }), false, 'nothing arriving, nothing changed');
  assert.is(r.tick({ now: 500, lastPacketMs: 480, sender: '10.0.0.5' }), true);
  assert.equal(
    r.events.filter((e) => e.type.startsWith('stream-')).map((e) => e.message),
    ['packets arriving from 10.0.0.5'],
  );
  assert.is(r.w.live, true);
  assert.is(r.tick({ now: 480 + STREAM_LOST_MS - 1, lastPacketMs: 480 }), false);
  assert.is(r.tick({ now: 480 + STREAM_LOST_MS, lastPacketMs: 480 }), true);
  assert.equal(r.events.filter((e) => e.type.startsWith('stream-')).at(-1), {
    type: 'stream-lost',
    message: 'no packets on 239.255.0.1:46000 for 2 s',
    data: undefined,
  });
});

test('re-syncs: one event per new one, with the SSRC; a fresh playout counts from zero', () => {
  const r = rig();
  r.tick({ now: 0, playout: { resyncs: 1, ssrc: 42 } });
  r.tick({ now: 500, playout: { resyncs: 1, ssrc: 42 } });
  r.tick({ now: 1000, playout: { resyncs: 3, ssrc: 42 } });
  assert.equal(
    r.events.filter((e) => e.type === 'resync').map((e) => e.data),
    [{ ssrc: 42 }, { ssrc: 42 }],
  );
  r.w.newPlayout();
  r.tick({ now: 1500, playout: { resyncs: 1, ssrc: null } });
  assert.equal(r.events.filter((e) => e.type === 'resync').length, 3);
  assert.is(r.events.at(-1)!.message, 're-synchronised to the sender');
});

test('DAC underruns: one event per tick that saw new ones, with the count; a new sink counts from its own zero', () => {
  const r = rig();
  r.tick({ now: 0, sink: { status: 'open', error: null, underruns: 0 } });
  assert.is(r.tick({ now: 500, sink: { status: 'open', error: null, underruns: 1 } }), true);
  r.tick({ now: 1000, sink: { status: 'open', error: null, underruns: 1 } });
  r.tick({ now: 1500, sink: { status: 'open', error: null, underruns: 4 } });
  r.tick({ now: 2000, sink: { status: 'open', error: null, underruns: 0 } });
  r.tick({ now: 2500, sink: { status: 'open', error: null, underruns: 2 } });
  assert.equal(
    r.events.filter((e) => e.type === 'underrun').map((e) => [e.message, e.data]),
    [
      ['the DAC ran dry once (1 in all)', { count: 1, total: 1 }],
      ['the DAC ran dry 3 times (4 in all)', { count: 3, total: 4 }],
      ['the DAC ran dry 2 times (2 in all)', { count: 2, total: 2 }],
    ],
  );
});

test('the output verdict: each change one event with the previous status; leaving the stream makes the next packets a new "found"', () => {
  const r = rig();
  r.tick({ now: 0, sink: { status: 'lost', error: 'unplugged' } });
  assert.equal(r.events.at(-1), {
    type: 'output',
    message: 'output sink-lost: the DAC is gone: unplugged',
    data: { status: 'sink-lost', previous: 'idle' },
  });
  r.tick({ now: 500, sink: { status: 'lost', error: 'unplugged' } });
  assert.is(r.events.length, 1, 'no change, no event');
  r.tick({ now: 1000 });
  assert.equal(r.events.at(-1)!.data, { status: 'idle', previous: 'sink-lost' });
  r.tick({ now: 1500, lastPacketMs: 1400, sender: 'a' });
  r.w.left();
  r.tick({ now: 2000, lastPacketMs: 1900, sender: 'b' });
  assert.equal(
    r.events.filter((e) => e.type === 'stream-found').map((e) => e.message),
    ['packets arriving from a', 'packets arriving from b'],
  );
});

test.run();
