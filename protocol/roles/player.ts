// player: one multicast RTP stream in → jitter buffer → drift-corrected resampling → DAC, every
// player of a stream playing RTP sample T at the same wall-clock instant (wall(T) + latency + trim).
// The stream is chosen by hearth stream id, by SAP session name, or by explicit group:port+format;
// `subscribe` switches it live.
import { Type, Obj, Ipv4, Port, type Static } from '../kit.ts';
import { defineRole } from '../role-spec.ts';
import type { ErrorDetail } from '../envelope.ts';
import { ClockStatusFields } from '../clock.ts';
import { playerEntities } from './player-ha.ts';

export const Rate = Type.Union([Type.Literal(44100), Type.Literal(48000)], { description: 'sample rate (Hz)' });
export const Channels = Type.Union([Type.Literal(1), Type.Literal(2)], { description: 'channels' });

export const ExplicitFormat = Obj(
  {
    rate: Rate,
    channels: Channels,
    payloadType: Type.Integer({
      minimum: 0,
      maximum: 127,
      description: 'RTP payload type (10 = 44.1 kHz stereo, 11 = 44.1 kHz mono, dynamic 96–127)',
    }),
  },
  { description: 'L16 big-endian stream format, when no SDP describes it' },
);

/**
 * Stream ports (RTP and RTCP = port + 1) stay below this, the start of IANA's dynamic range: the
 * image sets net.ipv4.ip_local_port_range to 49152–65535 (images/rootfs/usr/lib/sysctl.d), so no
 * socket bound to an ephemeral port (a DNS query, the house-clock client, a sender) can take a
 * stream's port before its players bind it. Linux's default range (32768–60999) does not keep
 * that promise; there the player retries a taken port (device/audio/player/join.ts).
 */
export const STREAM_PORT_LIMIT = 49152;

/** Why an RTP port is refused for a stream (undefined: it is fine). */
export function streamPortError(port: number): string | undefined {
  if (port + 1 < STREAM_PORT_LIMIT) return undefined;
  return `RTP port ${port} (RTCP ${port + 1}) must be below ${STREAM_PORT_LIMIT}, at most ${STREAM_PORT_LIMIT - 2}: ${STREAM_PORT_LIMIT}–65535 is where the kernel picks ephemeral ports (hearth's image sets net.ipv4.ip_local_port_range to it), so any socket could hold the stream's port before its players bind it`;
}

/** How a player names its stream: exactly one of stream, sap, or group+port. */
export const StreamChoice = {
  stream: Type.Optional(
    Type.String({
      pattern: '^([A-Za-z0-9_-]{1,64}/)?[A-Za-z0-9_-]{1,64}$',
      description: 'hearth stream: "<device>/<stream>" or a stream id announced on hearth/streams/#',
    }),
  ),
  sap: Type.Optional(
    Type.String({ minLength: 1, maxLength: 128, description: 'SAP/SDP session name (s=), e.g. a PulseAudio or PipeWire RTP sender' }),
  ),
  group: Type.Optional(Ipv4('explicit multicast group (with port; format from PT 10/11 or `format`)')),
  port: Type.Optional(Port('explicit RTP port (at most 49150; RTCP uses port + 1)')),
  format: Type.Optional(ExplicitFormat),
  ssrc: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 4294967295,
      description:
        'play only this sender (RTP SSRC) of the stream. Default: the first sender heard; another takes over only once it has been silent for 100 ms (two senders on one group and port never alternate)',
    }),
  ),
};

/** Audio a sink keeps queued ahead of the DAC by default (ms): speaker (ALSA) and the simulated DAC. */
export const OUTPUT_BUFFER_MS_DEFAULT = { speaker: 40, sim: 20 } as const;

