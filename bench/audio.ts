// Audio benchmark (issue 3): `npm run bench -- audio [--json] [--quick]`.
//
// Real time, inside a network namespace, every process the way it ships (esbuild bundles, plain
// node; players under SCHED_RR as PulseAudio runs itself):
//   our source (tone 1 kHz, its clock +50 ppm, RTCP SRs, SAP) on group G0
//   → an impairment relay (seeded: 5 ms jitter, 1 % loss) → group G1
//   → player A (DAC +80 ppm) and player B (DAC −120 ppm, joins 5 s later) on G1;
//   → player C (DAC +300 ppm, output through `speaker` to an ALSA file) and PulseAudio
//     module-rtp-recv (found by our SAP, recorded with parec) side by side on G0.
//   → device D: the shipped runtime (dist/hearth.js run, V8 flags of the image's hearth.service)
//     connected to `hearth hub`, its player on G0 writing through `speaker` to an ALSA device that
//     plays in real time (ALSA's PulseAudio plugin into a null sink of the same PulseAudio).
// Figures from it: inter-room sync error (A vs B, steady window from 10 s after B joined),
// join-to-sync (B), underruns at 100 ms impaired (A + B, from each one's first audio block), THD+N of C and of PulseAudio, CPU per
// player (process tree, /proc; A–D) and of PulseAudio over the same window, resident memory of
// device D (its RSS plus what its sink process adds, see deviceResidentMb).
// Virtual time (A1's simulateLoop, ≥ 30 min of audio): residual drift over ±1000 ppm DACs,
// underruns at 100 ms impaired (added to the real-time count) and at 20 ms unimpaired.
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createNetns, type Netns } from '../test/helpers/netns.ts';
import { startAudioHost, stopAllHosts, type AudioHost } from '../test/helpers/audio-hosts.ts';
import { alsaFiles, type AlsaFiles } from '../test/helpers/alsa.ts';
import { startPulse, record, type Pulse } from '../test/helpers/pulse.ts';
import { syncErrors, timeToSync } from '../test/helpers/sync-error.ts';
import { readS16, toneOf } from '../test/helpers/audio-check.ts';
import {
  cpuSeconds,
  rssMb,
  pssMb,
  ownRssMb,
  deviceResidentMb,
  descendantsPrivateByMapping,
  pagesByMapping,
  topMappings,
  tree,
} from '../test/helpers/proc-stats.ts';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { simulateLoop, type SimLoopResult } from '../device/audio/sim/loop.ts';
import { imageRuntimeFlags } from './lib/runtime-flags.ts';
import { percentile, round } from './lib/stats.ts';
import { formatTable, atMost } from './lib/table.ts';
import { NATIVE_ADDONS } from '../device/image/native-addons.ts';

