// The tuner role against the scripted AT-7000 on simulated GPIO, in virtual time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tunerSpec } from '../../../protocol/roles/tuner.ts';
import { dispatchCommand } from '../../../device/core/requests.ts';
import { ProtocolError } from '../../../protocol/envelope.ts';
import type { TuneResult } from '../../../protocol/roles/tuner.ts';
import { makeRig, LINES, flush } from './rig.ts';

async function refused(p: Promise<unknown>, code: string, match?: RegExp): Promise<ProtocolError> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, ProtocolError);
    assert.is((e as ProtocolError).code, code, (e as Error).message);
    if (match) assert.match((e as Error).message, match);
    return e as ProtocolError;
  }
  throw new Error(`expected a ${code} refusal`);
}

test('every mode lands in its window and the tuner reads the mode asked for', async () => {
  const r = await makeRig();
  await r.role.start();
  assert.is(r.level(LINES.start), 0, 'START released at start-up');
  for (const mode of ['bypass', 'memory', 'full'] as const) {
    const res = await r.settle(dispatchCommand(tunerSpec, r.role, 'tune', { mode }) as Promise<TuneResult>);
    assert.is(res.mode, mode);
    assert.is(r.model.lastMode, mode);
    assert.is(res.pressMs, { bypass: 250, memory: 1500, full: 3500 }[mode]);
    assert.is(res.outcome, mode === 'bypass' ? 'bypassed' : 'tuned');
    assert.is(r.level(LINES.start), 0);
    await r.run(1000); // minimum gap
  }
  assert.equal(
    r.model.presses.map((p) => p.ms),
    [250, 1500, 3500],
  );
  assert.is(r.state().status, 'idle');
  assert.is(r.state().counts.presses, 3);
  assert.ok(r.events.filter((e) => e.type === 'press').length === 3);
  await r.role.stop();
});

test('a successful tune reports KEY timings', async () => {
  const r = await makeRig({}, { keyDelayMs: 40, tuneMs: { memory: 600 } });
  await r.role.start();
  const res = await r.settle(dispatchCommand(tunerSpec, r.role, 'tune', { mode: 'memory' }) as Promise<TuneResult>);
  assert.is(res.outcome, 'tuned');
  assert.is(res.key.delayMs, 40);
  assert.is(res.key.lowMs, 600);
  assert.is(res.key.pulses, 0);
  assert.is(r.state().last!.outcome, 'tuned');
  const tune = r.events.find((e) => e.type === 'tune')!;
  assert.is(tune.data!.result.outcome, 'tuned');
  await r.role.stop();
});

test('the failure pulse pattern is a failed tune', async () => {
  const r = await makeRig({}, { failPulses: 3, pulseMs: 100 });
  await r.role.start();
  r.model.script.push('fail');
  await refused(r.settle(dispatchCommand(tunerSpec, r.role, 'tune', { mode: 'full' })), 'failed', /failure pulse/);
  assert.is(r.state().status, 'error');
  assert.is(r.state().last!.outcome, 'failed');
  assert.is(r.state().last!.key.pulses, 3);
  assert.is(r.state().counts.failures, 1);
  await r.role.stop();
});

test('no KEY response is a timeout; KEY held too long is stuck', async () => {
  const r = await makeRig({ keyResponseMs: 1000, keyMaxMs: 5000 });
  await r.role.start();
  r.model.script.push('silent', 'stuck');
  await refused(r.settle(dispatchCommand(tunerSpec, r.role, 'tune', { mode: 'memory' })), 'timeout', /no KEY response/);
  assert.is(r.state().last!.outcome, 'no-response');
  assert.is(r.state().last!.key.delayMs, null);
  await r.run(1000);
  await refused(r.settle(dispatchCommand(tunerSpec, r.role, 'tune', { mode: 'memory' })), 'timeout', /still asserted/);
  assert.is(r.state().last!.outcome, 'stuck');
  assert.ok(r.events.some((e) => e.type === 'fault' && e.data!.fault === 'key-stuck'));
  await r.role.stop();
});

test('one operation at a time: busy while tuning and within the minimum gap', async () => {
  const r = await makeRig({ minGapMs: 1000 });
  await r.role.start();
  const first = dispatchCommand(tunerSpec, r.role, 'tune', { mode: 'full' });
  await flush();
  r.clock.advance(100);
  await refused(dispatchCommand(tunerSpec, r.role, 'tune', { mode: 'memory' }), 'busy', /pressing/);
  await r.settle(first);
  await refused(dispatchCommand(tunerSpec, r.role, 'press', { ms: 300 }), 'busy', /1000 ms between/);
  assert.is(r.model.presses.length, 1, 'the refused requests pressed nothing');
  await r.run(1000);
  const res = await r.settle(dispatchCommand(tunerSpec, r.role, 'press', { ms: 300 }) as Promise<TuneResult>);
  assert.is(res.mode, 'bypass');
  assert.is(res.requestedMs, 300);
  await r.role.stop();
});

