// House-clock benchmark: how close a device's house time is to the reference's, in TRUE time,
// with hearth's own NTP server and with chrony as the reference.
// - Two namespaces joined by a veth pair (a wired LAN with nothing else on it): the reference in
//   one, two client processes in the other, their OS clocks shifted −3 s and +3 s by libfaketime
//   (DONT_FAKE_MONOTONIC=1), each running the shipped HouseClock on the real UDP stack
//   (test/integration/clock/clock-peer.run.ts) and printing (CLOCK_MONOTONIC, house time) pairs.
// - True house time at a CLOCK_MONOTONIC instant: hearth's server prints its anchor on that clock;
//   chrony (`local stratum 10`, `-x`: serves this machine's system clock, never sets it) serves
//   CLOCK_REALTIME, which this process maps onto CLOCK_MONOTONIC every second by catching the
//   instant Date.now() ticks to the next millisecond (good to ~1 µs).
// - Figures: time from a client's start until its error is ≤ 100 µs for good (join), error
//   p50/p99 once settled (from 10 s on), queries per minute once settled, the uncertainty the
//   client reported (median) beside what was measured.
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNetns, connect, type Netns } from '../test/helpers/netns.ts';
import { tempDir, removeDir, sleep } from './lib/procs.ts';
import { percentile, median, round } from './lib/stats.ts';
import { formatTable, atMost } from './lib/table.ts';

const PEER = fileURLToPath(new URL('../test/integration/clock/clock-peer.run.ts', import.meta.url));
const FAKETIME_LIB = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const monoMs = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * CLOCK_REALTIME − CLOCK_MONOTONIC (ms), from the instant Date.now() ticks over: of 5 tries, the
 * one whose tick was bracketed most tightly (a try preempted mid-read is off by the preemption).
 */
function realMinusMono(): number {
  let best = { width: Infinity, off: 0 };
  for (let i = 0; i < 5; i++) {
    const start = Date.now();
    let t = start, m = monoMs();
    while (t === start) { m = monoMs(); t = Date.now(); }
    const after = monoMs();
    if (after - m < best.width) best = { width: after - m, off: t - (m + after) / 2 };
  }
  return best.off;
}

interface Line { started?: number; mono?: number; house?: number | null; state?: string; unc?: number | null; queries?: number; houseAtMono0?: number }

function jsonLines(child: ReturnType<Netns['spawn']>): Line[] {
  const got: Line[] = [];
  let buf = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) { const l = buf.slice(0, i); buf = buf.slice(i + 1); try { got.push(JSON.parse(l) as Line); } catch { /* not JSON */ } }
  });
  return got;
}

interface Result { join_s: number; p50_us: number; p99_us: number; max_us: number; queries_per_min: number; unc_median_us: number }

