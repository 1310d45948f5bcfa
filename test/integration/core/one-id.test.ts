// One device per id (issue 12): two real runtimes with the same id (a cloned SD card) on the
// embedded hub. Each connection takes the other's over; before, they knocked each other off for
// ever (69 status flips in 20 s) and nobody said why. Now each stops fighting after a few rounds:
// it backs off long (here 2 s, doubling per round; 120 s by default) and says so in an
// `id-conflict` event on hearth/<id>/event/device, sent on its next connection.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startAedes } from '../../helpers/broker.ts';
import { connectController } from '../../helpers/controller.ts';
import { startTestDevice } from '../../helpers/device.ts';
import { topics } from '../../../protocol/index.ts';

const t = topics();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('two devices with one id stop fighting and say why', async () => {
  const broker = await startAedes();
  const ctl = await connectController(broker.url);
  const a = await startTestDevice({ id: 'twin', brokerUrl: broker.url, conflictBackoffMs: 2000 });
  await ctl.waitFor(t.status('twin'), (p) => p === 'online');
  const b = await startTestDevice({ id: 'twin', brokerUrl: broker.url, conflictBackoffMs: 2000 });
  try {
    const ev = await ctl.waitFor(t.event('twin', 'device'), (p) => p.type === 'id-conflict', 15_000);
    assert.match(ev.payload.message, /client id "twin"/);
    assert.match(ev.payload.message, /cloned SD card/);
    // Once both have seen the conflict, they take turns, slower and slower: count status messages over 6 s.
    const m = ctl.mark();
    await sleep(6000);
    const total = ctl.seen(t.status('twin')).length;
    const sinceMark = ctlSince(ctl, m);
    assert.ok(sinceMark <= 6, `${sinceMark} status messages in 6 s after the conflict was seen (of ${total} in all)`);
  } finally {
    await a.stop();
    await b.stop();
    await ctl.close();
    await broker.stop();
  }
});

function ctlSince(ctl: { seen(f: string): Array<{ topic: string }>; mark(): number }, mark: number): number {
  // seen() is the whole log filtered; mark() is a position in the whole log.
  let n = 0;
  const all = ctl.seen('#');
  for (let i = mark; i < all.length; i++) if (all[i]!.topic === t.status('twin')) n++;
  return n;
}

test.run();