test('bad commands get clear errors and change nothing', async () => {
  const r = await makeRig();
  await r.role.start();
  const before = JSON.stringify(r.state());
  await refused(dispatchCommand(tunerSpec, r.role, 'tune', { mode: 'turbo' }), 'invalid', /\/mode must be one of bypass, memory, full$/);
  await refused(dispatchCommand(tunerSpec, r.role, 'press', { ms: 5 }), 'invalid', /\/ms must be >= 20/);
  await refused(dispatchCommand(tunerSpec, r.role, 'press', { ms: 20_000 }), 'invalid', /\/ms must be <= 10000/);
  await refused(dispatchCommand(tunerSpec, r.role, 'erase-memories', {}), 'invalid', /power relay/);
  await refused(dispatchCommand(tunerSpec, r.role, 'dance', {}), 'unknown-command');
  await r.run(100);
  assert.is(r.model.presses.length, 0);
  assert.is(r.sim.edgesOf(LINES.start).filter((e) => e.level === 1).length, 0, 'START never moved');
  assert.is(JSON.stringify(r.state()), before);
  await r.role.stop();
});

test('START is released when the role stops mid-press', async () => {
  const r = await makeRig();
  await r.role.start();
  const p = dispatchCommand(tunerSpec, r.role, 'tune', { mode: 'full' });
  p.catch(() => {});
  await flush();
  r.clock.advance(1000);
  assert.is(r.level(LINES.start), 1, 'pressed');
  await r.role.stop();
  assert.is(r.level(LINES.start), 0, 'released on stop');
  await refused(p, 'failed', /aborted/);
});

test('START is released at start-up, whatever a previous run left', async () => {
  const r = await makeRig();
  const leftover = await r.sim.output(LINES.start, {});
  leftover.write(true);
  assert.is(r.level(LINES.start), 1);
  await r.role.start();
  assert.is(r.level(LINES.start), 0);
  await r.role.stop();
});

test('a handler that throws while START is held releases it and hands the role to the supervisor', async () => {
  const r = await makeRig({ button: { line: LINES.button, mode: 'pass-through' } });
  await r.role.start();
  r.sim.device.drive(LINES.button, 0); // pressed (active low)
  await r.run(100);
  assert.is(r.level(LINES.start), 1, 'pass-through holds START');
  r.breakLink.on = true; // the next publish throws
  r.sim.device.drive(LINES.button, undefined);
  await r.run(100);
  assert.is(r.failures.length, 1, 'reported to the supervisor');
  assert.is(r.level(LINES.start), 0, 'released');
  await r.role.stop();
  assert.is(r.level(LINES.start), 0);
});

test('a GPIO that fails mid-operation: START ends released after the supervisor stops the role', async () => {
  const r = await makeRig({ button: { line: LINES.button, mode: 'pass-through' } });
  await r.role.start();
  r.sim.device.drive(LINES.button, 0);
  await r.run(100);
  assert.is(r.level(LINES.start), 1);
  r.sim.failWrites = new Error('bus error');
  r.sim.device.drive(LINES.button, undefined);
  await r.run(100);
  assert.is(r.failures.length, 1);
  assert.match(r.failures[0]!.message, /bus error/);
  await r.role.stop(); // what the supervisor does next
  assert.is(r.level(LINES.start), 0);
});

test('erase-memories: power off, START held across power-up, released', async () => {
  const r = await makeRig(
    { power: { line: LINES.power, offMs: 1000 }, eraseHoldMs: 4000 },
    { eraseHoldMs: 3000, power: { line: LINES.power } },
  );
  await r.role.start();
  assert.is(r.level(LINES.power), 1, 'tuner powered while the role runs');
  const res = await r.settle(dispatchCommand(tunerSpec, r.role, 'erase-memories', {}) as Promise<TuneResult>);
  assert.is(res.outcome, 'erased');
  assert.is(r.model.erases, 1);
  assert.is(r.model.memories, 0);
  assert.is(r.model.presses.length, 0, 'not read as a tune press');
  assert.is(r.level(LINES.start), 0);
  assert.is(r.level(LINES.power), 1);
  assert.ok(r.events.some((e) => e.type === 'erase'));
  await r.role.stop();
});