async function scenario(kind: 'hearth' | 'chrony', seconds: number): Promise<Result> {
  const a = createNetns('bclka'), b = createNetns('bclkb');
  const dir = tempDir('bclk-');
  try {
    const link = connect(a, b, 91);
    let truth: (mono: number) => number;
    if (kind === 'hearth') {
      const srv = jsonLines(a.spawn(process.execPath, ['--import', 'tsx', PEER, 'serve', '123']));
      const t0 = Date.now();
      while (!srv.find((x) => x.houseAtMono0 !== undefined)) { if (Date.now() - t0 > 30_000) throw new Error('hearth server did not start'); await sleep(50); }
      const anchor = srv.find((x) => x.houseAtMono0 !== undefined)!.houseAtMono0!;
      truth = (mono) => anchor + mono;
    } else {
      writeFileSync(join(dir, 'chrony.conf'), `local stratum 10\nallow all\nport 123\ncmdport 0\npidfile ${dir}/chronyd.pid\n`);
      a.spawn('chronyd', ['-x', '-d', '-u', 'root', '-f', join(dir, 'chrony.conf')]);
      await sleep(500);
      const cal: Array<{ mono: number; off: number }> = [];
      const calTimer = setInterval(() => cal.push({ mono: monoMs(), off: realMinusMono() }), 1000);
      cal.push({ mono: monoMs(), off: realMinusMono() });
      truth = (mono) => {
        // Linear between the calibrations around `mono` (the host's own NTP may slew CLOCK_REALTIME).
        let i = cal.findIndex((c) => c.mono > mono);
        if (i <= 0) i = i === 0 ? 1 : cal.length - 1;
        const p = cal[i - 1]!, q = cal[i] ?? p;
        const off = q.mono === p.mono ? p.off : p.off + ((q.off - p.off) * (mono - p.mono)) / (q.mono - p.mono);
        return mono + off;
      };
      setTimeout(() => clearInterval(calTimer), (seconds + 15) * 1000).unref();
    }
    const clients = [-3, 3].map((off) => {
      const stamp = join(dir, `ft${off}`);
      writeFileSync(stamp, `${off > 0 ? '+' : ''}${off}\n`);
      return jsonLines(b.spawn(process.execPath, ['--import', 'tsx', PEER, 'client', link.addrA, '123', '20'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LD_PRELOAD: FAKETIME_LIB, FAKETIME_TIMESTAMP_FILE: stamp, FAKETIME_NO_CACHE: '1', DONT_FAKE_MONOTONIC: '1' },
      }));
    });
    const t0 = Date.now();
    while (clients.some((c) => !c.find((x) => x.started !== undefined))) { if (Date.now() - t0 > 30_000) throw new Error('clients did not start'); await sleep(50); }
    await sleep(seconds * 1000);
    const joins: number[] = [], settled: number[] = [], q: number[] = [], unc: number[] = [];
    for (const c of clients) {
      const started = c.find((x) => x.started !== undefined)!.started!;
      const pts = c.filter((x) => x.mono !== undefined).map((x) => ({ t: x.mono! - started, err: x.house == null ? Infinity : (x.house - truth(x.mono!)) * 1000, queries: x.queries!, unc: x.unc }));
      let lastBad = -1;
      pts.forEach((p, i) => { if (!(Math.abs(p.err) <= 100)) lastBad = i; });
      // Never within 100 µs for good: reported as the whole run (a finite figure, and a failed target).
      joins.push(lastBad + 1 < pts.length ? pts[lastBad + 1]!.t / 1000 : seconds);
      const late = pts.filter((p) => p.t >= 10_000);
      settled.push(...late.map((p) => Math.abs(p.err)));
      if (late.length > 1) q.push(((late.at(-1)!.queries - late[0]!.queries) * 60_000) / (late.at(-1)!.t - late[0]!.t));
      unc.push(...late.map((p) => p.unc ?? Infinity));
    }
    return {
      join_s: round(Math.max(...joins), 2), p50_us: round(percentile(settled, 50), 1), p99_us: round(percentile(settled, 99), 1),
      max_us: round(Math.max(...settled), 1), queries_per_min: round(Math.max(...q), 1), unc_median_us: round(median(unc), 1),
    };
  } finally {
    a.delete(); b.delete();
    removeDir(dir);
  }
}

export async function run(opts: { json: boolean; quick: boolean }): Promise<Record<string, number>> {
  const seconds = opts.quick ? 25 : 120;
  const h = await scenario('hearth', seconds);
  const c = await scenario('chrony', seconds);
  if (!opts.json) {
    console.log(`house clock, true time, two clients (OS clocks −3 s and +3 s) over a veth LAN, ${seconds} s each; worst client for join and queries`);
    console.log(formatTable(
      ['reference', 'join ≤100 µs (s)', 'err p50 (µs)', 'err p99 (µs)', 'err max (µs)', 'queries/min', 'reported ± (median µs)'],
      [
        ['hearth NTP server (Node)', `${h.join_s} ${atMost(h.join_s, 2)}`, h.p50_us, h.p99_us, h.max_us, `${h.queries_per_min} ${atMost(h.queries_per_min, 60)}`, h.unc_median_us],
        ['chrony (local stratum 10)', `${c.join_s} ${atMost(c.join_s, 2)}`, c.p50_us, c.p99_us, c.max_us, `${c.queries_per_min} ${atMost(c.queries_per_min, 60)}`, c.unc_median_us],
      ],
    ));
  }
  return {
    clock_join_s: h.join_s, clock_err_p50_us: h.p50_us, clock_err_p99_us: h.p99_us, clock_err_max_us: h.max_us, clock_queries_per_min: h.queries_per_min, clock_uncertainty_median_us: h.unc_median_us,
    clock_join_s_chrony: c.join_s, clock_err_p50_us_chrony: c.p50_us, clock_err_p99_us_chrony: c.p99_us, clock_err_max_us_chrony: c.max_us, clock_queries_per_min_chrony: c.queries_per_min,
  };
}
