// Replays dumped sink readings through DacClock variants: the player-path error of the B−A estimate.
import { readFileSync } from 'node:fs';
import { DacClock } from '../device/audio/engine/dac-clock.ts';
const d = JSON.parse(readFileSync(process.argv[2] ?? '/tmp/pos-dump.json', 'utf8'));
const heard = d.heard.filter((x: any) => Number.isFinite(x.errUs)).map((x: any) => x.errUs).sort((a: number, b: number) => a - b);
const truth = heard[heard.length >> 1];
const variants: Record<string, () => DacClock> = {};
for (const w of (process.env.WINDOWS ?? '30000,10000,5000,3000').split(',').map(Number)) variants[`win ${w}`] = () => new DacClock(48000, { windowMs: w });
for (const [name, mk] of Object.entries(variants)) {
  const ca = mk(), cb = mk();
  const A = d.raws.roomA as [number, number, number][], B = d.raws.roomB as [number, number, number][];
  let ia = 0, ib = 0; const out: string[] = []; let worstAfter10 = 0;
  const end = Math.max(A.at(-1)![0], B.at(-1)![0]);
  for (let t = d.t0; t <= end; t += 250) {
    while (ia < A.length && A[ia]![0] <= t) { ca.observe(A[ia]![1], A[ia]![2]); ia++; }
    while (ib < B.length && B[ib]![0] <= t) { cb.observe(B[ib]![1], B[ib]![2]); ib++; }
    const nA = A[ia - 1]![1] + 9600, nB = B[ib - 1]![1] + 9600; // predicting ~200 ms ahead, as the loop does
    const s = (c: DacClock, n: number) => c.wallOfFrame(n) - n / 48;
    const e = (s(cb, nB) - s(ca, nA) - d.offB / 48) * 1000 - truth;
    if ((t - d.t0) % 2500 === 0) out.push(e.toFixed(0));
    if (t - d.t0 >= 10000) worstAfter10 = Math.max(worstAfter10, Math.abs(e));
  }
  console.log(name.padEnd(10), 'err µs per 2.5 s:', out.join(' '), '| worst after 10 s', worstAfter10.toFixed(0));
}
