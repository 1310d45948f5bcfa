// A fresh PipeWire 0.3.x daemon (root, headless) inside a namespace, sending RTP through
// libpipewire-module-rtp-sink, with no sound card, no session manager and no D-Bus.
//
// Rules (found on Debian 12's PipeWire 0.3.65):
// - The config is minimal.conf without its ALSA nodes: a Dummy-Driver (a timerfd) paces the graph,
//   and module-rt gives the data thread SCHED_FIFO 88 (as root; PipeWire's own default).
// - Without a session manager nobody sets a stream's PortConfig, so streams expose no ports and
//   `target.object` links nothing. Both the RTP sink's stream and pw-play's stream therefore carry
//   `adapter.auto-port-config` (dsp mode), and play() links their ports with pw-link itself.
// - The private runtime dir holds the socket; every process runs inside the namespace, so
//   deleting the namespace (netns.ts kills its pids) also ends anything stop() missed.
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Netns } from './netns.ts';
import { stopChild } from './ns-hub.ts';

/** The RTP sink's node name (its input ports are `<name>:input_FL`, `<name>:input_FR`). */
export const RTP_SINK_NODE = 'hearth-rtp-sink';
const PORT_CONFIG = '{ mode = dsp monitor = false position = preserve }';

export interface PipeWire {
  dir: string;
  env: NodeJS.ProcessEnv;
  proc: ChildProcess;
  log(): string;
  /** Runs a PipeWire client (pw-cli, pw-dump…) inside the namespace against this daemon. */
  client(cmd: string, args: string[]): ChildProcess;
  /** Plays a stereo WAV into the RTP sink (pw-play, then links its ports to the sink's). */
  play(wav: string): Promise<ChildProcess>;
  stop(): Promise<void>;
}

/** SPA-JSON value: numbers and booleans bare, strings quoted. */
function spa(v: string | number | boolean): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function config(rtpSink: Record<string, string | number | boolean>): string {
  const args = Object.entries(rtpSink)
    .map(([k, v]) => `        ${k} = ${spa(v)}`)
    .join('\n');
  return `context.properties = {
    core.daemon = true
    core.name = pipewire-0
    link.max-buffers = 16
    default.clock.rate = 48000
}
context.spa-libs = {
    audio.convert.* = audioconvert/libspa-audioconvert
    support.* = support/libspa-support
}
context.modules = [
    { name = libpipewire-module-rt args = { nice.level = -11 rt.prio = 88 } flags = [ ifexists nofail ] }
    { name = libpipewire-module-protocol-native }
    { name = libpipewire-module-metadata }
    { name = libpipewire-module-spa-node-factory }
    { name = libpipewire-module-client-node }
    { name = libpipewire-module-access args = { } }
    { name = libpipewire-module-adapter }
    { name = libpipewire-module-link-factory }
    { name = libpipewire-module-rtp-sink
      args = {
${args}
        stream.props = { node.name = ${RTP_SINK_NODE} adapter.auto-port-config = ${PORT_CONFIG} }
      }
    }
]
context.objects = [
    { factory = spa-node-factory
      args = { factory.name = support.node.driver node.name = Dummy-Driver node.group = pipewire.dummy priority.driver = 20000 } }
]
`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every daemon and client still running: killed when the test process exits, however it exits. */
const live = new Set<ChildProcess>();
const dirs = new Set<string>();
process.on('exit', () => {
  for (const p of live)
    try {
      p.kill('SIGKILL');
    } catch {
      /* gone */
    }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function track(p: ChildProcess): ChildProcess {
  live.add(p);
  p.once('exit', () => live.delete(p));
  return p;
}

/** Starts PipeWire in `ns` with module-rtp-sink given `rtpSink` as its module args. */
export async function startPipeWire(ns: Netns, rtpSink: Record<string, string | number | boolean>): Promise<PipeWire> {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-pw-'));
  dirs.add(dir);
  const rt = join(dir, 'rt');
  mkdirSync(rt, { mode: 0o700 });
  writeFileSync(join(dir, 'pipewire.conf'), config(rtpSink));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: dir,
    XDG_RUNTIME_DIR: rt,
    PIPEWIRE_RUNTIME_DIR: rt,
    PIPEWIRE_REMOTE: 'pipewire-0',
  };
  delete env.DBUS_SESSION_BUS_ADDRESS;
  // Real-time, like pw-play below and like the players it feeds (SCHED_RR): at normal priority its
  // graph missed cycles whenever the players' processes held both cores, and it sent silence
  // inside the tone (about 1 attempt in 3 on a 2-core VM).
  const proc = track(
    ns.spawn('chrt', ['-r', '20', 'pipewire', '-c', join(dir, 'pipewire.conf')], { env, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let log = '';
  const append = (d: unknown) => {
    log = (log + String(d)).slice(-50_000);
  };
  proc.stderr?.on('data', append);
  proc.stdout?.on('data', append);
  const clients = new Set<ChildProcess>();
  const client = (cmd: string, args: string[]): ChildProcess => {
    const c = track(ns.spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    clients.add(c);
    c.once('exit', () => clients.delete(c));
    return c;
  };
  const t0 = Date.now();
  while (!existsSync(join(rt, 'pipewire-0'))) {
    if (proc.exitCode !== null || Date.now() - t0 > 10_000) {
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`pipewire did not start:\n${log.slice(-3000)}`);
    }
    await sleep(50);
  }

  /** Output of a short-lived client (pw-link). */
  const run = (cmd: string, args: string[]) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const c = client(cmd, args);
      let out = '';
      c.stdout?.on('data', (d) => (out += d));
      c.stderr?.on('data', (d) => (out += d));
      c.once('exit', (code) => resolve({ code, out }));
    });

  return {
    dir,
    env,
    proc,
    client,
    log: () => log,
    async play(wav) {
      const node = `hearth-play-${clients.size}-${Date.now() % 100000}`;
      // pw-play fills its buffers from its main loop (no RT_PROCESS): at normal priority, on two
      // cores shared with a SCHED_RR player, it misses graph cycles and PipeWire sends a quantum
      // of inserted silence. On a real network the sender has its own machine; here it gets
      // real-time priority above the player's (10) instead.
      const p = client('chrt', ['-r', '20', 'pw-play', '-P', `{ node.name = ${node} adapter.auto-port-config = ${PORT_CONFIG} }`, wav]);
      let perr = '';
      p.stderr?.on('data', (d) => (perr += d));
      const deadline = Date.now() + 5000;
      for (;;) {
        const { out } = await run('pw-link', ['-o']);
        if (out.includes(`${node}:output_FR`)) break;
        if (p.exitCode !== null || Date.now() > deadline) throw new Error(`pw-play exposed no ports: ${perr}\n${out}\n${log.slice(-2000)}`);
        await sleep(50);
      }
      for (const ch of ['FL', 'FR']) {
        const r = await run('pw-link', [`${node}:output_${ch}`, `${RTP_SINK_NODE}:input_${ch}`]);
        if (r.code !== 0) throw new Error(`pw-link ${ch}: ${r.out}`);
      }
      return p;
    },
    async stop() {
      for (const c of clients) c.kill('SIGKILL');
      await stopChild(proc, 2000); // SIGTERM first: PipeWire sends its SAP deletion on the way out
      rmSync(dir, { recursive: true, force: true });
      dirs.delete(dir);
    },
  };
}
