// Snapcast's side of the rooms bench, the same house as rooms-hearth.ts: Debian's snapserver
// (under the source's clock shift) reads the same noise from a pipe (fed in real time by a small
// writer under the same shift); one snapclient per room (under that room's shift) plays through
// ALSA's pulse plugin into the observer's room sink. Each client reaches the server through its
// own link relay (TCP: Snapcast's audio and its time sync share one connection), with the same
// profiles per direction as hearth's devices.
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync, type ChildProcess } from 'node:child_process';
import type { Netns } from '../../test/helpers/netns.ts';
import { fakeClockEnv, realtime, sleep, startRelay, stopProc, tail, type Profile, type Relay, type Shift } from './rooms-net.ts';

const root = new URL('../..', import.meta.url).pathname;
const STREAM_PORT = 46704;

export interface SnapRun {
  ns: Netns;
  dir: string;
  /** The true-time observer's environment for every device (its ALSA config naming pcm.<room>). */
  observer: { env: Record<string, string> };
  noise: string;
  down: Profile;
  up: Profile;
  source: Shift | null;
  a: Shift | null;
  b: Shift | null;
  seed: number;
  log(s: string): void;
}

export interface SnapHouse {
  startB(): Promise<number>;
  stop(): Promise<void>;
}

export async function startSnapHouse(r: SnapRun): Promise<SnapHouse> {
  const procs: ChildProcess[] = [];
  const relays: Relay[] = [];
  const logs: Record<string, () => string> = {};
  const fifo = join(r.dir, 'snapfifo');
  execFileSync('mkfifo', [fifo]);
  mkdirSync(join(r.dir, 'snapdata'), { recursive: true });
  const conf = join(r.dir, 'snapserver.conf');
  writeFileSync(
    conf,
    [
      '[server]',
      `datadir = ${join(r.dir, 'snapdata')}`,
      '[http]',
      'enabled = false',
      '[tcp]',
      'enabled = false',
      '[stream]',
      'bind_to_address = 127.0.0.1',
      `port = ${STREAM_PORT}`,
      `source = pipe://${fifo}?name=noise&mode=read`,
      'sampleformat = 48000:16:2',
      'codec = pcm',
      'chunk_ms = 20',
      'buffer = 1000',
      '[logging]',
      'sink = stderr',
      'filter = *:warning',
      '',
    ].join('\n'),
  );
  const env = { ...process.env, ...r.observer.env };
  const spawn = (id: string, cmd: string, args: string[], shift: Shift | null) => {
    const p = r.ns.spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, ...fakeClockEnv(shift) } });
    logs[id] = tail(p);
    procs.push(p);
    return p;
  };
  const server = spawn('snapserver', 'snapserver', ['-c', conf], r.source);
  // The writer keeps the pipe fed in real time (by the source's clock); snapserver stamps chunks as it reads them.
  const feeder = spawn('feeder', process.execPath, ['--import', 'tsx', join(root, 'bench/procs/pipe-feeder.ts'), r.noise, fifo], r.source);
  await sleep(1500);
  if (server.exitCode !== null) throw new Error(`snapserver exited:\n${logs.snapserver!()}`);
  realtime(server.pid!);
  realtime(feeder.pid!);
  let nextPort = STREAM_PORT + 10;
  const client = async (room: string, shift: Shift | null): Promise<number> => {
    const port = nextPort++;
    relays.push(await startRelay(r.ns, r.seed + relays.length, r.up, r.down, [{ kind: 'tcp', listen: port, target: STREAM_PORT }]));
    const t = Date.now();
    const p = spawn(
      room,
      'snapclient',
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '--player',
        'alsa',
        '-s',
        room,
        '--hostID',
        room,
        '--logsink',
        'stderr',
        '--logfilter',
        '*:warning',
      ],
      shift,
    );
    setTimeout(() => {
      if (p.exitCode === null) realtime(p.pid!);
    }, 500);
    return t;
  };
  await client('roomA', r.a);
  r.log('snapserver and snapclient A started');
  return {
    startB: () => client('roomB', r.b),
    async stop() {
      for (const p of procs.reverse()) await stopProc(p);
      for (const rl of relays) await rl.stop();
      for (const [k, l] of Object.entries(logs)) {
        const s = l().trim();
        if (s) r.log(`${k}: ${s.split('\n').slice(-3).join(' | ')}`);
      }
    },
  };
}
