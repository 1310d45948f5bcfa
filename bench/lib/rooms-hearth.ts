// hearth's side of the rooms bench: a hub, a source and two players, each a separate `hearth run`
// (dist/hearth.js, the image's node flags) in one namespace, each under its own libfaketime clock,
// each behind its own impaired link (link-relay.ts):
//   source ──G0──▶ relay A (down: the profile) ──GA──▶ player A ──▶ ALSA pulse "roomA" ┐ observer
//                  relay B (down: the profile) ──GB──▶ player B ──▶ ALSA pulse "roomB" ┘ (true time)
//   each device's clock exchanges with the hub go through its relay's UDP link (up and down
//   profiles separate: asymmetric delay), where they are counted on the wire.
// MQTT (state, discovery) goes straight to the hub: it carries no timing.
// House time (the devices' `clock` reference) is served as the image serves it: chronyd on the hub
// (`local stratum 10`, `allow`, `-x`: it serves the hub's clock and never sets it), under the hub's
// libfaketime shift. ROOMS_TIME_SERVER=hearth serves it with hearth's own Node server instead (the
// hub role's `ntp`, for houses without chrony), for comparison. See startTimeServer().
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync, type ChildProcess } from 'node:child_process';
import type { Netns } from '../../test/helpers/netns.ts';
import { tree } from '../../test/helpers/proc-stats.ts';
import { trueNowNs } from '../../test/helpers/true-dac/true-dac.ts';
import { imageRuntimeFlags } from './runtime-flags.ts';
import {
  fakeClockEnv,
  fmtOffset,
  realtime,
  sleep,
  startRelay,
  stopProc,
  tail,
  type LinkCounts,
  type Profile,
  type Relay,
  type Shift,
} from './rooms-net.ts';

const root = new URL('../..', import.meta.url).pathname;
const CLI = join(root, 'dist/hearth.js');
const MQTT_PORT = 46283,
  RTP_PORT = 46300,
  NTP_PORT = 46323;
const G0 = '239.255.30.1';
const LATENCY_MS = 300,
  BUFFER_MS = 200; // PulseAudio starts a stream once ~200 ms is queued (the audio bench's device D)

export interface HearthRun {
  ns: Netns;
  dir: string;
  /** The true-time observer's environment for every device (its ALSA config naming pcm.<room>). */
  observer: { env: Record<string, string> };
  /** The players' output.bufferMs (default 200 ms, for PulseAudio; into a DAC a player keeps its default, 40 ms). */
  bufferMs?: number;
  noise: string;
  /** Link profile toward each device (down) and from it (up). */
  down: Profile;
  up: Profile;
  /** Clock shifts: null = true time. */
  hub: Shift | null;
  source: Shift | null;
  a: Shift | null;
  b: Shift | null;
  /** Rooms follow the house clock (the hub serves it) or, off, their own wall clocks (today's behaviour). */
  houseClock: boolean;
  seed: number;
  log(s: string): void;
  /** How to run `hearth` (default: the built bundle with the image's node flags; tests run the source through tsx). */
  cli?: string[];
  /** What serves house time on the hub (default: ROOMS_TIME_SERVER, else chrony as on the image). */
  timeServer?: TimeServer;
}

/** chrony: chronyd on the hub, as the image runs it; hearth: the hub role's own Node NTP server. */
export type TimeServer = 'chrony' | 'hearth';

/** The time server a run uses: `ROOMS_TIME_SERVER` (chrony | hearth), chrony when unset; anything else is refused. */
export function timeServerFromEnv(env: NodeJS.ProcessEnv = process.env): TimeServer {
  const v = env.ROOMS_TIME_SERVER ?? 'chrony';
  if (v !== 'chrony' && v !== 'hearth') throw new Error(`ROOMS_TIME_SERVER=${v}: expected chrony or hearth`);
  return v;
}