export const PlayerOutput = Obj(
  {
    kind: Type.Optional(
      Type.Union([Type.Literal('speaker'), Type.Literal('sim')], {
        description: '"speaker" (ALSA through the speaker module, default) or "sim" (simulated DAC, for the house in a box)',
      }),
    ),
    device: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        pattern: '^[A-Za-z0-9_:=,.-]+$',
        description:
          'ALSA device (default "default"; HiFiBerry DAC on the image: "hw:CARD=hifiberrydac", also ALSA\'s default there; or a dmix/plug name)',
      }),
    ),
    rate: Type.Optional(Rate),
    channels: Type.Optional(Channels),
    bufferMs: Type.Optional(
      Type.Number({
        minimum: 5,
        maximum: 1000,
        description: `audio the sink keeps queued ahead of the DAC (default ${OUTPUT_BUFFER_MS_DEFAULT.speaker} ms for speaker, ${OUTPUT_BUFFER_MS_DEFAULT.sim} for sim); must be at least 5 ms below latencyMs. Any ALSA device works: the player reads the device's queue (snd_pcm_delay) and never fills a larger ring`,
      }),
    ),
    simPpm: Type.Optional(
      Type.Number({ minimum: -2000, maximum: 2000, description: 'sim only: the simulated DAC rate offset from the wall clock (ppm)' }),
    ),
  },
  { description: 'the DAC' },
);

/** Playout latency after the sender's clock when the config gives none (ms). */
export const LATENCY_MS_DEFAULT = 100;

export const PlayerConfig = Obj(
  {
    ...StreamChoice,
    interface: Type.Optional(Ipv4('address of the interface to join the multicast group on (default: any)')),
    latencyMs: Type.Optional(
      Type.Number({
        minimum: 20,
        maximum: 5000,
        description: "playout latency after the sender's clock (default 100 ms; same on every player of a stream)",
      }),
    ),
    trimMs: Type.Optional(
      Type.Number({
        minimum: -500,
        maximum: 500,
        description: 'per-device output delay trim (DAC/amplifier delay), added to the latency (default 0)',
      }),
    ),
    volume: Type.Optional(Type.Number({ minimum: 0, maximum: 4, description: 'linear gain (default 1)' })),
    muted: Type.Optional(Type.Boolean({ description: 'start muted (default false)' })),
    sapListen: Type.Optional(Type.Boolean({ description: 'listen to SAP announcements on 224.0.0.56:9875 (default true)' })),
    sapGroups: Type.Optional(
      Type.Array(Ipv4(), {
        maxItems: 16,
        description:
          'more groups to hear SAP on (port 9875): PulseAudio announces to its destination_ip, so a sender on 239.255.0.1 is found by listing it here',
      }),
    ),
    output: Type.Optional(PlayerOutput),
  },
  { description: 'multi-room player: multicast RTP L16 → DAC, in sync with every other player' },
);
export type PlayerConfig = Static<typeof PlayerConfig>;

/** The stream choice rules: exactly one of stream, sap, group+port; a format only with group+port; the port below STREAM_PORT_LIMIT. */
export function streamChoiceErrors(c: {
  stream?: unknown;
  sap?: unknown;
  group?: unknown;
  port?: unknown;
  format?: unknown;
}): ErrorDetail[] {
  const kinds = [c.stream !== undefined, c.sap !== undefined, c.group !== undefined || c.port !== undefined].filter(Boolean).length;
  if (kinds !== 1) return [{ path: '', message: 'choose the stream by exactly one of: stream, sap, or group + port' }];
  if ((c.group === undefined) !== (c.port === undefined))
    return [{ path: c.group === undefined ? '/group' : '/port', message: 'group and port go together' }];
  if (c.format !== undefined && c.group === undefined) return [{ path: '/format', message: 'format is only for an explicit group:port' }];
  const portError = typeof c.port === 'number' ? streamPortError(c.port) : undefined;
  if (portError) return [{ path: '/port', message: portError }];
  return [];
}

/** Audio the sink keeps queued ahead of the DAC (ms), defaults applied. */
export function outputBufferMs(c: PlayerConfig): number {
  return c.output?.bufferMs ?? OUTPUT_BUFFER_MS_DEFAULT[c.output?.kind ?? 'speaker'];
}

