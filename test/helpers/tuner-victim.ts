// A tuner runtime to kill: the real TunerRole on a real adapter (rpio mock or chardev on the
// stand-in gpiod tools) in the line holder, as `hearth run` opens it. Started with one JSON
// argument (VictimOptions); it prints "ready", then runs the scenario: "press" asks for a full
// tune (START held 3500 ms); "ptt" asks for a memory tune and, when the press is over, plays the
// tuner by asserting KEY (so PTT keys the radio). The test SIGKILLs it at some instant.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RealClock } from '../../device/core/clock.ts';
import { memoryLogger } from '../../device/core/log.ts';
import { HeldGpio } from '../../device/hal/gpio.held.ts';
import { TunerRole } from '../../device/tuner/role.ts';
import type { TunerState } from '../../protocol/roles/tuner.ts';

export interface VictimOptions {
  adapter: 'rpio' | 'chardev';
  scenario: 'press' | 'ptt';
  /** rpio: the trace file of the holder's register writes. */
  trace?: string;
  pttMaxMs: number;
}

import { LINES_FOR_KILL as LINES } from './tuner-kill-lines.ts';

const o = JSON.parse(process.argv[2] ?? '{}') as VictimOptions;
let gpio: HeldGpio | undefined;
let keyed = false;
const assertKey = async () => {
  if (keyed) return;
  keyed = true;
  if (o.adapter === 'rpio') await gpio!.mockDrive(LINES.key, 0);
  else writeFileSync(join(process.env.FAKE_GPIO_DIR!, 'lines', String(LINES.key)), '0');
};
const role = new TunerRole({
  device: { id: 'victim', baseTopic: 'hearth', stateDir: '/tmp' },
  config: {
    gpio: { adapter: o.adapter },
    start: { line: LINES.start },
    key: { line: LINES.key },
    ptt: { line: LINES.ptt, maxMs: o.pttMaxMs },
    keyResponseMs: 5000,
  },
  clock: new RealClock(),
  log: memoryLogger(),
  link: {
    publishState(d) {
      if (o.scenario === 'ptt' && (d as TunerState).status === 'tuning') void assertKey();
    },
    publishEvent() {},
    publishStream() {},
    watchStreams() {
      return () => {};
    },
    async sendCommand() {
      return { v: 2, id: '', ok: true };
    },
    connected: true,
  },
  hal: {
    gpio: async () =>
      (gpio = await HeldGpio.open({
        adapter: o.adapter,
        ...(o.adapter === 'rpio' ? { mock: 'raspi-4' } : {}),
        ...(o.trace ? { trace: o.trace } : {}),
      })),
  },
  fail: (e) => {
    console.error(e);
    process.exit(3);
  },
});
await role.start();
console.log(`ready ${gpio!.holderPid}`);
role.commands.tune({ mode: o.scenario === 'press' ? 'full' : 'memory' }).catch(() => {});
setInterval(() => {}, 1 << 30);