test('PTT keys the radio while KEY asks for carrier, and never past its limit', async () => {
  const r = await makeRig({ ptt: { line: LINES.ptt, maxMs: 1000 } }, { tuneMs: { memory: 600, full: 3000 } });
  await r.role.start();
  const p = dispatchCommand(tunerSpec, r.role, 'tune', { mode: 'memory' }) as Promise<TuneResult>;
  await r.run(1500 + 40 + 100);
  assert.is(r.level(LINES.ptt), 1, 'keyed during KEY low');
  const res = await r.settle(p);
  assert.is(r.level(LINES.ptt), 0);
  assert.is(res.pttMs, 600);
  await r.run(1000);
  const q = dispatchCommand(tunerSpec, r.role, 'tune', { mode: 'full' }) as Promise<TuneResult>;
  await r.run(3500 + 40 + 1200);
  assert.is(r.level(LINES.ptt), 0, 'cut at the limit while KEY is still low');
  assert.ok(r.events.some((e) => e.type === 'fault' && e.data!.fault === 'ptt-limit'));
  const res2 = await r.settle(q);
  assert.is(res2.pttMs, 1000);
  await r.role.stop();
});

test('button pass-through mirrors a bouncy press onto START; the tuner picks the mode', async () => {
  const r = await makeRig({ button: { line: LINES.button, mode: 'pass-through', debounceMs: 20 } });
  await r.role.start();
  const b = LINES.button;
  // bounce on the way down, hold 1.2 s, bounce on the way up
  for (const lv of [0, undefined, 0, undefined, 0] as const) {
    r.sim.device.drive(b, lv);
    r.clock.advance(2);
  }
  await r.run(1200);
  for (const lv of [undefined, 0, undefined] as const) {
    r.sim.device.drive(b, lv);
    r.clock.advance(2);
  }
  await r.run(3000);
  assert.is(r.model.presses.length, 1);
  assert.is(r.model.lastMode, 'memory');
  assert.ok(Math.abs(r.model.presses[0]!.ms - 1206) <= 4, `mirrored ${r.model.presses[0]!.ms}`);
  const tune = r.events.find((e) => e.type === 'tune')!;
  assert.is(tune.data!.result.source, 'pass-through');
  assert.is(tune.data!.result.outcome, 'tuned');
  assert.ok(r.events.some((e) => e.type === 'button' && e.data!.action === 'pass-through'));
  await r.role.stop();
});

test("mapped button: short → tune on this tuner, long → another device's command", async () => {
  const r = await makeRig({
    button: {
      line: LINES.button,
      mode: 'mapped',
      mediumMs: 1000,
      longMs: 2000,
      short: { tune: 'memory' },
      long: { device: 'nas-waker', role: 'waker', action: 'wake', args: { host: 'nas' } },
    },
  });
  await r.role.start();
  const press = async (ms: number) => {
    r.sim.device.drive(LINES.button, 0);
    await r.run(ms);
    r.sim.device.drive(LINES.button, undefined);
    await r.run(100);
  };
  await press(300);
  await r.run(5000);
  assert.is(r.model.lastMode, 'memory');
  assert.is(r.model.presses[0]!.ms, 1500);
  await press(2500);
  assert.equal(r.commands, [{ device: 'nas-waker', role: 'waker', action: 'wake', args: { host: 'nas' } }]);
  await press(1500); // medium: nothing mapped
  const buttons = r.events.filter((e) => e.type === 'button').map((e) => e.data!.class);
  assert.equal(buttons, ['short', 'long', 'medium']);
  assert.is(r.state().counts.buttonPresses, 3);
  await r.role.stop();
});

test('mapped button: a refused remote command is a fault event', async () => {
  const r = await makeRig(
    { button: { line: LINES.button, mode: 'mapped', short: { device: 'b', role: 'waker', action: 'wake', args: { host: 'x' } } } },
    {},
    { replies: () => ({ v: 2, id: 'x', ok: false, error: { code: 'not-found', message: 'no host "x"' } }) },
  );
  await r.role.start();
  r.sim.device.drive(LINES.button, 0);
  await r.run(200);
  r.sim.device.drive(LINES.button, undefined);
  await r.run(100);
  const f = r.events.find((e) => e.type === 'fault');
  assert.ok(f, 'fault reported');
  assert.match(f!.message, /no host "x"/);
  await r.role.stop();
});

test.run();