/**
 * A player config's rules beyond the schema, defaults taken into account: the stream choice, and
 * what the sink keeps queued must have arrived when it is queued, so it must fit in the latency.
 */
export function checkPlayerConfig(c: PlayerConfig): ErrorDetail[] {
  const latency = c.latencyMs ?? LATENCY_MS_DEFAULT;
  const buffer = outputBufferMs(c);
  const out = streamChoiceErrors(c);
  if (buffer + 5 > latency) {
    out.push({
      path: '/output/bufferMs',
      message: `${c.output?.bufferMs === undefined ? `the default of ${buffer} ms` : `${buffer} ms`} must be at least 5 ms below latencyMs (${latency} ms): at most ${latency - 5}`,
    });
  }
  return out;
}

export const PlayerFormat = Obj({
  encoding: Type.Literal('L16'),
  rate: Type.Number(),
  channels: Channels,
  payloadType: Type.Integer(),
});

export const PlayerStreamInfo = Obj({
  by: Type.Union(
    ['stream', 'sap', 'explicit'].map((s) => Type.Literal(s)),
    { description: 'how the stream was chosen' },
  ),
  id: Type.String({ description: 'what was asked for: stream id, SAP name or group:port' }),
  name: Type.Union([Type.String(), Type.Null()], { description: 'session name, once known' }),
  group: Type.Union([Type.String(), Type.Null()], { description: 'multicast group, once resolved' }),
  port: Type.Union([Type.Integer(), Type.Null()]),
  origin: Type.Union(
    ['config', 'sap', 'mqtt', 'explicit', 'none'].map((s) => Type.Literal(s)),
    { description: 'where the address came from' },
  ),
  error: Type.Optional(
    Type.String({
      description:
        "present while the player cannot listen on the stream's ports (e.g. EADDRINUSE: another socket on this host holds the port); it retries every 2 s",
    }),
  ),
});

export const PlayerOutputStatus = Type.Union(
  ['idle', 'buffering', 'playing', 'late', 'silent', 'sink-lost', 'sink-stalled'].map((s) => Type.Literal(s)),
  {
    description:
      "idle: no packets for 2 s; buffering: pre-roll after a join or re-sync; playing: stream audio reaches the DAC; late: the audio arrives after its playout instant, or blocks reach the DAC after it needed them; silent: packets arrive but mostly silence or concealment is written; sink-lost: the DAC is gone; sink-stalled: the DAC's position does not move",
  },
);

/** The floor of a level reading (dBFS): digital silence, or anything quieter, reads this. */
export const LEVEL_FLOOR_DBFS = -120;

export const PlayerLevel = Obj(
  {
    windowMs: Type.Number({ description: 'the span the reading covers: the last state interval (ms)' }),
    frames: Type.Integer({
      minimum: 0,
      description: 'frames written to the DAC in that span (0: nothing reached it, every channel reads the floor)',
    }),
    peakDbfs: Type.Array(Type.Number({ minimum: LEVEL_FLOOR_DBFS, maximum: 0 }), {
      minItems: 1,
      maxItems: 2,
      description: `per channel (left, right): the largest sample written, dB below full scale (0 = full scale, ${LEVEL_FLOOR_DBFS} = silence)`,
    }),
    rmsDbfs: Type.Array(Type.Number({ minimum: LEVEL_FLOOR_DBFS, maximum: 0 }), {
      minItems: 1,
      maxItems: 2,
      description: 'per channel: the RMS of the samples written, dB below a full-scale square wave (a full-scale sine reads −3.0)',
    }),
  },
  {
    description:
      'the audio level actually written to the DAC (after volume and mute, silence and concealment included), from the samples written over the last state interval',
  },
);
export type PlayerLevel = Static<typeof PlayerLevel>;

