// The player role: resolves its stream (hearth stream id, SAP name, or explicit group:port), joins
// the group (RTP on port, RTCP on port + 1, SAP on the group's 9875 too), feeds every datagram to
// the Playout with its arrival wall time, and runs the output loop into the DAC sink. Commands:
// subscribe (live switch), volume, mute. State every 2 s and on change; events for the DAC
// (sink-lost/-restored), the stream (found/lost/switched/unavailable), resyncs, and the output
// (what reaches the DAC: playing, late, silent, buffering, idle, sink-lost/-stalled; judged by
// the OutputMonitor every 500 ms, and the source of `playing` and `syncErrorUs`).
// The parts: join.ts (the stream choice, its sockets and switches), watch.ts (found/lost, resyncs
// and the output verdict, every 500 ms), state.ts (state and telemetry); the DAC is opened by hal/open.ts; this
// file wires them and holds the config, volume and mute.
import type { RoleFactory } from '../../core/role.ts';
import type { TimerHandle } from '../../core/clock.ts';
import { ProtocolError } from '../../../protocol/envelope.ts';
import {
  LATENCY_MS_DEFAULT,
  streamChoiceErrors,
  type PlayerLevel,
  type PlayerState,
  type playerSpec,
} from '../../../protocol/roles/player.ts';
import type { AudioSink } from '../../hal/audio-out.ts';
import { Playout } from '../engine/playout.ts';
import { DacClock } from '../engine/dac-clock.ts';
import { OutputLoop } from '../engine/output-loop.ts';
import { OutputMonitor } from '../engine/output-monitor.ts';
import { ClockWatch } from '../../clock/role-clock.ts';
import { Discovery, type StreamChoiceArgs } from './discovery.ts';
import { StreamJoin, pickChoice } from './join.ts';
import { PlayerWatch } from './watch.ts';
import { playerState, playerTelemetry } from './state.ts';
import { openAudioOut } from '../../hal/open.ts';
import { LevelMeter } from '../level.ts';
import { meteredSink } from './metered-sink.ts';

/** The player publishes its state this often (and on every change); the level covers one such interval. */
const STATE_EVERY_MS = 2000;

/** A subscribe request's stream choice, by the spec's rules (the config's are checked with the config). */
function checkChoice(c: StreamChoiceArgs & { format?: unknown }): void {
  const errors = streamChoiceErrors(c);
  if (errors.length) throw new ProtocolError('invalid', errors.map((e) => e.message).join('; '), errors);
}