const root = new URL('..', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const wallNow = () => performance.timeOrigin + performance.now();
const G0 = '239.255.20.1',
  G1 = '239.255.20.2',
  PORT = 46100,
  LATENCY = 100;

/** The audio host and the sink child as built JavaScript beside each other (see device/hal/child-entry.ts). */
async function bundleHost(): Promise<{ host: string; remove(): void }> {
  const cache = join(root, 'node_modules/.cache');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, 'hearth-audio-bench-'));
  await build({
    entryPoints: {
      'audio-host': join(root, 'test/helpers/audio-host.ts'),
      'audio-out.speaker-child': join(root, 'device/hal/audio-out.speaker-child.ts'),
    },
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: [...NATIVE_ADDONS],
    logLevel: 'error',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return { host: join(dir, 'audio-host.mjs'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

interface RealTime {
  syncP99: number;
  syncMax: number;
  joinToSync: number;
  underruns: number;
  steadyPoints: number;
  thdn: number;
  thdnPa: number;
  cpu: Record<string, number>;
  cpuPa: number;
  rss: number;
  rssMain: number;
  pss: number;
  relay: string;
  deviceD: {
    resident: number;
    rss: number;
    rssMain: number;
    pss: number;
    sinkPrivate: { mapping: string; mb: number }[];
    mainRss: { mapping: string; mb: number }[];
    state: Record<string, any> | null;
  };
}

/** The image's runtime flags (images/rootfs/etc/systemd/system/hearth.service). */
const RUNTIME_FLAGS = imageRuntimeFlags();

/** Device D: `hearth hub` and `hearth run` (the built bundle in dist/) inside the namespace. */
async function startDeviceD(
  ns: Netns,
  dir: string,
  pa: Pulse,
  log: (s: string) => void,
): Promise<{ device: ChildProcess; hub: ChildProcess; state(): Record<string, any> | null }> {
  const cli = join(root, 'dist/hearth.js');
  const hub = ns.spawn(
    process.execPath,
    [
      cli,
      'hub',
      '--host',
      '127.0.0.1',
      '--port',
      '46183',
      '--ws-port',
      '0',
      '--allow-anonymous',
      '--credentials',
      join(dir, 'credentials.json'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HEARTH_LOG_LEVEL: 'warn' } },
  );
  const conf = join(dir, 'asound-d.conf');
  writeFileSync(conf, `</usr/share/alsa/alsa.conf>\npcm.!default { type null }\npcm.dacD { type pulse device "dacD" }\n`);
  const config = join(dir, 'device-d.json');
  // PulseAudio starts a stream once its prebuffer (~200 ms) is queued: bufferMs 200, latency 300.
  writeFileSync(
    config,
    JSON.stringify({
      v: 2,
      id: 'roomd',
      mqtt: { url: 'mqtt://127.0.0.1:46183' },
      roles: {
        player: {
          group: G0,
          port: PORT,
          format: { rate: 48000, channels: 2, payloadType: 127 },
          latencyMs: 300,
          output: { device: 'dacD', bufferMs: 200 },
        },
      },
    }),
  );
  const device = ns.spawn(process.execPath, [...RUNTIME_FLAGS, cli, 'run', '--config', config, '--state-dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ALSA_CONFIG_PATH: conf, PULSE_SERVER: pa.server, HEARTH_LOG_LEVEL: 'warn' },
  });
  let out = '';
  for (const p of [hub, device]) {
    p.stdout!.on('data', (d) => {
      out = (out + d).slice(-5000);
    });
    p.stderr!.on('data', (d) => {
      out = (out + d).slice(-5000);
    });
  }
  // Its retained player state, read back through the hub (the device publishes it every 2 s).
  let last: Record<string, any> | null = null;
  let sub: ChildProcess | undefined;
  let stopped = false;
  const subscribe = () => {
    // again until the hub listens
    if (stopped) return;
    sub = ns.spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', '46183', '-t', 'hearth/roomd/state/player'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let buf = '';
    sub.stdout!.on('data', (d) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        try {
          last = JSON.parse(l);
        } catch {
          /* partial */
        }
      }
    });
    sub.once('exit', () => setTimeout(subscribe, 200));
  };
  subscribe();
  const stopSub = () => {
    stopped = true;
    sub?.kill();
  };
  device.once('exit', stopSub);
  hub.once('exit', stopSub);
  for (let t0 = Date.now(); !(last as any)?.detail?.playing;) {
    if (Date.now() - t0 > 20_000) {
      stopSub();
      throw new Error(`device D did not start playing (last state: ${JSON.stringify(last)}):\n${out}`);
    }
    if (device.exitCode !== null) throw new Error(`device D exited:\n${out}`);
    await sleep(200);
  }
  for (const pid of tree(device.pid!)) {
    try {
      execFileSync('chrt', ['-a', '-r', '-p', '10', String(pid)], { stdio: 'ignore' });
    } catch {
      /* gone */
    }
  }
  log('device D (hearth run, speaker on a real-time ALSA device) playing');
  return { device, hub, state: () => (last as any)?.detail ?? null };
}

async function realTime(seconds: number, log: (s: string) => void): Promise<RealTime> {
  const bundle = await bundleHost();
  let ns: Netns | undefined, alsa: AlsaFiles | undefined, pa: Pulse | undefined;
  let d: Awaited<ReturnType<typeof startDeviceD>> | undefined;
  const relayOut: string[] = [];
  try {
    ns = createNetns('hbnch');
    alsa = alsaFiles(['roomA', 'roomB', 'roomC']);
    // The relay is the network: real-time priority, so its own scheduling adds no jitter beyond the seeded one.
    const relay = ns.spawn('chrt', [
      '-r',
      '20',
      process.execPath,
      '--import',
      'tsx',
      join(root, 'test/helpers/impair-relay.ts'),
      G0,
      G1,
      String(PORT),
      '5',
      '1',
      '20260601',
    ]);
    relay.stdout!.on('data', (d) => relayOut.push(String(d)));
    for (let t0 = Date.now(); !relayOut.join('').includes('ready');) {
      if (Date.now() - t0 > 15_000) throw new Error('impairment relay did not start');
      await sleep(50);
    }
    pa = await startPulse(ns, [
      'load-module module-null-sink sink_name=recvsink format=s16le channels=2 rate=48000',
      'load-module module-null-sink sink_name=dacD format=s16le channels=2 rate=48000',
      'load-module module-rtp-recv sink=recvsink sap_address=224.0.0.56 latency_msec=200',
    ]);
    const dac = (ppm: number, device: string) => ({ ppm, bufferMs: 40, mirror: { device, env: alsa!.env } });
    const player = (id: string, group: string, d: ReturnType<typeof dac>) =>
      startAudioHost({
        ns: ns!,
        id,
        role: 'player',
        realtime: true,
        script: bundle.host,
        config: { group, port: PORT, latencyMs: LATENCY, format: { rate: 48000, channels: 2, payloadType: 127 } },
        dac: d,
      });
    await startAudioHost({
      ns,
      id: 'src',
      role: 'source',
      script: bundle.host,
      realtime: true,
      clockPpm: 50,
      config: {
        streams: [{ id: 'tone', name: 'bench tone', input: { kind: 'tone', frequency: 1000, amplitude: 0.5 }, group: G0, port: PORT }],
      },
    });
    const [a, c] = await Promise.all([player('pa', G1, dac(80, 'roomA')), player('pc', G0, dac(300, 'roomC'))]);
    const runStart = wallNow();
    log(`real time: ${seconds} s, players A (+80 ppm) and C (+300 ppm) started; B joins in 5 s`);
    d = await startDeviceD(ns, alsa.dir, pa, log); // before B joins: its start-up load stays out of B's join
    await sleep(Math.max(0, runStart + 5000 - wallNow()));
    const bJoin = wallNow();
    const b = await player('pb', G1, dac(-120, 'roomB'));
    const hosts: Record<string, AudioHost> = { A: a, B: b, C: c };
    const pids: Record<string, number> = {
      ...Object.fromEntries(Object.entries(hosts).map(([k, h]) => [k, h.proc.pid!])),
      D: d.device.pid!,
    };
    // CPU over the second half of the run (everything joined and settled), same window for all.
    const endAt = runStart + seconds * 1000;
    const cpuFrom = runStart + Math.max(10_000, (seconds * 1000) / 2);
    await sleep(Math.max(0, cpuFrom - wallNow()));
    const c0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
    const pa0 = cpuSeconds(pa.proc.pid!);
    const t0 = wallNow();
    await sleep(Math.max(0, endAt - 4500 - wallNow()));
    const paRec = record(pa, 'recvsink.monitor', 3.5);
    await sleep(Math.max(0, endAt - wallNow()));
    const secs = (wallNow() - t0) / 1000;
    const cpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, (100 * (cpuSeconds(pid) - c0[k]!)) / secs]));
    const dPid = d.device.pid!;
    const deviceD = {
      resident: deviceResidentMb(dPid),
      rss: rssMb(dPid),
      rssMain: ownRssMb(dPid),
      pss: pssMb(dPid),
      sinkPrivate: descendantsPrivateByMapping(dPid),
      mainRss: topMappings(pagesByMapping(dPid, 'Rss')),
      state: d.state(),
    };
    const cpuPa = (100 * (cpuSeconds(pa.proc.pid!) - pa0)) / secs;
    const rss = Math.max(...Object.values(hosts).map((h) => rssMb(h.proc.pid!)));
    const rssMain = Math.max(...Object.values(hosts).map((h) => ownRssMb(h.proc.pid!)));
    const pss = Math.max(...Object.values(hosts).map((h) => pssMb(h.proc.pid!)));
    const [ra, rb, rc] = await Promise.all([a.records(), b.records(), c.records(Infinity)]);
    const states = [a.lastState()!, b.lastState()!];
    const sc = c.lastState()!;
    // When each simulated DAC underran, against the run's start and the player's first audio block.
    // The figure counts underruns from a player's first audio block on: before it the DAC plays
    // the silence of a process still loading its code (not yet under SCHED_RR), which no listener
    // hears and which says nothing about playout under jitter and loss. Those are printed here.
    const playingUnderruns = (k: string, r: typeof ra): number => {
      const firstAudio = r.records.find((x) => x.rtpTimeAtStart !== null)?.wallMs ?? Infinity;
      if (r.underrunAt.length)
        log(
          `player ${k} DAC underruns at ${r.underrunAt.map((w) => `${((w - runStart) / 1000).toFixed(2)} s`).join(', ')} after the run started (its first audio block at ${((firstAudio - runStart) / 1000).toFixed(2)} s)`,
        );
      if (r.underrunAt.length < r.underruns) return r.underruns; // more than were timed: count them all
      return r.underrunAt.filter((w) => w >= firstAudio).length;
    };
    const dacUnderruns = playingUnderruns('A', ra) + playingUnderruns('B', rb);
    log(
      `player C (+300 ppm, beside PulseAudio): received ${sc.packets.received}, concealed ${sc.packets.concealed}, playout underruns ${sc.underruns}, DAC underruns ${rc.underruns}, DAC ${sc.driftPpm.toFixed(1)} ppm`,
    );
    const paPcm = await paRec;
    await stopAllHosts(); // flushes C's speaker output to its file
    for (const [k, st, r] of [
      ['A', states[0]!, ra],
      ['B', states[1]!, rb],
    ] as const) {
      log(
        `player ${k}: playing ${st.playing}, received ${st.packets.received}, lost ${st.packets.lost}, late ${st.packets.late}, concealed ${st.packets.concealed}, resyncs ${st.resyncs}, DAC ${st.driftPpm.toFixed(1)} ppm, timing ${st.timing ?? '-'}, blocks ${r.records.length} (${r.records.filter((x) => x.rtpTimeAtStart !== null).length} with audio)`,
      );
    }
    const pts = syncErrors(ra.records, rb.records);
    // The course of the signed error (B − A), median per 5 s after B joined: a constant offset and
    // a slow convergence look different here, though both raise the p99.
    // Per window of `stepMs` from B's join to `untilMs`: `label(errors sorted)` (pts is in time order).
    const windows = (stepMs: number, untilMs: number, label: (e: number[]) => string): string => {
      const out: string[] = [];
      for (let t0 = bJoin, i = 0; t0 < untilMs; t0 += stepMs) {
        const win: number[] = [];
        for (; i < pts.length && pts[i]!.wallMs < t0 + stepMs; i++) if (pts[i]!.wallMs >= t0) win.push(pts[i]!.errUs);
        if (win.length) out.push(`${((t0 - bJoin) / 1000).toFixed(1)}s:${label(win.sort((x, y) => x - y))}`);
      }
      return out.join(' ');
    };
    log(
      `sync points ${pts.length}; error course (median µs per 5 s after B joined): ${windows(5000, endAt - 500, (e) => e[e.length >> 1]!.toFixed(1))}`,
    );
    log(
      `first 6 s after B joined (range of the error in µs per 0.5 s): ${windows(500, bJoin + 6000, (e) => `${e[0]!.toFixed(0)}..${e.at(-1)!.toFixed(0)}`)}`,
    );
    const joinToSync = timeToSync(
      pts.filter((p) => p.wallMs < endAt - 500),
      bJoin,
    );
    // Where the rooms were apart by more than 100 µs after B first synced: runs of such points.
    const excursions: string[] = [];
    for (let i = 0, from = -1; i <= pts.length; i++) {
      const bad = i < pts.length && pts[i]!.wallMs > bJoin + joinToSync * 1000 && Math.abs(pts[i]!.errUs) > 100;
      if (bad && from < 0) from = i;
      if (!bad && from >= 0) {
        const run = pts.slice(from, i);
        excursions.push(
          `${((run[0]!.wallMs - bJoin) / 1000).toFixed(2)}–${((run.at(-1)!.wallMs - bJoin) / 1000).toFixed(2)} s after B joined, worst ${Math.max(...run.map((p) => Math.abs(p.errUs))).toFixed(0)} µs`,
        );
        from = -1;
      }
    }
    if (excursions.length)
      log(
        `out of sync (> 100 µs) after joining: ${excursions.slice(0, 8).join('; ')}${excursions.length > 8 ? ` (+${excursions.length - 8} more)` : ''}`,
      );
    for (const [k, h] of [
      ['A', a],
      ['B', b],
    ] as const) {
      const ev = h.events.filter((e) => e.type !== 'stream-found');
      if (ev.length)
        log(`player ${k} events: ${ev.map((e) => `${((e.at - bJoin) / 1000).toFixed(2)} s ${e.type}: ${e.message}`).join('; ')}`);
    }
    const steady = pts.filter((p) => p.wallMs >= bJoin + 10_000 && p.wallMs < endAt - 500).map((p) => Math.abs(p.errUs));
    const thdn = toneOf(readS16(alsa.outFile('roomC')), 65536).thdnDb;
    const thdnPa = toneOf(paPcm, Math.min(65536, 1 << Math.floor(Math.log2(paPcm.length / 2)))).thdnDb;
    return {
      syncP99: steady.length ? percentile(steady, 99) : NaN,
      syncMax: steady.length ? Math.max(...steady) : NaN,
      steadyPoints: steady.length,
      joinToSync,
      underruns: dacUnderruns + states.reduce((s, x) => s + (x.underruns as number), 0),
      thdn,
      thdnPa,
      cpu,
      cpuPa,
      rss,
      rssMain,
      pss,
      relay: relayOut.join('').trim(),
      deviceD,
    };
  } finally {
    for (const p of [d?.device, d?.hub])
      if (p && p.exitCode === null) {
        p.kill('SIGTERM');
        await new Promise((r) => {
          const t = setTimeout(() => {
            p.kill('SIGKILL');
            r(null);
          }, 3000);
          p.once('exit', () => {
            clearTimeout(t);
            r(null);
          });
        });
      }
    await stopAllHosts();
    await pa?.stop();
    ns?.delete();
    alsa?.cleanup();
    bundle.remove();
  }
}

