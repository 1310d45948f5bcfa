// A stream's port taken by a socket bound to an ephemeral port (the fault once seen in
// e2e-mqtt.test.ts: `bind EADDRINUSE 239.255.7.1:46100` for both players). Real sockets in a
// namespace this test creates:
// - the namespaces of test/helpers/netns.ts hand out ephemeral ports from 49152 only (as the image
//   does through its sysctl drop-in, applied here by the real systemd-sysctl);
// - with the namespace's range narrowed to the stream's two ports, a plain socket binding port 0
//   (no SO_REUSEADDR) gets them, exactly as a DNS query or a house-clock client can with Linux's
//   default range; the player then says it cannot bind (state stream.error, one event), never
//   "playing", retries, and plays once the socket is gone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createNetns, EPHEMERAL_PORTS, type Netns } from '../../helpers/netns.ts';
import { startAudioHost, stopAllHosts, type AudioHost } from '../../helpers/audio-hosts.ts';
import { imagesDir } from '../../../device/image/boot-config.ts';
import { STREAM_PORT_LIMIT } from '../../../protocol/roles/player.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const G = '239.255.9.1',
  P = 46120;
const SOURCE = { streams: [{ id: 'tone', input: { kind: 'tone', frequency: 1000, amplitude: 0.5 }, group: G, port: P }] };
const RANGE = '/proc/sys/net/ipv4/ip_local_port_range';

let ns: Netns;
const range = (n: Netns) => n.exec('cat', [RANGE]).trim().split(/\s+/).map(Number);
const setRange = (n: Netns, lo: number, hi: number) => n.exec('sh', ['-c', `echo '${lo} ${hi}' > ${RANGE}`]);

/** `count` plain UDP sockets bound to port 0 in the namespace (no SO_REUSEADDR), held until killed; resolves with their ports. */
function holdEphemeral(n: Netns, count: number): Promise<{ proc: ChildProcess; ports: number[] }> {
  const code = `const d = require('node:dgram'); const ports = [];
    const next = () => { if (ports.length === ${count}) { console.log(JSON.stringify(ports)); return; }
      const s = d.createSocket('udp4'); s.on('error', (e) => { console.error(e.message); process.exit(1); });
      s.bind(0, () => { ports.push(s.address().port); next(); }); };
    next(); setInterval(() => {}, 1e6);`;
  const proc = n.spawn(process.execPath, ['-e', code]);
  return new Promise((resolve, reject) => {
    let out = '',
      err = '';
    proc.stderr!.on('data', (d) => (err += d));
    proc.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve({ proc, ports: JSON.parse(out) as number[] });
    });
    proc.once('exit', (c) => reject(new Error(`the holder exited (${c}): ${err}`)));
  });
}

test.before(() => {
  ns = createNetns('hport');
});
test.after(async () => {
  await stopAllHosts();
  ns.delete();
});

test("the helper's namespaces hand out ephemeral ports from 49152 up only, so no socket there gets a stream port by chance", async () => {
  assert.equal(range(ns), [...EPHEMERAL_PORTS]);
  assert.is(EPHEMERAL_PORTS[0], STREAM_PORT_LIMIT);
  // 400 ephemeral binds: with Linux's default 32768–60999, nearly 6 in 10 would land below 49152.
  const { proc, ports } = await holdEphemeral(ns, 400);
  proc.kill('SIGKILL');
  assert.is(ports.length, 400);
  assert.ok(Math.min(...ports) >= STREAM_PORT_LIMIT, `lowest ephemeral port ${Math.min(...ports)}`);
});

test("the image's sysctl drop-in, applied by systemd-sysctl, sets that range (it is per network namespace)", () => {
  const other = createNetns('hsysc');
  try {
    setRange(other, 32768, 60999); // Linux's default
    const dropIn = join(imagesDir(), 'rootfs/usr/lib/sysctl.d/60-hearth-ports.conf');
    other.exec('/usr/lib/systemd/systemd-sysctl', [dropIn]);
    assert.equal(range(other), [...EPHEMERAL_PORTS]);
  } finally {
    other.delete();
  }
  assert.equal(execFileSync('cat', [RANGE], { encoding: 'utf8' }).trim().split(/\s+/).map(Number).length, 2); // host untouched, readable
});

test('a player whose stream port an ephemeral socket holds reports the bind error (never playing), retries, and plays once the port is free', async () => {
  const src = await startAudioHost({ ns, id: 'src', role: 'source', config: SOURCE });
  // The fault as it happens: a plain socket binding port 0 is handed the stream's ports.
  setRange(ns, P, P + 1);
  const holder = await holdEphemeral(ns, 2);
  setRange(ns, ...EPHEMERAL_PORTS);
  assert.equal(
    holder.ports.sort((a, b) => a - b),
    [P, P + 1],
  );
  let player: AudioHost | undefined;
  try {
    player = await startAudioHost({
      ns,
      id: 'player',
      role: 'player',
      config: { group: G, port: P, latencyMs: 200, output: { kind: 'sim', bufferMs: 60 } },
      dac: { ppm: 0, bufferMs: 60 },
    });
    const failed = await player.waitEvent('stream-bind-failed', 10_000);
    assert.is(failed.data?.code, 'EADDRINUSE');
    assert.match(failed.message, `${G}:${P}`);
    const bad = await player.waitState((s) => typeof s.stream?.error === 'string', 5000);
    assert.match(bad.stream.error, /EADDRINUSE/);
    assert.match(bad.stream.error, /retrying/);
    assert.is(bad.stream.group, null, 'not joined');
    // Packets are flowing on the group all along; the player keeps trying (0.5, 1, 2 s apart),
    // says so once, and never claims to play.
    await sleep(4000);
    const held = player.lastState()!;
    assert.ok(held.stream.error, 'still failing while the port is held');
    assert.is(held.packets.received, 0);
    assert.ok(
      player.states.every((s) => !s.playing),
      'no state said playing',
    );
    assert.is(player.events.filter((e) => e.type === 'stream-bind-failed').length, 1, 'one event per episode');

    // The socket goes away (a DNS query's would within a second): the next try binds.
    const freedAt = Date.now();
    holder.proc.kill('SIGKILL');
    const bound = await player.waitEvent('stream-bound', 5000, freedAt);
    assert.ok((bound.data?.failedMs as number) >= 4000, `failedMs ${bound.data?.failedMs}`);
    const ok = await player.waitState((s) => s.playing === true, 15_000);
    assert.is(ok.stream.error, undefined);
    assert.equal([ok.stream.group, ok.stream.port], [G, P]);
    assert.ok(ok.packets.received > 0, 'packets received');
    assert.is(ok.output.status, 'playing');
  } finally {
    holder.proc.kill('SIGKILL');
    await player?.stop();
    await src.stop();
  }
});

test.run();