export const createPlayerRole: RoleFactory<typeof playerSpec> = (deps) => {
  let config = deps.config;
  let stopped = false;
  let sink: AudioSink | undefined;
  let loop: OutputLoop | undefined;
  let discovery: Discovery | undefined;
  const monitor = new OutputMonitor();
  const watcher = new PlayerWatch(monitor);
  let watchTimer: TimerHandle | undefined;
  // A player whose house clock is less sure than sync needs says so (state.clock.sufficient, events).
  const clockWatch = new ClockWatch(deps.clock, (ok, c) => {
    if (ok) deps.link.publishEvent('clock-sure', `house clock within ±${c.uncertaintyUs} µs again (need ±${c.maxUncertaintyUs})`);
    else
      deps.link.publishEvent(
        'clock-unsure',
        `house clock uncertain by ±${c.uncertaintyUs} µs (need ±${c.maxUncertaintyUs}; ${c.state}, reference ${c.reference} last reached ${c.lastReachedS ?? '?'} s ago): rooms may be that far apart`,
      );
    publishState();
  });
  let volume = config.volume ?? 1;
  let muted = config.muted ?? false;
  let stateTimer: TimerHandle | undefined;
  // The level written to the DAC over the last state interval (STATE_EVERY_MS), read at each tick.
  let meter: LevelMeter | undefined;
  let level: PlayerLevel | undefined;

  const outRate = () => config.output?.rate ?? 48000;
  const outChannels = () => config.output?.channels ?? 2;
  const latencyMs = () => config.latencyMs ?? LATENCY_MS_DEFAULT;
  const trimMs = () => config.trimMs ?? 0;
  const sapListen = () => config.sapListen ?? true;

  const join = new StreamJoin({
    clock: deps.clock,
    log: deps.log,
    link: deps.link,
    iface: () => config.interface,
    sapListen,
    discovery: () => discovery,
    newPlayout(format) {
      const p = new Playout({
        clock: deps.clock,
        latencyMs: latencyMs(),
        trimMs: trimMs(),
        outputRate: outRate(),
        outputChannels: outChannels(),
        ...(format ? { format } : {}),
      });
      p.setVolume(volume, 0);
      p.setMuted(muted);
      if (join.choice.ssrc !== undefined) p.pinSsrc(join.choice.ssrc);
      loop?.setRenderer(p);
      watcher.newPlayout();
      return p;
    },
    left: () => watcher.left(),
    changed: () => publishState(),
    stopped: () => stopped,
  });

  function watch(): void {
    clockWatch.check();
    const s = join.playout?.stats();
    const changed = watcher.tick(
      {
        now: deps.clock.now(),
        lastPacketMs: join.lastPacketMs,
        sender: join.sender,
        joined: join.joined,
        playout: s ? { resyncs: s.resyncs, ssrc: s.ssrc } : undefined,
        sink: { status: sink?.status() ?? 'closed', error: sink?.lastError() ?? null, underruns: sink?.underruns?.() },
      },
      deps.link.publishEvent,
    );
    if (changed) publishState();
  }

  function state(): PlayerState {
    return playerState({
      stream: join.info(),
      sender: join.sender,
      stats: join.playout?.stats(),
      report: watcher.report,
      monitor,
      sink,
      driftPpm: loop ? loop.dacWallPpm() : 0,
      latencyMs: latencyMs(),
      trimMs: trimMs(),
      outRate: outRate(),
      volume,
      muted,
      clock: clockWatch.status(),
      level,
    });
  }

  function publishState(): void {
    if (!stopped) deps.link.publishState(state());
  }

  /** The DAC and the output loop that feeds it (ticking at a quarter of the device buffer). */
  async function openOutput(): Promise<boolean> {
    const s = meteredSink(await openAudioOut(config.output ?? {}, deps), () => meter);
    sink = s;
    s.listen({
      lost: (error) => {
        deps.link.publishEvent('sink-lost', `audio device ${s.device} lost: ${error}`, { error });
        publishState();
      },
      restored: (lostMs) => {
        deps.link.publishEvent('sink-restored', `audio device ${s.device} is back after ${(lostMs / 1000).toFixed(1)} s`, { lostMs });
        publishState();
      },
    });
    await s.open({ rate: outRate(), channels: outChannels() });
    if (stopped) {
      await s.close();
      return false;
    }
    meter = new LevelMeter(outChannels(), deps.clock.now());
    const bufferMs = s.bufferMs;
    const blockMs = Math.min(5, bufferMs / 4);
    // Wake-ups cost more than rendering: tick at a quarter of the device buffer (2.5–20 ms).
    const tickMs = Math.min(20, Math.max(2.5, bufferMs / 4));
    loop = new OutputLoop({
      clock: deps.clock,
      sink: s,
      rate: outRate(),
      channels: outChannels(),
      blockFrames: Math.max(16, Math.round((outRate() * blockMs) / 1000)),
      tickMs,
      newDacClock: () => new DacClock(outRate()),
      monitor,
    });
    loop.start();
    return true;
  }

  return {
    async start() {
      stopped = false;
      join.choice = pickChoice(config);
      if (!(await openOutput())) return;
      discovery = new Discovery({ clock: deps.clock, log: deps.log, link: deps.link, iface: config.interface, sap: sapListen() });
      await discovery.start();
      if (sapListen()) for (const g of config.sapGroups ?? []) await discovery.listenSap(g);
      discovery.table.onChange(() => {
        void join.rejoin('table');
      });
      await join.rejoin('start');
      if (stopped) return; // stopped while joining: no timer may outlive stop()
      stateTimer = deps.clock.setInterval(() => {
        if (meter) level = meter.take(deps.clock.now());
        publishState();
      }, STATE_EVERY_MS);
      watchTimer = deps.clock.setInterval(watch, 500);
    },

    async apply(next) {
      const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
      // Output, latency and interface changes rebuild the pipeline; stream choice, volume and mute apply live.
      if (
        !same(next.output, config.output) ||
        next.latencyMs !== config.latencyMs ||
        next.trimMs !== config.trimMs ||
        next.interface !== config.interface ||
        next.sapListen !== config.sapListen ||
        !same(next.sapGroups, config.sapGroups)
      ) {
        config = next;
        return 'restart';
      }
      const prevChoice = pickChoice(config);
      config = next;
      if (next.volume !== undefined) {
        volume = next.volume;
        join.playout?.setVolume(volume, 50);
      }
      if (next.muted !== undefined) {
        muted = next.muted;
        join.playout?.setMuted(muted);
      }
      if (!same(pickChoice(next), prevChoice)) {
        join.choice = pickChoice(next);
        await join.rejoin('switch');
      }
      publishState();
      return 'applied';
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      deps.clock.clearInterval(stateTimer);
      deps.clock.clearInterval(watchTimer);
      loop?.stop();
      await join.close();
      await discovery?.stop();
      await sink?.close();
    },

    commands: {
      async subscribe(args) {
        checkChoice(args);
        join.choice = pickChoice(args);
        await join.rejoin('switch');
        return join.info();
      },
      async volume(args) {
        volume = args.gain;
        join.playout?.setVolume(volume, args.rampMs ?? 50);
        publishState();
      },
      async mute(args) {
        muted = args.muted;
        join.playout?.setMuted(muted);
        publishState();
      },
      async streams() {
        const streams = (discovery?.table.all() ?? []).map((e) => ({
          choose: e.device && e.stream ? { stream: `${e.device}/${e.stream}` } : { sap: e.name },
          origin: e.origin,
          name: e.name,
          group: e.group,
          port: e.port,
          format: { encoding: 'L16' as const, rate: e.format.rate, channels: e.format.channels, payloadType: e.format.payloadType },
          enabled: e.enabled,
          sender: e.sender,
        }));
        return { streams: streams.sort((a, b) => a.name.localeCompare(b.name)) };
      },
    },

    telemetry() {
      return playerTelemetry(state());
    },
  };
};
