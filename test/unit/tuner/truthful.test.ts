// Truthful replies and margins (issue 13): a press is what was asked or a failure. Presses are
// stretched through a wrapped GPIO (what a busy main thread or a slow adapter does to a press),
// and the scripted AT-7000 may read a press differently from the role (its own thresholds).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ProtocolError } from '../../../protocol/envelope.ts';
import { normalizeConfig } from '../../../protocol/config.ts';
import type { TuneResult } from '../../../protocol/roles/tuner.ts';
import { makeRig, LINES } from './rig.ts';

async function refusal(p: Promise<unknown>): Promise<ProtocolError> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, ProtocolError);
    return e as ProtocolError;
  }
  throw new Error('expected a refusal');
}

const device = (tuner: Record<string, unknown>) => ({
  v: 2,
  id: 'shack',
  mqtt: { url: 'mqtt://127.0.0.1:1883' },
  roles: { tuner: { start: { line: 17 }, key: { line: 27 }, ...tuner } },
});

test('check-config refuses press lengths within the guard margin of a window edge, with their paths', () => {
  for (const [presses, path] of [
    [{ bypassMs: 499 }, '/roles/tuner/presses/bypassMs'],
    [{ memoryMs: 501 }, '/roles/tuner/presses/memoryMs'],
    [{ memoryMs: 2450 }, '/roles/tuner/presses/memoryMs'],
    [{ fullMs: 2501 }, '/roles/tuner/presses/fullMs'],
    [{ bypassMs: 500 }, '/roles/tuner/presses/bypassMs'],
    [{ memoryMs: 2500 }, '/roles/tuner/presses/memoryMs'],
  ] as const) {
    let err: ProtocolError | undefined;
    try {
      normalizeConfig(device({ presses }));
    } catch (e) {
      err = e as ProtocolError;
    }
    assert.ok(err, `${JSON.stringify(presses)} accepted`);
    assert.ok(
      err!.details!.some((d) => d.path === path && /100 ms/.test(d.message)),
      JSON.stringify(err!.details),
    );
  }
  normalizeConfig(device({ presses: { bypassMs: 400, memoryMs: 2400, fullMs: 2600 } }));
});

test("the guard margin is configurable, never below the adapters' worst-case press error", () => {
  normalizeConfig(device({ presses: { bypassMs: 470 }, margins: { guardMs: 30 } }));
  let err: ProtocolError | undefined;
  try {
    normalizeConfig(device({ margins: { guardMs: 2 } }));
  } catch (e) {
    err = e as ProtocolError;
  }
  assert.ok(
    err?.details?.some((d) => d.path === '/roles/tuner/margins/guardMs'),
    JSON.stringify(err?.details),
  );
});

test('the device refuses the same config as check-config', async () => {
  const r = await makeRig({ presses: { bypassMs: 499 } });
  try {
    await r.role.start();
    assert.unreachable('started');
  } catch (e) {
    assert.match((e as Error).message, /bypassMs.*100 ms/);
  }
  await r.role.stop();
});

test('a press stretched out of its window is a failed reply (press-window); state and event say what the tuner did', async () => {
  const r = await makeRig({}, {}, { stretchMs: 270 }); // 250 ms bypass measures 520 ms: a memory tune
  await r.role.start();
  const e = await refusal(r.settle(r.role.commands.tune({ mode: 'bypass' })));
  assert.is(e.code, 'failed');
  assert.is(e.reason, 'press-window');
  assert.is(r.model.lastMode, 'memory', 'the tuner read a memory tune');
  const last = r.state().last!;
  assert.is(last.outcome, 'press-window');
  assert.is(last.mode, 'memory');
  assert.is(last.requested, 'bypass');
  const tune = r.events.filter((x) => x.type === 'tune').pop()!;
  assert.is(tune.data!.result.mode, 'memory');
  await r.role.stop();
});

test('a press inside its window but within the margin of an edge is a failure too', async () => {
  const r = await makeRig({}, {}, { stretchMs: 200 }); // 250 → 450 ms: still bypass, 50 ms from the edge
  await r.role.start();
  const e = await refusal(r.settle(r.role.commands.tune({ mode: 'bypass' })));
  assert.is(e.reason, 'press-window');
  await r.role.stop();
});

test("a press off by less than the adapter's error bound is still a success", async () => {
  const r = await makeRig({}, {}, { stretchMs: 4 });
  await r.role.start();
  const res = await r.settle(r.role.commands.tune({ mode: 'memory' }) as Promise<TuneResult>);
  assert.is(res.outcome, 'tuned');
  assert.is(res.mode, 'memory');
  await r.role.stop();
});

test('a bypass the tuner answers with a tune (KEY asserted) is a failure, and PTT never keys', async () => {
  // This tuner's own threshold sits lower: it reads our 250 ms bypass as a memory tune.
  const r = await makeRig({ ptt: { line: LINES.ptt, maxMs: 5000 } }, { bypassBelowMs: 200 });
  await r.role.start();
  const e = await refusal(r.settle(r.role.commands.tune({ mode: 'bypass' })));
  assert.is(e.code, 'failed');
  assert.is(e.reason, 'press-window');
  assert.is(r.model.lastMode, 'memory');
  assert.is(r.sim.edgesOf(LINES.ptt).filter((x) => x.level === 1).length, 0, 'PTT never asserted');
  assert.is(r.state().last!.mode, 'memory', 'the state says a memory tune most likely ran');
  await r.role.stop();
});

test('a raw press within the margin of an edge is refused before START moves', async () => {
  const r = await makeRig();
  await r.role.start();
  for (const ms of [450, 499, 501, 2501]) {
    const e = await refusal(r.role.commands.press({ ms }));
    assert.is(e.code, 'invalid', `${ms}`);
  }
  assert.is(r.sim.edgesOf(LINES.start).filter((x) => x.level === 1).length, 0);
  await r.role.stop();
});

test.run();
