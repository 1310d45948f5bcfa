import { DacClock } from '../device/audio/engine/dac-clock.ts';
import { Prng } from '../device/audio/sim/prng.ts';
const NOM = 48000, W0 = 1.7e12, rate = NOM * 1.00007;
const bias = (t: number) => (t < 4500 ? -1.2 * t / 4500 : t < 15_000 ? -1.2 * (15_000 - t) / 10_500 : 0);
const dc = new DacClock(NOM); const rnd = new Prng(5); const out: string[] = [];
let next = 0;
for (let t = 0; t < 40_000; t += 30 + rnd.next() * 20) {
  dc.observe(Math.floor((t * rate) / 1000) + 1, W0 + t + bias(t) + (rnd.next() - 0.5) * 0.05);
  if (t >= next) { const n = Math.round(rate * (t + 200) / 1000); out.push(((dc.wallOfFrame(n) - (W0 + (n * 1000) / rate)) * 1000).toFixed(0)); next += 2500; }
}
console.log(out.join(' '), 'shrinks', (dc as any).shrinkCount?.());
