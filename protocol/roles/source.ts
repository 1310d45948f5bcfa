// source: audio in (ALSA capture, a raw/WAV file, or a test tone) → RTP L16 multicast, announced by
// SAP/SDP every 5 s (with a deletion on stop), on hearth/streams/<device>/<stream>, and timed by
// RTCP sender reports that map RTP time to the wall clock for the players.
import { Type, Obj, Id, Ipv4, Port, type Static } from '../kit.ts';
import { defineRole, type HaContext } from '../role-spec.ts';
import { slug, onOff, listItemOnTemplate } from '../ha.ts';
import type { ErrorDetail } from '../envelope.ts';
import { Rate, Channels, streamPortError } from './player.ts';
import { ClockStatus } from '../clock.ts';

export const SourceInput = Type.Union(
  [
    Obj(
      {
        kind: Type.Literal('alsa'),
        device: Type.Optional(
          Type.String({
            minLength: 1,
            maxLength: 128,
            pattern: '^[A-Za-z0-9_:=,.-]+$',
            description: 'ALSA capture device (default "default")',
          }),
        ),
      },
      { description: 'live capture through alsa-capture' },
    ),
    Obj(
      {
        kind: Type.Literal('file'),
        path: Type.String({
          minLength: 1,
          maxLength: 1024,
          description: 'a WAV file (PCM s16le, same rate/channels as the stream) or raw s16le',
        }),
        loop: Type.Optional(Type.Boolean({ description: 'start again at the end (default true); otherwise silence after the end' })),
      },
      { description: 'a file played in real time' },
    ),
    Obj(
      {
        kind: Type.Literal('tone'),
        frequency: Type.Optional(Type.Number({ minimum: 1, maximum: 20_000, description: 'Hz (default 1000)' })),
        amplitude: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'of full scale (default 0.5)' })),
      },
      { description: 'a sine test tone' },
    ),
  ],
  { description: 'where the audio comes from' },
);
export type SourceInput = Static<typeof SourceInput>;

export const SourceStream = Obj(
  {
    id: Id('stream id, unique on this device (topic hearth/streams/<device>/<id>)'),
    name: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'session name (SAP s=, shown to players); default "<device> <id>"' }),
    ),
    input: SourceInput,
    group: Ipv4('multicast group, e.g. 239.255.0.1'),
    port: Port("RTP port (even, at most 49150; RTCP uses port + 1): 49152 and up is the kernel's ephemeral range on the image"),
    rate: Type.Optional(Rate),
    channels: Type.Optional(Channels),
    payloadType: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 127,
        description:
          'default: 10/11 for 44.1 kHz stereo/mono, else 127 (what PulseAudio sends and the only dynamic PT its module-rtp-recv plays)',
      }),
    ),
    framesPerPacket: Type.Optional(
      Type.Integer({
        minimum: 16,
        maximum: 360,
        description: 'frames per RTP packet (default 240 = 5 ms at 48 kHz); payload stays under 1440 bytes',
      }),
    ),
    ttl: Type.Optional(Type.Integer({ minimum: 1, maximum: 255, description: 'multicast TTL (default 1: this LAN only)' })),
    interface: Type.Optional(Ipv4("address of the interface to send on (default: the routing table's choice)")),
    enabled: Type.Optional(Type.Boolean({ description: 'send from start (default true); enable/disable switch it live' })),
    sap: Type.Optional(Type.Boolean({ description: "SAP/SDP announcements to 224.0.0.56:9875 and the group's port 9875 (default true)" })),
    rtcp: Type.Optional(Type.Boolean({ description: 'RTCP sender reports on port + 1 (default true)' })),
  },
  { description: 'one outgoing stream' },
);
export type SourceStream = Static<typeof SourceStream>;

export const SourceConfig = Obj(
  { streams: Type.Array(SourceStream, { minItems: 1, maxItems: 8, description: 'streams this device sends (ids unique)' }) },
  { description: 'RTP L16 multicast source with SAP/SDP and MQTT announcements' },
);
export type SourceConfig = Static<typeof SourceConfig>;

export const SourceStreamState = Obj({
  id: Type.String(),
  name: Type.String(),
  enabled: Type.Boolean(),
  sending: Type.Boolean({ description: 'enabled and the input delivers audio' }),
  group: Type.String(),
  port: Type.Integer(),
  rate: Type.Integer(),
  channels: Type.Integer(),
  payloadType: Type.Integer(),
  ssrc: Type.Integer(),
  input: Type.String({ description: 'input kind and device/path' }),
  packets: Type.Integer({ description: 'RTP packets sent since start' }),
  octets: Type.Integer({ description: 'payload bytes sent since start' }),
  inputError: Type.Union([Type.String(), Type.Null()]),
});

export const SourceState = Obj({ streams: Type.Array(SourceStreamState), clock: Type.Optional(ClockStatus) });
export type SourceState = Static<typeof SourceState>;

/** The `data` of hearth/<id>/event/source, per event type. */
export const SourceEvents = {
  'stream-enabled': Obj({ stream: Type.String() }, { description: 'enable command' }),
  'stream-disabled': Obj({ stream: Type.String() }, { description: 'disable command' }),
  'input-failed': Obj({ stream: Type.String(), error: Type.String() }, { description: "the stream's input stopped delivering audio" }),
  'input-restored': Obj({ stream: Type.String() }, { description: 'the input delivers again' }),
};

/** Stream ids unique, RTP ports even (RTCP uses port + 1) and below STREAM_PORT_LIMIT; paths relative to the slice. */
export function checkSourceConfig(c: SourceConfig): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  const ids = new Set<string>();
  c.streams.forEach((s, i) => {
    if (ids.has(s.id)) out.push({ path: `/streams/${i}/id`, message: `stream id ${s.id} is used twice` });
    if (s.port % 2 !== 0)
      out.push({ path: `/streams/${i}/port`, message: `stream ${s.id}: the RTP port must be even (RTCP uses port + 1)` });
    const portError = streamPortError(s.port);
    if (portError) out.push({ path: `/streams/${i}/port`, message: `stream ${s.id}: ${portError}` });
    ids.add(s.id);
  });
  return out;
}

export const sourceSpec = defineRole({
  name: 'source',
  description:
    'Audio source: ALSA capture, file or tone → RTP L16 multicast with SAP/SDP, RTCP sender reports and MQTT stream announcements.',
  config: SourceConfig,
  check: checkSourceConfig,
  commands: {
    enable: { description: 'starts sending a configured stream (announces it)', args: Obj({ stream: Id('stream id') }) },
    disable: {
      description: 'stops sending a configured stream (SAP deletion, announcement enabled=false)',
      args: Obj({ stream: Id('stream id') }),
    },
  },
  state: SourceState,
  events: SourceEvents,
  // A switch per configured stream, taking Home Assistant's ON / OFF.
  homeassistant: (ha: HaContext<{ streams?: Array<{ id: string; name?: string }> } | undefined>) =>
    (ha.config?.streams ?? []).map((s) => ({
      key: `stream_${slug(s.id)}`,
      component: {
        p: 'switch',
        name: `Stream ${s.name ?? s.id}`,
        icon: 'mdi:broadcast',
        state_topic: ha.stateTopic,
        command_topic: ha.haCommandTopic(`stream_${slug(s.id)}`),
        value_template: listItemOnTemplate('streams', 'id', s.id, 's[0].enabled'),
      },
      command: (p: string) => {
        const on = onOff(p);
        return typeof on === 'string' ? on : [{ role: 'source', action: on ? 'enable' : 'disable', args: { stream: s.id } }];
      },
    })),
});
