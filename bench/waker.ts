// Waker benchmark, on a namespace LAN (switch + waker + client + a host that stays asleep):
// - ARP request on the wire → magic packet on the wire, both timestamped by tcpdump in the
//   waker's namespace (microsecond, one clock), for ≥ 200 demands; then the same demands through
//   `etherwake` spawned per wake (the classic scripts' way) in the same run;
// - false wakes in an adversarial ARP mix (probes, gratuitous, replies, deny-listed, unwatched,
//   the host's own): magic packets seen while only that mix is on the wire;
// - the waker process's CPU under a 1,000 ARP/s background storm.
// Nothing leaves the namespaces; they are deleted at the end, also on failure.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLan, type Lan } from '../test/integration/waker/lan.ts';
import { jsonChild, type JsonChild } from '../test/integration/waker/child.ts';
import { percentile, round } from './lib/stats.ts';
import { formatTable, atMost } from './lib/table.ts';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Pkt {
  t: number;
  kind: 'arp-req' | 'arp-other' | 'magic';
  sender?: string;
}

/** Parses `tcpdump -tt -n -e` lines (µs timestamps) into the packets the bench cares about. */
function parseLine(line: string): Pkt | undefined {
  const m = /^(\d+\.\d+) /.exec(line);
  if (!m) return undefined;
  const t = Number(m[1]) * 1000;
  if (line.includes('(0x0842)') || /\.(9|7): UDP, length 10[268]/.test(line)) return { t, kind: 'magic' };
  const req = /Request who-has (\S+) tell (\S+),/.exec(line);
  if (req) return { t, kind: 'arp-req', sender: req[2]! };
  if (line.includes('ethertype ARP')) return { t, kind: 'arp-other' };
  return undefined;
}

/**
 * Demand → magic delays in a window. With cooldown 0 every demand gets exactly one magic packet,
 * so when the counts match the k-th magic answers the k-th demand (exact even when a slow
 * sender's magic comes after the next demand). Otherwise each demand is paired with the first
 * magic after it and before the next demand, and unanswered demands are left out.
 */
function pairLatencies(pkts: Pkt[], from: number, to: number, sender: string): { lat: number[]; demands: number; magic: number } {
  const win = pkts.filter((p) => p.t >= from && p.t <= to);
  const reqs = win.filter((p) => p.kind === 'arp-req' && p.sender === sender);
  const magic = win.filter((p) => p.kind === 'magic');
  if (reqs.length === magic.length && reqs.every((r, k) => magic[k]!.t >= r.t)) {
    return { lat: reqs.map((r, k) => magic[k]!.t - r.t), demands: reqs.length, magic: magic.length };
  }
  const lat: number[] = [];
  for (let i = 0; i < win.length; i++) {
    const p = win[i]!;
    if (p.kind !== 'arp-req' || p.sender !== sender) continue;
    for (let j = i + 1; j < win.length; j++) {
      const q = win[j]!;
      if (q.kind === 'arp-req' && q.sender === sender) break;
      if (q.kind === 'magic') {
        lat.push(q.t - p.t);
        break;
      }
    }
  }
  return { lat, demands: reqs.length, magic: magic.length };
}

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime + stime (fields 14, 15)
}

function wakerConfig(lan: Lan, etherwake: boolean) {
  return {
    hosts: [
      {
        name: 'theobromine',
        ip: lan.sleeper.ip,
        mac: lan.sleeper.mac,
        interface: lan.waker.iface,
        cooldownS: 0,
        wakeTimeoutS: 3600,
        deny: ['10.78.0.1'],
        ...(etherwake ? { udp: false, rawEthernet: true } : {}),
      },
    ],
    deny: ['02:77:00:00:00:66'],
    probe: { intervalS: 60, timeoutMs: 300, misses: 2 },
  };
}