interface Virtual {
  driftResidual: number;
  underrunsImpaired: number;
  underruns20: number;
  sync100: number;
  thdnVirtual: number;
  audioMinutes: number;
  arrival: SimLoopResult['figures'];
}

async function virtual(quick: boolean, log: (s: string) => void): Promise<Virtual> {
  const long = quick ? 120 : 1800;
  const t0 = performance.now();
  const v1 = await simulateLoop({
    seconds: long,
    seed: 42,
    sender: { ppm: 50, rtcpIntervalMs: 1000 },
    network: { jitterMs: 5, lossPct: 1 },
    players: [80, -120, 1000, -1000].map((dacPpm) => ({ dacPpm, latencyMs: 100 })),
  });
  log(`virtual: ${long} s × 4 players (±1000 ppm, 5 ms jitter, 1 % loss) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const v2 = await simulateLoop({
    seconds: quick ? 60 : 600,
    seed: 43,
    sender: { ppm: 50, rtcpIntervalMs: 1000 },
    players: [80, -120].map((dacPpm) => ({ dacPpm, latencyMs: 20 })),
  });
  const v3 = await simulateLoop({
    seconds: quick ? 30 : 60,
    seed: 44,
    sender: { ppm: 0, rtcpIntervalMs: 1000, amplitude: 0.5 },
    players: [{ dacPpm: 300, latencyMs: 100, captureFromS: quick ? 20 : 40 }],
  });
  // Senders without RTCP (PulseAudio, PipeWire): two rooms on the arrival mapping alone.
  const v4 = await simulateLoop({
    seconds: quick ? 120 : 300,
    seed: 45,
    settleS: 30,
    sender: { ppm: 50, rtcpIntervalMs: null },
    network: { jitterMs: 5, lossPct: 1 },
    players: [{ dacPpm: 80 }, { dacPpm: -120, joinAtS: 60 }],
  });
  return {
    driftResidual: v1.figures.drift_residual_ppm,
    underrunsImpaired: v1.figures.underruns,
    underruns20: v2.figures.underruns,
    sync100: v1.figures.sync_error_p99_us,
    thdnVirtual: v3.figures.thdn_db ?? NaN,
    audioMinutes: (long * 4) / 60,
    arrival: v4.figures,
  };
}

export async function run(opts: { json: boolean; quick: boolean }): Promise<Record<string, number>> {
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'ignore' }); // device D runs dist/ as shipped
  const log = (s: string) => {
    if (!opts.json) console.log(s);
    else process.stderr.write(s + '\n');
  };
  const v = await virtual(opts.quick, log);
  const rt = await realTime(opts.quick ? 25 : 70, log);
  const figures = {
    sync_error_p99_us: round(rt.syncP99, 1),
    sync_error_max_us: round(rt.syncMax, 1),
    join_to_sync_s: round(rt.joinToSync, 2),
    drift_residual_ppm: round(v.driftResidual, 3),
    underruns_100ms_impaired: rt.underruns + v.underrunsImpaired,
    underruns_20ms: v.underruns20,
    thdn_db: round(rt.thdn, 1),
    cpu_pct: round(rt.cpu.D!, 2),
    cpu_pct_pulseaudio: round(rt.cpuPa, 2),
    rss_mb: round(rt.deviceD.resident, 1),
    thdn_db_pulseaudio: round(rt.thdnPa, 1),
  };
  if (!opts.json) {
    const rows: Array<[string, number, string, string]> = [
      ['sync_error_p99_us (A vs B, real time)', figures.sync_error_p99_us, atMost(figures.sync_error_p99_us, 20), ''],
      ['sync_error_max_us (A vs B, real time)', figures.sync_error_max_us, atMost(figures.sync_error_max_us, 50), ''],
      ['join_to_sync_s (B, to ≤ 100 µs)', figures.join_to_sync_s, atMost(figures.join_to_sync_s, 2), ''],
      ['drift_residual_ppm (virtual, ±1000 ppm)', figures.drift_residual_ppm, atMost(figures.drift_residual_ppm, 1), ''],
      ['underruns_100ms_impaired (real + virtual)', figures.underruns_100ms_impaired, atMost(figures.underruns_100ms_impaired, 0), ''],
      ['underruns_20ms (virtual)', figures.underruns_20ms, atMost(figures.underruns_20ms, 0), ''],
      ['thdn_db (C, +300 ppm, speaker path)', figures.thdn_db, atMost(figures.thdn_db, -90), `PulseAudio ${figures.thdn_db_pulseaudio}`],
      [
        'cpu_pct (device D: runtime + sink process)',
        figures.cpu_pct,
        `${atMost(figures.cpu_pct, 0.5)}, ≤ PA ${figures.cpu_pct <= figures.cpu_pct_pulseaudio ? '✓' : '✗'}`,
        `PulseAudio ${figures.cpu_pct_pulseaudio}`,
      ],
      ['rss_mb (device D: runtime + sink process)', figures.rss_mb, atMost(figures.rss_mb, 80), ''],
    ];
    console.log(formatTable(['figure', 'value', 'target', 'PulseAudio module-rtp-recv'], rows));
    console.log(
      `\nper player CPU % (process tree, same ${opts.quick ? 'short ' : ''}window): ${Object.entries(rt.cpu)
        .map(([k, x]) => `${k} ${x.toFixed(2)}`)
        .join(', ')}; PulseAudio ${rt.cpuPa.toFixed(2)}`,
    );
    console.log(
      '  (D is the shipped runtime and the figure; A-C are test hosts: simulated DAC mirrored through speaker, and IPC to this bench)',
    );
    const dd = rt.deviceD;
    console.log(
      `device D memory: ${dd.resident.toFixed(1)} MB resident (the figure: the runtime's RSS ${dd.rssMain.toFixed(1)} MB + its sink process's private pages); RSS summed over both processes ${dd.rss.toFixed(1)} MB (the node binary's pages counted twice), PSS ${dd.pss.toFixed(1)} MB`,
    );
    console.log(`  the runtime's resident pages by mapping (MB): ${dd.mainRss.map((x) => `${x.mapping} ${x.mb.toFixed(2)}`).join(', ')}`);
    console.log(
      `  its sink process's private pages by mapping (MB): ${dd.sinkPrivate.map((x) => `${x.mapping} ${x.mb.toFixed(2)}`).join(', ')}`,
    );
    if (dd.state)
      console.log(
        `device D player: playing ${dd.state.playing}, received ${dd.state.packets?.received}, underruns ${dd.state.underruns}, DAC ${Number(dd.state.driftPpm).toFixed(1)} ppm (PulseAudio's null sink runs on this machine's clock), sink ${dd.state.sink?.status}`,
      );
    console.log(
      `test-host players A–C (no MQTT, sim DAC mirrored through speaker): largest RSS ${rt.rss.toFixed(1)} MB summed over player + sink processes, ${rt.rssMain.toFixed(1)} MB player process alone, PSS ${rt.pss.toFixed(1)} MB`,
    );
    console.log(`steady-window blocks compared: ${rt.steadyPoints}; relay: ${rt.relay.replace(/\s+/g, ' ')}`);
    console.log(
      `virtual cross-checks: sync p99 at 100 ms impaired ${v.sync100.toFixed(1)} µs, THD+N at +300 ppm ${v.thdnVirtual.toFixed(1)} dB, ${v.audioMinutes.toFixed(0)} player-minutes of audio`,
    );
    console.log(
      `virtual, no RTCP (arrival mapping only, 5 ms jitter, 1 % loss): sync p99 ${v.arrival.sync_error_p99_us.toFixed(1)} µs, max ${v.arrival.sync_error_max_us.toFixed(1)} µs, join ${v.arrival.join_to_sync_s.toFixed(2)} s, underruns ${v.arrival.underruns}`,
    );
  }
  return figures;
}