export const PlayerState = Obj({
  stream: PlayerStreamInfo,
  playing: Type.Boolean({
    description:
      'the stream\'s audio is reaching the DAC: over the last second at least half the frames written were stream audio, written in time, to a sink whose position moves (output.status "playing"). Not "packets are arriving"',
  }),
  sender: Type.Union([Type.String(), Type.Null()], { description: 'source address of the RTP packets' }),
  ssrc: Type.Union([Type.Integer(), Type.Null()], { description: 'SSRC locked on' }),
  format: Type.Union([PlayerFormat, Type.Null()]),
  latencyMs: Type.Number({ description: 'target playout latency' }),
  trimMs: Type.Number(),
  bufferMs: Type.Number({ description: 'jitter buffer fill' }),
  driftPpm: Type.Number({ description: 'measured DAC rate vs the wall clock (ppm)' }),
  senderDriftPpm: Type.Number({ description: 'measured sender clock vs the wall clock (ppm)' }),
  timing: Type.Optional(
    Type.Union([Type.Literal('rtcp'), Type.Literal('arrival'), Type.Null()], {
      description:
        'where RTP time is mapped to wall time from: the sender\'s RTCP sender reports ("rtcp") or filtered packet arrivals ("arrival"); null before the first packet',
    }),
  ),
  syncErrorUs: Type.Union([Type.Number(), Type.Null()], {
    description:
      'playout error vs the ideal instant of the audio that reached the DAC over the last second (µs, mean over its blocks); null when none did',
  }),
  output: Obj(
    {
      status: PlayerOutputStatus,
      reason: Type.Union([Type.String(), Type.Null()], { description: 'why the output is not playing, in words' }),
      audiblePct: Type.Number({ description: "share of the last second's written frames that were stream audio (%)" }),
      leadMs: Type.Union([Type.Number(), Type.Null()], {
        description:
          'lowest margin over the last second between the newest arrived audio and the playout position (ms); negative: the stream arrives after its playout instant',
      }),
      lateBlocks: Type.Integer({ description: 'blocks written after the DAC needed them (it ran dry: an output-loop stall), since start' }),
      droppedBlocks: Type.Integer({ description: 'blocks discarded because the DAC was gone, since start' }),
      silentMs: Type.Number({ description: 'silence and concealment written to the DAC since start (ms)' }),
    },
    { description: 'what actually reaches the DAC (device/audio/engine/output-monitor.ts)' },
  ),
  packets: Obj({
    received: Type.Integer(),
    lost: Type.Integer(),
    late: Type.Integer(),
    duplicates: Type.Integer(),
    concealed: Type.Integer({ description: 'frames concealed' }),
    malformed: Type.Integer(),
    wrongPt: Type.Integer({
      description: "packets with another payload type than the stream's, or a dynamic one with no format known (give `format` or use SAP)",
    }),
    foreignSsrc: Type.Integer(),
  }),
  underruns: Type.Integer(),
  resyncs: Type.Integer(),
  volume: Type.Number(),
  muted: Type.Boolean(),
  sink: Obj({
    kind: Type.String(),
    device: Type.String(),
    status: Type.Union(['closed', 'opening', 'open', 'lost'].map((s) => Type.Literal(s))),
    error: Type.Union([Type.String(), Type.Null()]),
    lostCount: Type.Integer({ description: 'times the DAC was lost since start' }),
    underruns: Type.Optional(
      Type.Integer({
        description:
          'times the DAC ran dry since start (its queue emptied and it played silence: an ALSA underrun), as the device showed it; absent where the sink cannot tell',
      }),
    ),
  }),
  level: Type.Optional(PlayerLevel),
  clock: Type.Optional(
    Obj(
      {
        ...ClockStatusFields,
        sufficient: Type.Boolean({
          description: 'locked (or stale) with uncertainty within clock.maxUncertaintyUs; when false, rooms may be that far apart',
        }),
      },
      { description: 'the house clock this player plays on' },
    ),
  ),
});
export type PlayerState = Static<typeof PlayerState>;

