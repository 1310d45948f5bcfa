// The player role: resolves its stream (hearth stream id, SAP name, or explicit group:port), joins
// the group (RTP on port, RTCP on port + 1, SAP on the group's 9875 too), feeds every datagram to
// the Playout with its arrival wall time, and runs the output loop into the DAC sink. Commands:
// subscribe (live switch), volume, mute. State every 2 s and on change; events for the DAC
// (sink-lost/-restored), the stream (found/lost/switched/unavailable), resyncs, and the output
// (what reaches the DAC: playing, late, silent, buffering, idle, sink-lost/-stalled; judged by
// the OutputMonitor every 500 ms, and the source of `playing` and `syncErrorUs`).
import type { RoleFactory } from '../../core/role.ts';
import type { TimerHandle } from '../../core/clock.ts';
import { ProtocolError } from '../../../protocol/envelope.ts';
import { LATENCY_MS_DEFAULT, streamChoiceErrors, type PlayerLevel, type PlayerState, type playerSpec } from '../../../protocol/roles/player.ts';
import type { AudioSink } from '../../hal/audio-out.ts';
import type { StreamFormat } from '../types.ts';
import { Playout } from '../engine/playout.ts';
import { DacClock } from '../engine/dac-clock.ts';
import { OutputLoop } from '../engine/output-loop.ts';
import { OutputMonitor, type OutputReport } from '../engine/output-monitor.ts';
import { LevelMeter } from '../level.ts';
import { meteredSink } from './metered-sink.ts';
import { ClockWatch, houseTimeServed } from '../../clock/role-clock.ts';
import { Discovery, type StreamChoiceArgs, type StreamEntry } from './discovery.ts';
import { openReceiver, type MulticastReceiver } from '../net.ts';

type StreamInfo = PlayerState['stream'];

/** The player publishes its state this often (and on every change); the level covers one such interval. */
const STATE_EVERY_MS = 2000;

/** A subscribe request's stream choice, by the spec's rules (the config's are checked with the config). */
function checkChoice(c: StreamChoiceArgs & { format?: unknown }): void {
  const errors = streamChoiceErrors(c);
  if (errors.length) throw new ProtocolError('invalid', errors.map((e) => e.message).join('; '), errors);
}

interface Choice { stream?: string; sap?: string; group?: string; port?: number; format?: { rate: 44100 | 48000; channels: 1 | 2; payloadType: number }; ssrc?: number }

function pickChoice(c: Choice): Choice {
  const pin = c.ssrc !== undefined ? { ssrc: c.ssrc } : {};
  return c.stream !== undefined ? { stream: c.stream, ...pin } : c.sap !== undefined ? { sap: c.sap, ...pin } : { group: c.group, port: c.port, ...(c.format ? { format: c.format } : {}), ...pin };
}