async function startWaker(lan: Lan, etherwake: boolean): Promise<{ c: JsonChild; pid: number }> {
  const c = jsonChild(
    lan.waker.ns.node(here('./waker/child.ts'), [JSON.stringify(wakerConfig(lan, etherwake)), ...(etherwake ? ['etherwake'] : [])], {
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
    'waker',
  );
  const ready = await c.waitFor((l) => l.ready, 15_000);
  await c.waitFor((l) => l.state?.hosts?.[0]?.state === 'asleep', 5_000);
  return { c, pid: ready.pid };
}

/** Sends `n` genuine demands from the client (raw ARP requests, `gapS` apart) and waits for the last. */
async function demands(lan: Lan, n: number, gapS: number): Promise<void> {
  const gen = jsonChild(
    lan.client.ns.node(here('./waker/arpgen.ts'), [
      lan.client.iface,
      String(1 / gapS),
      String(n * gapS),
      '10.78.0',
      lan.client.ip,
      lan.client.mac,
      lan.sleeper.ip,
    ]),
    'demands',
  );
  await gen.waitFor((l) => l.sent !== undefined, (n * gapS + 20) * 1000);
  await gen.kill();
}

function arping(lan: Lan, where: 'client' | 'sleeper', args: string[]): void {
  const h = lan[where];
  try {
    h.ns.exec('arping', ['-q', '-i', h.iface, '-w', '2', ...args], { timeoutMs: 30_000 });
  } catch {
    /* no replies */
  }
}

export async function run(opts: { json: boolean; quick: boolean }): Promise<Record<string, number>> {
  const n = opts.quick ? 50 : 220;
  const stormS = opts.quick ? 2 : 5;
  const lan = createLan();
  const kids: Array<JsonChild> = [];
  let dump: ChildProcess | undefined;
  try {
    lan.sleep();
    const pkts: Pkt[] = [];
    dump = lan.waker.ns.spawn('tcpdump', [
      '-i',
      lan.waker.iface,
      '-tt',
      '--time-stamp-precision=micro',
      '-n',
      '-e',
      '-l',
      '-q',
      'arp or ether proto 0x0842 or udp port 9 or udp port 7',
    ]);
    let buf = '';
    dump.stdout!.on('data', (d) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        const p = parseLine(l);
        if (p) pkts.push(p);
      }
    });
    await sleep(1000); // tcpdump attaches

    // 1. Native waker: demands, adversarial mix, storm.
    const native = await startWaker(lan, false);
    kids.push(native.c);
    const t0 = Date.now();
    await demands(lan, n, 0.05);
    await sleep(500);
    const t1 = Date.now();

    const advFrom = Date.now();
    const target = lan.sleeper.ip;
    const reps = opts.quick ? '5' : '20';
    arping(lan, 'client', ['-c', reps, '-W', '0.01', '-0', target]);
    arping(lan, 'client', ['-c', reps, '-W', '0.01', '-U', '-S', target, target]);
    arping(lan, 'client', ['-c', reps, '-W', '0.01', '-P', '-S', lan.client.ip, target]);
    arping(lan, 'client', ['-c', reps, '-W', '0.01', '-S', '10.78.0.1', target]);
    arping(lan, 'client', ['-c', reps, '-W', '0.01', '-S', '10.78.0.66', '-s', '02:77:00:00:00:66', '-p', target]);
    arping(lan, 'client', ['-c', reps, '-W', '0.01', '-S', lan.client.ip, '10.78.0.21']);
    arping(lan, 'sleeper', ['-c', reps, '-W', '0.01', '-S', target, '10.78.0.58']);
    await sleep(500);
    const advTo = Date.now();

    const advSeen = await native.c.request({});
    const framesBefore = (await native.c.request({})).frames as number;
    const before = cpuTicks(native.pid);
    const w0 = performance.now();
    const gen = jsonChild(lan.client.ns.node(here('./waker/arpgen.ts'), [lan.client.iface, '1000', String(stormS), '10.78.0']), 'arpgen');
    kids.push(gen);
    const genDone = await gen.waitFor((l) => l.sent !== undefined, (stormS + 20) * 1000);
    const cpuPct = ((cpuTicks(native.pid) - before) / 100 / ((performance.now() - w0) / 1000)) * 100;
    await sleep(200);
    const stormSeen = ((await native.c.request({})).frames as number) - framesBefore;
    if (stormSeen < genDone.sent * 0.95) throw new Error(`the waker saw only ${stormSeen} of ${genDone.sent} storm frames`);
    await native.c.kill();

    // 2. The same demands through etherwake spawned per wake.
    const ew = await startWaker(lan, true);
    kids.push(ew.c);
    const e0 = Date.now();
    await demands(lan, n, 0.05);
    await sleep(1000);
    const e1 = Date.now();
    await ew.c.kill();
    await sleep(300);

    const nat = pairLatencies(pkts, t0, t1, lan.client.ip);
    const eth = pairLatencies(pkts, e0, e1, lan.client.ip);
    const falseWakes = pkts.filter((p) => p.kind === 'magic' && p.t >= advFrom && p.t <= advTo).length;
    if (nat.lat.length === 0 || eth.lat.length === 0)
      throw new Error(
        `no demand was answered (native ${nat.lat.length}/${nat.demands}, etherwake ${eth.lat.length}/${eth.demands}); tcpdump saw ${pkts.length} packets`,
      );
    const figures = {
      arp_to_magic_p50_ms: round(percentile(nat.lat, 50), 3),
      arp_to_magic_p99_ms: round(percentile(nat.lat, 99), 3),
      arp_to_magic_p99_ms_etherwake: round(percentile(eth.lat, 99), 3),
      false_wakes: falseWakes,
      demands: nat.lat.length,
      storm_cpu_pct: round(cpuPct, 1),
    };
    if (!opts.json) {
      console.log(
        formatTable(
          ['figure', 'value', 'target'],
          [
            ['arp_to_magic_p50_ms', figures.arp_to_magic_p50_ms, ''],
            ['arp_to_magic_p99_ms', figures.arp_to_magic_p99_ms, atMost(figures.arp_to_magic_p99_ms, 5)],
            ['arp_to_magic_p99_ms_etherwake', figures.arp_to_magic_p99_ms_etherwake, '(reference: etherwake spawned per wake)'],
            ['false_wakes', figures.false_wakes, atMost(figures.false_wakes, 0)],
            ['demands', figures.demands, `≥ 200 ${figures.demands >= 200 ? '✓' : opts.quick ? '(quick run)' : '✗'}`],
            ['storm_cpu_pct', figures.storm_cpu_pct, '% of one core at 1,000 ARP/s'],
          ],
        ),
      );
      console.log(
        `\nnative: ${nat.lat.length}/${nat.demands} demands answered (${nat.magic} magic packets); etherwake: ${eth.lat.length}/${eth.demands} (${eth.magic} magic packets, p50 ${round(percentile(eth.lat, 50), 3)} ms)`,
      );
      const ign = Object.entries(advSeen)
        .filter(([k]) => k.startsWith('ignored_'))
        .map(([k, v]) => `${k.slice(8)} ${v}`)
        .join(', ');
      console.log(`adversarial mix, judged not demands by reason: ${ign}`);
      console.log(`storm: ${genDone.sent} requests in ${round(genDone.seconds, 2)} s, ${stormSeen} seen by the waker`);
    }
    return figures;
  } finally {
    for (const k of kids) await k.kill().catch(() => {});
    dump?.kill('SIGTERM');
    lan.delete();
  }
}