/** The `data` of hearth/<id>/event/player, per event type. */
export const PlayerEvents = {
  'sink-lost': Obj({ error: Type.String({ description: 'why' }) }, { description: 'the DAC went away' }),
  'sink-restored': Obj({ lostMs: Type.Number({ description: 'how long the DAC was gone' }) }, { description: 'the DAC is back' }),
  resync: Obj({ ssrc: Type.Optional(Type.Integer()) }, { description: 'playout re-synchronised to the sender' }),
  'stream-switched': Obj(
    {
      from: Type.Optional(Type.String({ description: 'previous stream' })),
      to: Type.String({ description: 'new stream' }),
    },
    { description: 'another stream is playing' },
  ),
  'stream-found': Obj({}, { description: 'packets are arriving' }),
  'stream-lost': Obj({}, { description: 'no packets for 2 s' }),
  'stream-unavailable': Obj({}, { description: 'the stream asked for is not announced (yet)' }),
  'stream-bind-failed': Obj(
    {
      error: Type.String({ description: "the socket's error" }),
      code: Type.Optional(Type.String({ description: 'its errno name, e.g. EADDRINUSE' })),
      retryMs: Type.Number({ description: 'the next try is this far off' }),
    },
    { description: "the stream's port cannot be bound (once per episode; state stream.error says it meanwhile); retried every 2 s" },
  ),
  'stream-bound': Obj(
    { failedMs: Type.Number({ description: 'how long binding failed' }) },
    { description: "the stream's port is bound after stream-bind-failed" },
  ),
  'clock-unsure': Obj({}, { description: 'the house clock is not trusted: playout may be off between rooms' }),
  'clock-sure': Obj({}, { description: 'the house clock is trusted again' }),
  output: Obj({ status: PlayerOutputStatus, previous: PlayerOutputStatus }, { description: 'the output status changed' }),
  underrun: Obj(
    {
      count: Type.Integer({ description: 'dry spells since the last underrun event' }),
      total: Type.Integer({ description: 'sink.underruns' }),
    },
    { description: 'the DAC ran dry (silence came out) at least once in the last 500 ms' },
  ),
};

export const playerSpec = defineRole({
  name: 'player',
  description:
    'Multi-room player: plays one multicast RTP L16 stream on a DAC, sample-synchronised with every other player of the stream through the shared wall clock.',
  config: PlayerConfig,
  check: checkPlayerConfig,
  commands: {
    subscribe: {
      description: 'switches to another stream live: exactly one of stream, sap, or group+port (+format); `ssrc` picks one sender of it',
      args: Obj(StreamChoice),
      result: PlayerStreamInfo,
    },
    volume: {
      description: 'sets the linear gain with a click-free ramp',
      args: Obj({
        gain: Type.Number({ minimum: 0, maximum: 4, description: 'linear gain (1 = unity)' }),
        rampMs: Type.Optional(Type.Number({ minimum: 0, maximum: 10_000, description: 'ramp duration (default 50 ms)' })),
      }),
    },
    mute: {
      description: 'mutes or unmutes with a click-free ramp',
      args: Obj({ muted: Type.Boolean() }),
    },
    streams: {
      description:
        'lists the streams this player hears of (SAP announcements and hearth/streams/#), with the value to give `subscribe` for each',
      args: Obj({}),
      result: Obj({
        streams: Type.Array(
          Obj({
            choose: Obj(StreamChoice, { description: 'the subscribe arguments that pick this stream' }),
            origin: Type.Union([Type.Literal('sap'), Type.Literal('mqtt')]),
            name: Type.String({ description: 'session name' }),
            group: Type.String(),
            port: Type.Integer(),
            format: PlayerFormat,
            enabled: Type.Boolean(),
            sender: Type.Union([Type.String(), Type.Null()], { description: 'SAP announcer address' }),
          }),
        ),
      }),
    },
  },
  state: PlayerState,
  events: PlayerEvents,
  homeassistant: playerEntities,
});
