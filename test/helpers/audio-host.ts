// A child process hosting one audio role (player or source) with a real clock, real sockets and a
// simulated DAC, driven over IPC by test/helpers/audio-hosts.ts. Runs inside a network namespace
// (`ip netns exec` keeps the IPC descriptor), so multicast stays in the namespace.
//
// parent → child: {t:'start', role, id, config, clockPpm?, dac?: {ppm, bufferMs, mirror?: {device, env}}}
//                 {t:'cmd', rid, action, args} {t:'records', rid, since?} {t:'unplug'} {t:'plug'}
//                 {t:'stream', device, stream, announcement} (another host's announcement) {t:'stop'}
// child → parent: {t:'started'} {t:'state', detail} {t:'event', type, message, data}
//                 {t:'stream', device, stream, announcement} {t:'reply', rid, ok, result?, error?}
//                 {t:'records', rid, records, underruns} {t:'failed', error} {t:'usage', cpuUs, rssMb}
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { RealClock, type Clock } from '../../device/core/clock.ts';
import { SkewedClock } from './skewed-clock.ts';
import { createLogger } from '../../device/core/log.ts';
import type { Role, RoleLink } from '../../device/core/role.ts';
import type { StreamAnnouncement } from '../../protocol/messages.ts';
import { createSimDac, type SimDac } from '../../device/hal/audio-out.sim.ts';
import { createSpeakerSink } from '../../device/hal/audio-out.speaker.ts';
import { ProtocolError } from '../../protocol/envelope.ts';
import type { RoleSpec } from '../../protocol/role-spec.ts';
import { playerSpec } from '../../protocol/roles/player.ts';
import { sourceSpec } from '../../protocol/roles/source.ts';
import { dispatchCommand } from '../../device/core/requests.ts';

type Msg =
  | {
      t: 'start';
      role: 'player' | 'source';
      id: string;
      config: Record<string, unknown>;
      clockPpm?: number;
      dac?: { ppm: number; bufferMs?: number; absent?: boolean; mirror?: { device: string; env: Record<string, string> } };
    }
  | { t: 'cmd'; rid: number; action: string; args: Record<string, unknown> }
  | { t: 'records'; rid: number; since?: number }
  | { t: 'unplug' }
  | { t: 'plug' }
  | { t: 'stop' }
  | { t: 'stream'; device: string; stream: string; announcement: StreamAnnouncement | null };

const send = (m: unknown) => {
  if (process.connected) process.send!(m);
};
let clock: Clock = new RealClock();
const log = createLogger({
  level: (process.env.HEARTH_TEST_LOG as 'debug') || 'warn',
  format: 'json',
  sink: { write: (l) => process.stderr.write(l) },
});
let role: Role | undefined;
let spec: RoleSpec | undefined;
let dac: SimDac | undefined;
const watchers = new Set<(d: string, s: string, a: StreamAnnouncement | null) => void>();
const known = new Map<string, { device: string; stream: string; a: StreamAnnouncement | null }>();

const link: RoleLink = {
  publishState: (detail) => send({ t: 'state', detail }),
  publishEvent: (type, message, data) => send({ t: 'event', type, message, data }),
  publishStream: (stream, announcement) => send({ t: 'stream', device: hostId, stream, announcement }),
  watchStreams(h) {
    watchers.add(h);
    for (const k of known.values()) h(k.device, k.stream, k.a); // retained
    return () => watchers.delete(h);
  },
  sendCommand: async () => {
    throw new Error('no commands between hosts in tests');
  },
  connected: true,
};
let hostId = 'host';

process.on('message', async (m: Msg) => {
  try {
    if (m.t === 'start') {
      hostId = m.id;
      if (m.clockPpm) clock = new SkewedClock(clock, m.clockPpm);
      const hal: Record<string, unknown> = {};
      if (m.dac) {
        const d = m.dac;
        hal.audioOut = (o: { device: string }) => {
          const mirror = d.mirror
            ? createSpeakerSink({ device: d.mirror.device, clock, log, env: d.mirror.env, bufferMs: 100, spare: false }) // a mirror: no warm spare
            : undefined;
          dac = createSimDac({
            device: o.device,
            clock,
            log,
            ppm: d.ppm,
            bufferMs: d.bufferMs ?? 20,
            mirror,
            retryMinMs: 100,
            retryMaxMs: 500,
          });
          if (d.absent) dac.unplug('no such device'); // the DAC is not there when the player starts
          return dac;
        };
      }
      spec = m.role === 'player' ? playerSpec : sourceSpec;
      const factory =
        m.role === 'player'
          ? (await import('../../device/audio/player/role.ts')).createPlayerRole
          : (await import('../../device/audio/source/role.ts')).createSourceRole;
      role = factory({
        device: { id: m.id, baseTopic: 'hearth', stateDir: '/tmp' },
        config: m.config as never,
        clock,
        log,
        link,
        hal,
        fail: (e) => send({ t: 'failed', error: e.message }),
      });
      await role.start();
      send({ t: 'started' });
    } else if (m.t === 'cmd') {
      try {
        send({ t: 'reply', rid: m.rid, ok: true, result: await dispatchCommand(spec!, role!, m.action, m.args) });
      } catch (e) {
        send({
          t: 'reply',
          rid: m.rid,
          ok: false,
          error: { code: e instanceof ProtocolError ? e.code : 'internal', message: (e as Error).message },
        });
      }
    } else if (m.t === 'records') {
      const all = dac?.records ?? [];
      send({
        t: 'records',
        rid: m.rid,
        records: m.since ? all.filter((r) => r.wallMs >= m.since!) : all,
        underruns: dac?.underruns() ?? 0,
        underrunAt: dac?.underrunTimes() ?? [],
      });
    } else if (m.t === 'unplug') dac?.unplug('USB DAC gone');
    else if (m.t === 'plug') dac?.plug();
    else if (m.t === 'stream') {
      known.set(`${m.device}/${m.stream}`, { device: m.device, stream: m.stream, a: m.announcement });
      for (const h of watchers) h(m.device, m.stream, m.announcement);
    } else if (m.t === 'stop') {
      await role?.stop();
      send({ t: 'stopped' });
      setTimeout(() => process.exit(0), 50);
    }
  } catch (e) {
    send({ t: 'failed', error: (e as Error).stack ?? String(e) });
  }
});

let lastCpu = process.cpuUsage();
// The event-loop lag monitor is a 1 kHz timer of its own: only when asked (HEARTH_AUDIO_LAG=1).
const lag = monitorEventLoopDelay({ resolution: 1 });
if (process.env.HEARTH_AUDIO_LAG) lag.enable();
setInterval(() => {
  const c = process.cpuUsage();
  send({
    t: 'usage',
    cpuUs: c.user + c.system - lastCpu.user - lastCpu.system,
    rssMb: process.memoryUsage().rss / 1e6,
    maxLagMs: process.env.HEARTH_AUDIO_LAG ? lag.max / 1e6 : NaN,
  });
  lag.reset();
  lastCpu = c;
}, 1000).unref();
process.on('disconnect', () => process.exit(0));
send({ t: 'ready' });
