// Reads golden datagrams from test/fixtures/rtp/*.hex (one datagram per line, '#' comments).
import { readFileSync } from 'node:fs';
import type { Playout } from '../../../device/audio/engine/playout.ts';
import type { DacClock } from '../../../device/audio/engine/dac-clock.ts';
import type { SimDac } from '../../../device/audio/sim/dac.ts';

const dir = new URL('../../fixtures/rtp/', import.meta.url);

export function hexDatagrams(name: string): Buffer[] {
  return readFileSync(new URL(name, dir), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => Buffer.from(l, 'hex'));
}

export function fixtureText(name: string): string {
  return readFileSync(new URL(name, dir), 'utf8');
}

/** One output-loop tick against a simulated DAC: observe it, then render 240-frame blocks into `out` until 480 frames are queued. */
export function dacTick(t: { playout: Playout; dac: SimDac; dacClock: DacClock; block: Int16Array; out: number[] }, wall: number): void {
  const consumed = t.dac.consumed(wall);
  t.dacClock.observe(consumed, wall);
  while (t.dac.framesWritten() - consumed < 480) {
    t.playout.render(t.block, t.dacClock.wallOfFrame(t.dac.framesWritten()), t.dacClock.rateHz());
    t.dac.write(240, wall);
    for (const v of t.block) t.out.push(v);
  }
}