export const createPlayerRole: RoleFactory<typeof playerSpec> = (deps) => {
  let config = deps.config;
  let choice: Choice = {};
  let stopped = false;
  let sink: AudioSink | undefined;
  let loop: OutputLoop | undefined;
  let playout: Playout | undefined;
  let discovery: Discovery | undefined;
  let rtp: MulticastReceiver | undefined;
  let rtcp: MulticastReceiver | undefined;
  let joined: { group: string; port: number; entry: StreamEntry | undefined } | undefined;
  let sender: string | null = null;
  let lastPacketMs = -Infinity;
  let live = false;
  const monitor = new OutputMonitor();
  let report: OutputReport = { status: 'idle', reason: null, audible: 0, leadMs: null, syncErrorUs: null };
  let watchTimer: TimerHandle | undefined;
  // A player whose house clock is less sure than sync needs says so (state.clock.sufficient, events).
  const clockWatch = new ClockWatch(deps.clock, (ok, c) => {
    if (ok) deps.link.publishEvent('clock-sure', `house clock within ±${c.uncertaintyUs} µs again (need ±${c.maxUncertaintyUs})`);
    else deps.link.publishEvent('clock-unsure', `house clock uncertain by ±${c.uncertaintyUs} µs (need ±${c.maxUncertaintyUs}; ${c.state}, reference ${c.reference} last reached ${c.lastReachedS ?? '?'} s ago): rooms may be that far apart`);
    publishState();
  });
  let resyncsSeen = 0;
  let volume = config.volume ?? 1;
  let muted = config.muted ?? false;
  let stateTimer: TimerHandle | undefined;
  // The level written to the DAC over the last state interval (STATE_EVERY_MS), read at each tick.
  let meter: LevelMeter | undefined;
  let level: PlayerLevel | undefined;
  let joinChain: Promise<void> = Promise.resolve();

  const outRate = () => config.output?.rate ?? 48000;
  const outChannels = () => config.output?.channels ?? 2;
  const latencyMs = () => config.latencyMs ?? LATENCY_MS_DEFAULT;
  const trimMs = () => config.trimMs ?? 0;

  function choiceId(c: Choice): string { return c.stream ?? c.sap ?? `${c.group}:${c.port}`; }

  function streamInfo(): StreamInfo {
    const by = choice.stream !== undefined ? 'stream' : choice.sap !== undefined ? 'sap' : 'explicit';
    const e = joined?.entry;
    return {
      by, id: choiceId(choice), name: e?.name ?? null, group: joined?.group ?? null, port: joined?.port ?? null,
      origin: !joined ? 'none' : by === 'explicit' && !e ? 'explicit' : e?.origin === 'sap' ? 'sap' : e?.origin === 'mqtt' ? 'mqtt' : 'config',
    };
  }

  function makeSink(): AudioSink {
    const out = config.output ?? {};
    const device = out.device ?? 'default';
    const opts = { device, clock: deps.clock, log: deps.log, bufferMs: out.bufferMs };
    if (deps.hal.audioOut) return deps.hal.audioOut(opts);
    if (out.kind === 'sim') return simSink!(opts, out.simPpm ?? 0);
    return speakerSink!(opts);
  }
  // Loaded in start() so a device without a player never loads them.
  let simSink: ((o: Parameters<NonNullable<typeof deps.hal.audioOut>>[0], ppm: number) => AudioSink) | undefined;
  let speakerSink: ((o: Parameters<NonNullable<typeof deps.hal.audioOut>>[0]) => AudioSink) | undefined;

  function newPlayout(format: StreamFormat | undefined): Playout {
    const p = new Playout({ clock: deps.clock, latencyMs: latencyMs(), trimMs: trimMs(), outputRate: outRate(), outputChannels: outChannels(), ...(format ? { format } : {}) });
    p.setVolume(volume, 0);
    p.setMuted(muted);
    if (choice.ssrc !== undefined) p.pinSsrc(choice.ssrc);
    return p;
  }

  /** What the current choice resolves to now: group, port, format (or undefined: not known yet). */
  function resolve(): { group: string; port: number; format: StreamFormat | undefined; entry: StreamEntry | undefined } | undefined {
    if (choice.group && choice.port) {
      const entry = discovery?.table.resolve(choice);
      const f = choice.format ? { encoding: 'L16' as const, ...choice.format } : entry?.format;
      return { group: choice.group, port: choice.port, format: f, entry };
    }
    const entry = discovery?.table.resolve(choice);
    if (!entry || !entry.enabled) return undefined;
    return { group: entry.group, port: entry.port, format: entry.format, entry };
  }

  async function leave(): Promise<void> {
    const a = rtp, b = rtcp;
    rtp = undefined; rtcp = undefined; joined = undefined; sender = null; live = false;
    await Promise.all([a?.close(), b?.close()]);
  }

  /** (Re)joins whatever the choice resolves to; serialised so switches never interleave. */
  function rejoin(reason: 'start' | 'switch' | 'table'): Promise<void> {
    joinChain = joinChain.then(() => doRejoin(reason)).catch((e) => { deps.log.error(`joining the stream failed: ${(e as Error).message}`); });
    return joinChain;
  }

  async function doRejoin(reason: 'start' | 'switch' | 'table'): Promise<void> {
    if (stopped) return;
    const r = resolve();
    if (joined && r && joined.group === r.group && joined.port === r.port && reason === 'table') {
      joined.entry = r.entry;
      if (r.format && playout && !playout.stats().format) playout.setFormat(r.format);
      return;
    }
    if (!r && joined && reason === 'table') return; // keep playing what we have until told otherwise
    const before = joined ? `${joined.group}:${joined.port}` : null;
    await leave();
    playout = newPlayout(r?.format);
    loop?.setRenderer(playout);
    resyncsSeen = 0;
    if (!r) {
      deps.link.publishEvent('stream-unavailable', `stream ${choiceId(choice)} is not announced (yet); waiting for it`);
      publishState();
      return;
    }
    const p = playout;
    const onRtp = (d: { data: Buffer; from: string }) => {
      if (playout !== p) return;
      lastPacketMs = deps.clock.now();
      sender = d.from;
      p.pushRtp(d.data, deps.clock.wall());
    };
    const newRtp = await openReceiver({ group: r.group, port: r.port, iface: config.interface, onMessage: onRtp, onError: (e) => deps.log.warn(`RTP socket: ${e.message}`) });
    const newRtcp = await openReceiver({ group: r.group, port: r.port + 1, iface: config.interface, onMessage: (d) => { if (playout === p && houseTimeServed(deps.clock)) p.pushRtcp(d.data, deps.clock.wall()); }, onError: (e) => deps.log.warn(`RTCP socket: ${e.message}`) });
    if (stopped) { await newRtp.close(); await newRtcp.close(); return; }
    rtp = newRtp; rtcp = newRtcp;
    joined = { group: r.group, port: r.port, entry: r.entry };
    lastPacketMs = -Infinity;
    if (config.sapListen ?? true) void discovery?.listenSap(r.group);
    const now = `${r.group}:${r.port}`;
    deps.log.info(`listening to ${choiceId(choice)} on ${now}`);
    if (reason !== 'start' && before !== now) deps.link.publishEvent('stream-switched', `now playing ${choiceId(choice)} (${now})`, { ...(before ? { from: before } : {}), to: now });
    publishState();
  }

  function watch(): void {
    clockWatch.check();
    const now = deps.clock.now();
    const s = playout?.stats();
    if (s && s.resyncs > resyncsSeen) {
      resyncsSeen = s.resyncs;
      deps.link.publishEvent('resync', `re-synchronised to the sender${s.ssrc !== null ? ` (SSRC ${s.ssrc})` : ''}`, s.ssrc !== null ? { ssrc: s.ssrc } : {});
    }
    const arriving = now - lastPacketMs < 2000;
    let changed = false;
    if (arriving !== live) {
      live = arriving;
      changed = true;
      if (live) deps.link.publishEvent('stream-found', `packets arriving from ${sender ?? '?'}`);
      else if (joined) deps.link.publishEvent('stream-lost', `no packets on ${joined.group}:${joined.port} for 2 s`);
    }
    const prev = report.status;
    report = monitor.report(now, live, sink?.status() ?? 'closed', sink?.lastError() ?? null);
    if (report.status !== prev) {
      changed = true;
      deps.link.publishEvent('output', `output ${report.status}${report.reason ? `: ${report.reason}` : ''}`, { status: report.status, previous: prev });
    }
    if (changed) publishState();
  }

  function state(): PlayerState {
    const s = playout?.stats();
    const clockNow = clockWatch.status();
    return {
      stream: streamInfo(), playing: report.status === 'playing', sender, ssrc: s?.ssrc ?? null, format: s?.format ?? null,
      latencyMs: latencyMs(), trimMs: trimMs(), bufferMs: s?.bufferMs ?? 0,
      driftPpm: loop ? loop.dacClock().ppm() : 0, senderDriftPpm: s?.senderDriftPpm ?? 0, timing: s?.timingSource ?? null, syncErrorUs: report.syncErrorUs,
      output: {
        status: report.status, reason: report.reason, audiblePct: Math.round(report.audible * 1000) / 10, leadMs: report.leadMs,
        lateBlocks: monitor.lateBlocks, droppedBlocks: monitor.droppedBlocks, silentMs: (monitor.silentFrames * 1000) / outRate(),
      },
      packets: { received: s?.received ?? 0, lost: s?.lost ?? 0, late: s?.late ?? 0, duplicates: s?.duplicates ?? 0, concealed: s?.concealed ?? 0, malformed: s?.malformed ?? 0, wrongPt: s?.wrongPt ?? 0, foreignSsrc: s?.foreignSsrc ?? 0 },
      underruns: s?.underruns ?? 0, resyncs: s?.resyncs ?? 0, volume, muted,
      sink: { kind: sink?.kind ?? 'none', device: sink?.device ?? '', status: sink?.status() ?? 'closed', error: sink?.lastError() ?? null, lostCount: sink?.lostCount() ?? 0 },
      ...(level ? { level } : {}),
      ...(clockNow ? { clock: clockNow } : {}),
    };
  }

  function publishState(): void { if (!stopped) deps.link.publishState(state()); }

  return {
    async start() {
      stopped = false;
      choice = pickChoice(config);
      if (!deps.hal.audioOut) {
        if (config.output?.kind === 'sim') {
          const { createSimDac } = await import('../../hal/audio-out.sim.ts');
          simSink = (o, ppm) => createSimDac({ ...o, ppm });
        } else {
          const { createSpeakerSink } = await import('../../hal/audio-out.speaker.ts');
          speakerSink = (o) => createSpeakerSink(o);
        }
      }
      sink = meteredSink(makeSink(), () => meter);
      sink.listen({
        lost: (error) => { deps.link.publishEvent('sink-lost', `audio device ${sink!.device} lost: ${error}`, { error }); publishState(); },
        restored: (lostMs) => { deps.link.publishEvent('sink-restored', `audio device ${sink!.device} is back after ${(lostMs / 1000).toFixed(1)} s`, { lostMs }); publishState(); },
      });
      await sink.open({ rate: outRate(), channels: outChannels() });
      if (stopped) { await sink.close(); return; }
      meter = new LevelMeter(outChannels(), deps.clock.now());
      const bufferMs = sink.bufferMs;
      const blockMs = Math.min(5, bufferMs / 4);
      // Wake-ups cost more than rendering: tick at a quarter of the device buffer (2.5–20 ms).
      const tickMs = Math.min(20, Math.max(2.5, bufferMs / 4));
      loop = new OutputLoop({ clock: deps.clock, sink, rate: outRate(), channels: outChannels(), blockFrames: Math.max(16, Math.round((outRate() * blockMs) / 1000)), tickMs, newDacClock: () => new DacClock(outRate()), monitor });
      loop.start();
      discovery = new Discovery({ clock: deps.clock, log: deps.log, link: deps.link, iface: config.interface, sap: config.sapListen ?? true });
      await discovery.start();
      if (config.sapListen ?? true) for (const g of config.sapGroups ?? []) await discovery.listenSap(g);
      discovery.table.onChange(() => { void rejoin('table'); });
      await rejoin('start');
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
      if (!same(next.output, config.output) || next.latencyMs !== config.latencyMs || next.trimMs !== config.trimMs || next.interface !== config.interface || next.sapListen !== config.sapListen || !same(next.sapGroups, config.sapGroups)) {
        config = next;
        return 'restart';
      }
      const prevChoice = pickChoice(config);
      config = next;
      if (next.volume !== undefined) { volume = next.volume; playout?.setVolume(volume, 50); }
      if (next.muted !== undefined) { muted = next.muted; playout?.setMuted(muted); }
      if (!same(pickChoice(next), prevChoice)) { choice = pickChoice(next); await rejoin('switch'); }
      publishState();
      return 'applied';
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      deps.clock.clearInterval(stateTimer);
      deps.clock.clearInterval(watchTimer);
      loop?.stop();
      await joinChain;
      await leave();
      await discovery?.stop();
      await sink?.close();
    },

    commands: {
      async subscribe(args) {
        checkChoice(args);
        choice = pickChoice(args);
        await rejoin('switch');
        return streamInfo();
      },
      async volume(args) {
        volume = args.gain;
        playout?.setVolume(volume, args.rampMs ?? 50);
        publishState();
      },
      async mute(args) {
        muted = args.muted;
        playout?.setMuted(muted);
        publishState();
      },
      async streams() {
        const streams = (discovery?.table.all() ?? []).map((e) => ({
          choose: e.device && e.stream ? { stream: `${e.device}/${e.stream}` } : { sap: e.name },
          origin: e.origin, name: e.name, group: e.group, port: e.port,
          format: { encoding: 'L16' as const, rate: e.format.rate, channels: e.format.channels, payloadType: e.format.payloadType },
          enabled: e.enabled, sender: e.sender,
        }));
        return { streams: streams.sort((a, b) => a.name.localeCompare(b.name)) };
      },
    },

    telemetry() {
      const s = state();
      return {
        received: s.packets.received, lost: s.packets.lost, late: s.packets.late, concealed: s.packets.concealed,
        underruns: s.underruns, resyncs: s.resyncs, bufferMs: s.bufferMs, driftPpm: s.driftPpm,
        ...(s.syncErrorUs !== null ? { syncErrorUs: s.syncErrorUs } : {}),
        sinkOpen: s.sink.status === 'open' ? 1 : 0, playing: s.playing ? 1 : 0, lateBlocks: s.output.lateBlocks, silentMs: s.output.silentMs,
        ...(s.clock?.uncertaintyUs !== undefined ? { clockUncertaintyUs: s.clock.uncertaintyUs, clockSufficient: s.clock.sufficient ? 1 : 0 } : {}),
      };
    },
  };
};
