// Adapter choice by board model, and the chardev adapter's tool arguments and output parsing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { adapterForModel, chooseGpio } from '../../../device/hal/gpio-select.ts';
import { openGpio } from '../../../device/hal/open.ts';
import { gpiodArgs, parseGpiodVersion, parseMonLine } from '../../../device/hal/gpio.chardev.ts';
import { memoryLogger } from '../../../device/core/log.ts';
import { VirtualClock } from '../../../device/core/clock.ts';

test('board models pick adapters', () => {
  assert.is(adapterForModel('Raspberry Pi 5 Model B Rev 1.0\0'), 'chardev');
  assert.is(adapterForModel('Raspberry Pi Compute Module 5 Rev 1.0'), 'chardev');
  assert.is(adapterForModel('Raspberry Pi 4 Model B Rev 1.4'), 'rpio');
  assert.is(adapterForModel('Raspberry Pi 3 Model B Plus Rev 1.3'), 'rpio');
  assert.is(adapterForModel('Raspberry Pi Zero 2 W Rev 1.0'), 'rpio');
  assert.is(adapterForModel('Raspberry Pi Compute Module 4 Rev 1.0'), 'rpio');
  assert.is(adapterForModel('QEMU Virt Machine'), undefined);
  assert.is(adapterForModel(undefined), undefined);
});

test('auto on a machine that is not a Pi: simulated GPIO and a warning', async () => {
  const log = memoryLogger();
  const kind = chooseGpio('auto', log, 'Generic x86');
  assert.is(kind, 'sim');
  assert.is(chooseGpio('chardev', log, 'Generic x86'), 'chardev', 'a named adapter is taken as named');
  const g = await openGpio({ adapter: kind }, { clock: new VirtualClock(), log, hal: {} });
  assert.is(g.kind, 'sim');
  assert.ok(log.lines.some((l) => l.level === 'warn' && /simulated GPIO/.test(l.msg)));
  await g.close();
});

test('libgpiod versions from --version text', () => {
  assert.is(parseGpiodVersion('gpioset (libgpiod) v2.1.3\nCopyright (C) 2017-2023 Bartosz Golaszewski'), 2);
  assert.is(parseGpiodVersion('gpioset (libgpiod) v1.6.3\nCopyright'), 1);
  assert.throws(() => parseGpiodVersion('command not found'), /cannot tell/);
});

test('tool arguments for v1 and v2', () => {
  assert.equal(gpiodArgs.holdOutput(2, 'gpiochip0', 17, 0, false, 'hearth-start'), ['-c', 'gpiochip0', '-C', 'hearth-start', '-i', '17=0']);
  assert.equal(gpiodArgs.holdOutput(1, 'gpiochip0', 17, 1, true, 'x'), ['--mode=signal', '-l', 'gpiochip0', '17=1']);
  assert.equal(gpiodArgs.monitor(2, 'gpiochip4', 27, true, 'pull-up', 'hearth-key'), [
    '-c',
    'gpiochip4',
    '-C',
    'hearth-key',
    '-b',
    'pull-up',
    '-l',
    '-e',
    'both',
    '-E',
    'monotonic',
    '-F',
    '%e %S',
    '27',
  ]);
  assert.equal(gpiodArgs.monitor(1, 'gpiochip0', 27, false, 'as-is', 'k'), ['-F', '%e %s.%n', 'gpiochip0', '27']);
  assert.equal(gpiodArgs.get(2, 'gpiochip0', 27, true, 'pull-up'), ['-c', 'gpiochip0', '-b', 'pull-up', '-l', '--numeric', '27']);
});

test('gpiomon lines become edges in ms of CLOCK_MONOTONIC', () => {
  assert.equal(parseMonLine(2, '1 5381.000250000'), { active: true, t: 5381000.25 });
  assert.equal(parseMonLine(2, '2 12.5'), { active: false, t: 12500 });
  assert.equal(parseMonLine(1, '0 12.000000001'), { active: false, t: 12000.000001 });
  assert.is(parseMonLine(2, 'gpiomon: error'), undefined);
});

test.run();