/**
 * chronyd serving house time at 127.0.0.1:NTP_PORT in the bench's namespace, under the hub's clock
 * shift (the hub box's clock is what it serves). Its kernel receive timestamps are on the true
 * clock; chrony uses its own (shifted) reading instead when they disagree by that much: against a
 * hub shifted +1.5 s, t3 − t2 of its replies measured 20–75 µs.
 */
const NTP_PROBE = `const s = require('node:dgram').createSocket('udp4');
const q = Buffer.alloc(48); q[0] = 0x23;
s.on('message', (m) => process.exit((m[0] & 7) === 4 && m[0] >> 6 !== 3 ? 0 : 1));
s.send(q, Number(process.argv[1]), '127.0.0.1'); setTimeout(() => process.exit(1), 500);`;

async function startChrony(r: HearthRun, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  try {
    execFileSync('chronyd', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('chronyd not found (Debian package chrony; ROOMS_TIME_SERVER=hearth runs without it)');
  }
  const conf = join(r.dir, 'chrony.conf');
  writeFileSync(
    conf,
    [
      'local stratum 10',
      'allow all',
      'bindaddress 127.0.0.1',
      `port ${NTP_PORT}`,
      'cmdport 0',
      `pidfile ${join(r.dir, 'chronyd.pid')}`,
      '',
    ].join('\n'),
  );
  const p = r.ns.spawn('chronyd', ['-x', '-d', '-u', 'root', '-f', conf], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const log = tail(p);
  // Up once it answers: an NTP client request (mode 3) gets a server reply (mode 4) that is synchronised.
  for (const t0 = Date.now(); ; await sleep(100)) {
    if (p.exitCode !== null || Date.now() - t0 > 10_000) throw new Error(`chronyd did not start serving:\n${log()}`);
    try {
      r.ns.exec(process.execPath, ['-e', NTP_PROBE, String(NTP_PORT)], { timeoutMs: 3000 });
      return p;
    } catch {
      /* not yet */
    }
  }
}

export interface HearthDevices {
  /** Starts player B (room B); returns the true wall time (ms) it was started at. */
  startB(opts?: { stepFile?: string }): Promise<number>;
  /** Resolves once B's state says it plays (what it says, not what is heard: the observer judges that). */
  bPlaying(): Promise<void>;
  /** B's sink process (the speaker child) is killed; the sink starts a new one by itself. */
  /** Kills B's playing sink process (the sink restarts it); returns the true instant of the kill (ns), if there was one. */
  restartSinkB(): number | undefined;
  /** Datagrams a device's link carried so far (link 0 is its clock exchanges: "0:up" are its queries). */
  linkCounts(id: string): Promise<LinkCounts>;
  stop(): Promise<{
    counts: Record<string, LinkCounts>;
    states: Record<string, any>;
    events: Array<{ atMs: number; topic: string; msg: any }>;
    /** Every player state seen, with its true arrival time (ms), for the join's course. */
    history: Array<{ atMs: number; topic: string; msg: any }>;
  }>;
}

/**
 * The `clock` section of a device's config (protocol/clock.ts): with the house clock on, the hub's
 * NTP server reached through the device's own relay; off, the device's OS wall clock as before.
 * The hub itself serves house time and needs none for its own role.
 */
function clockConfig(r: HearthRun, relayPort: number | null): Record<string, unknown> {
  if (!r.houseClock || relayPort === null) return { clock: { enabled: false } };
  return { clock: { server: '127.0.0.1', port: relayPort } };
}

export async function startHearthHouse(r: HearthRun): Promise<HearthDevices> {
  const procs: ChildProcess[] = [];
  const relays: Record<string, Relay> = {};
  const logs: Record<string, () => string> = {};
  const states: Record<string, any> = {};
  const events: Array<{ atMs: number; topic: string; msg: any }> = [];
  const history: Array<{ atMs: number; topic: string; msg: any }> = [];
  const cli = r.cli ?? [...imageRuntimeFlags(), CLI];
  const timeServer = r.timeServer ?? timeServerFromEnv();
  const baseEnv = { ...process.env, ...r.observer.env, HEARTH_LOG_LEVEL: 'warn' };
  let relayPort = 46400;
  const device = (id: string, roles: Record<string, unknown>, shift: Shift | null, withRelay: boolean, stepFile?: string): ChildProcess => {
    const config = join(r.dir, `${id}.json`);
    const port = withRelay ? relayPort - 1 : null; // the relay just started for it
    writeFileSync(config, JSON.stringify({ v: 2, id, mqtt: { url: `mqtt://127.0.0.1:${MQTT_PORT}` }, roles, ...clockConfig(r, port) }));
    const p = r.ns.spawn(process.execPath, [...cli, 'run', '--config', config, '--state-dir', r.dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...baseEnv, ...fakeClockEnv(shift, stepFile) },
    });
    logs[id] = tail(p);
    procs.push(p);
    return p;
  };
  const linkFor = async (id: string, multicastTo: string | null) => {
    const links: Parameters<typeof startRelay>[4] = [{ kind: 'udp', listen: relayPort++, target: NTP_PORT }];
    if (multicastTo) links.push({ kind: 'multicast', from: G0, to: multicastTo, ports: [RTP_PORT, RTP_PORT + 1] });
    relays[id] = await startRelay(r.ns, r.seed + Object.keys(relays).length, r.up, r.down, links);
  };
  const player = (id: string, group: string, room: string) => ({
    player: {
      group,
      port: RTP_PORT,
      format: { rate: 48000, channels: 2, payloadType: 127 },
      latencyMs: LATENCY_MS,
      sapListen: false,
      output: { device: room, bufferMs: r.bufferMs ?? BUFFER_MS },
    },
  });

  // State topics, for the record: what each device said about itself while it was measured.
  const sub = r.ns.spawn(
    'sh',
    [
      '-c',
      `while true; do mosquitto_sub -h 127.0.0.1 -p ${MQTT_PORT} -v -t 'hearth/+/state/#' -t 'hearth/roomA/event/#' -t 'hearth/roomB/event/#'; sleep 0.2; done`,
    ],
    { stdio: ['ignore', 'pipe', 'ignore'], detached: true },
  );
  let buf = '';
  sub.stdout!.on('data', (d) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) {
      const i = l.indexOf(' ');
      try {
        const topic = l.slice(0, i),
          msg = JSON.parse(l.slice(i + 1));
        if (topic.includes('/event/')) events.push({ atMs: Date.now(), topic, msg });
        else {
          states[topic] = msg;
          if (topic.endsWith('/state/player')) history.push({ atMs: Date.now(), topic, msg });
        }
      } catch {
        /* partial */
      }
    }
  });

  const hub = device(
    'hub',
    {
      hub: {
        host: '127.0.0.1',
        port: MQTT_PORT,
        wsPort: 0,
        allowAnonymous: true,
        credentialsFile: join(r.dir, 'credentials.json'),
        ntp: { enabled: r.houseClock && timeServer === 'hearth', host: '127.0.0.1', port: NTP_PORT },
      },
    },
    r.hub,
    false,
  );
  for (const t0 = Date.now(); !states['hearth/hub/state/hub']; await sleep(100))
    if (hub.exitCode !== null || Date.now() - t0 > 60_000) throw new Error(`the hub did not start:\n${logs.hub!()}`);
  realtime(hub.pid!);
  if (r.houseClock && timeServer === 'chrony') {
    const chrony = await startChrony(r, { ...process.env, ...fakeClockEnv(r.hub) });
    procs.push(chrony);
    realtime(chrony.pid!);
  }
  if (r.houseClock)
    r.log(`house time served by ${timeServer === 'chrony' ? 'chronyd (local stratum 10)' : "hearth's hub (Node NTP server)"}`);
  await linkFor('source', null);
  const source = device(
    'source',
    {
      source: {
        streams: [
          { id: 'noise', name: 'rooms noise', input: { kind: 'file', path: r.noise, loop: true }, group: G0, port: RTP_PORT, sap: false },
        ],
      },
    },
    r.source,
    true,
  );
  await linkFor('roomA', '239.255.30.11');
  const a = device('roomA', player('roomA', '239.255.30.11', 'roomA'), r.a, true);
  let b: ChildProcess | undefined;
  let bStarted: Promise<void> | undefined;
  const waitPlaying = async (id: string, p: ChildProcess) => {
    for (const t0 = Date.now(); !states[`hearth/${id}/state/player`]?.detail?.playing; await sleep(100)) {
      if (p.exitCode !== null || Date.now() - t0 > 60_000)
        throw new Error(`${id} did not start playing (state ${JSON.stringify(states[`hearth/${id}/state/player`])}):\n${logs[id]!()}`);
    }
  };
  for (const t0 = Date.now(); !states['hearth/source/state/source']; await sleep(100))
    if (source.exitCode !== null || Date.now() - t0 > 60_000) throw new Error(`the source did not start:\n${logs.source!()}`);
  realtime(source.pid!);
  await waitPlaying('roomA', a);
  realtime(a.pid!);
  r.log(`hub ${fmt(r.hub)}, source ${fmt(r.source)}, player A ${fmt(r.a)} playing`);
  return {
    async startB(opts = {}) {
      await linkFor('roomB', '239.255.30.12');
      const t = Date.now();
      const pb = (b = device('roomB', player('roomB', '239.255.30.12', 'roomB'), r.b, true, opts.stepFile));
      bStarted = waitPlaying('roomB', pb).then(() => realtime(pb.pid!));
      bStarted.catch((e) => r.log(String(e)));
      return t;
    },
    bPlaying: () => bStarted ?? Promise.reject(new Error('B not started')),
    linkCounts: (id) => relays[id]!.counts(),
    restartSinkB() {
      const kids = tree(b!.pid!).filter((pid) => pid !== b!.pid);
      // The sink process playing: the one under the runtime (`ip netns exec` → node → children) that
      // has an ALSA PCM plugin mapped (alsa-lib loads it at snd_pcm_open). The speaker sink's warm
      // spare has the addon loaded but no PCM open, so it is not the one killed.
      const playing = kids.filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libasound_module_pcm_');
        } catch {
          return false;
        }
      });
      const sink = playing.at(-1) ?? kids.at(-1);
      // The others (the spare): their memory, the spare's cost (RSS, and the private part of it).
      const mem = (pid: number) => {
        try {
          const m = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
          const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(m)?.[1] ?? NaN);
          return `pid ${pid} RSS ${(kb('Rss') / 1024).toFixed(1)} MB, private ${((kb('Private_Clean') + kb('Private_Dirty')) / 1024).toFixed(1)} MB`;
        } catch {
          return `pid ${pid} gone`;
        }
      };
      const idle = kids.filter((pid) => pid !== sink && !playing.includes(pid));
      r.log(
        `player B's sink processes: playing ${sink !== undefined ? mem(sink) : 'none'}; idle (spare): ${idle.map(mem).join('; ') || 'none'}`,
      );
      if (sink === undefined) return undefined;
      process.kill(sink, 'SIGKILL');
      const killedAtNs = trueNowNs();
      r.log(`player B's sink process (pid ${sink}) killed; the sink restarts it`);
      return killedAtNs;
    },
    async stop() {
      try {
        process.kill(-sub.pid!, 'SIGTERM');
      } catch {
        /* gone */
      }
      for (const p of procs.reverse()) await stopProc(p);
      const counts: Record<string, any> = {};
      for (const [k, rl] of Object.entries(relays)) counts[k] = await rl.stop();
      return { counts, states, events, history };
    },
  };
}

const fmt = (s: Shift | null) => (s ? `${fmtOffset(s.offsetS)} s ${s.ppm >= 0 ? '+' : ''}${s.ppm} ppm` : 'true');
