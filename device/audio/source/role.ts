// The source role: each configured stream is an input (ALSA capture, file or tone) sent as RTP L16
// multicast (stream.ts), announced by SAP/SDP and on hearth/streams/<device>/<stream>
// (retained: enabled true/false; cleared when the stream leaves the config), switched on and off
// by `enable` / `disable`. State on change and every 5 s.
import { hostname } from 'node:os';
import type { Static } from '@sinclair/typebox';
import type { RoleFactory } from '../../core/role.ts';
import type { TimerHandle } from '../../core/clock.ts';
import { ProtocolError } from '../../../protocol/envelope.ts';
import { PROTOCOL_VERSION } from '../../../protocol/version.ts';
import type { StreamAnnouncement } from '../../../protocol/messages.ts';
import type { SourceConfig, SourceStream, SourceStreamState, sourceSpec } from '../../../protocol/roles/source.ts';
import type { AudioInput } from '../../hal/audio-in.ts';
import { openAudioIn } from '../../hal/open.ts';
import { openSender, type MulticastSender } from '../net.ts';
import { OutStream } from './stream.ts';
import type { StreamFormat } from '../types.ts';

type StreamState = Static<typeof SourceStreamState>;

interface Live {
  cfg: SourceStream;
  format: StreamFormat;
  enabled: boolean;
  input?: AudioInput;
  sender?: MulticastSender;
  out?: OutStream;
  inputFailed: boolean;
  lastSsrc: number;
  packetsBefore: number;
  octetsBefore: number;
}

export function streamFormat(s: SourceStream): StreamFormat {
  const rate = s.rate ?? 48000;
  const channels = s.channels ?? 2;
  // 127 as PulseAudio sends: its module-rtp-recv plays only 127 and the static 10/11 (found by test).
  const payloadType = s.payloadType ?? (rate === 44100 ? (channels === 2 ? 10 : 11) : 127);
  return { encoding: 'L16', rate, channels, payloadType };
}

export const createSourceRole: RoleFactory<typeof sourceSpec> = (deps) => {
  let config = deps.config;
  const streams = new Map<string, Live>();
  let stopped = false;
  let stateTimer: TimerHandle | undefined;
  const cname = `hearth@${deps.device.id}.${hostname()}`;

  const nameOf = (s: SourceStream) => s.name ?? `${deps.device.id} ${s.id}`;

  function announcement(l: Live): StreamAnnouncement {
    return {
      v: PROTOCOL_VERSION,
      stream: l.cfg.id,
      device: deps.device.id,
      name: nameOf(l.cfg),
      group: l.cfg.group,
      port: l.cfg.port,
      encoding: 'L16',
      rate: l.format.rate as 44100 | 48000,
      channels: l.format.channels,
      payloadType: l.format.payloadType,
      frames: l.cfg.framesPerPacket ?? 240,
      enabled: l.enabled && !!l.out,
      ...(l.out ? { ssrc: l.out.ssrc, sdp: l.out.sdp } : {}),
    };
  }

  function stateOf(l: Live): StreamState {
    const st = l.out?.stats();
    const input = l.input?.description ?? l.cfg.input.kind;
    return {
      id: l.cfg.id,
      name: nameOf(l.cfg),
      enabled: l.enabled,
      sending: !!l.out && l.input?.status() === 'open',
      group: l.cfg.group,
      port: l.cfg.port,
      rate: l.format.rate,
      channels: l.format.channels,
      payloadType: l.format.payloadType,
      ssrc: st?.ssrc ?? l.lastSsrc,
      input,
      packets: l.packetsBefore + (st?.packets ?? 0),
      octets: l.octetsBefore + (st?.octets ?? 0),
      inputError: l.input?.lastError() ?? null,
    };
  }

  function publishState(): void {
    if (stopped) return;
    for (const l of streams.values()) {
      const failed = !!l.input && l.input.status() === 'failed';
      if (failed !== l.inputFailed) {
        l.inputFailed = failed;
        if (failed)
          deps.link.publishEvent('input-failed', `stream ${l.cfg.id}: input ${l.input!.description} failed: ${l.input!.lastError()}`, {
            stream: l.cfg.id,
            error: l.input!.lastError() ?? '',
          });
        else deps.link.publishEvent('input-restored', `stream ${l.cfg.id}: input ${l.input!.description} is back`, { stream: l.cfg.id });
      }
    }
    const clock = deps.clock.sync?.();
    deps.link.publishState({ streams: [...streams.values()].map(stateOf), ...(clock ? { clock } : {}) });
  }

  async function startStream(l: Live): Promise<void> {
    if (l.out) return;
    const cfg = l.cfg;
    const input = await openAudioIn(cfg.input, deps);
    await input.open({ rate: l.format.rate, channels: l.format.channels });
    const sender = await openSender({
      iface: cfg.interface,
      ttl: cfg.ttl ?? 1,
      onError: (e) => deps.log.debug(`stream ${cfg.id}: send error ${e.message}`),
    });
    if (stopped || !l.enabled || streams.get(cfg.id) !== l) {
      await input.close();
      await sender.close();
      return;
    }
    l.input = input;
    l.sender = sender;
    l.out = new OutStream({
      id: cfg.id,
      name: nameOf(cfg),
      group: cfg.group,
      port: cfg.port,
      ttl: cfg.ttl ?? 1,
      format: l.format,
      framesPerPacket: cfg.framesPerPacket ?? 240,
      sap: cfg.sap ?? true,
      rtcp: cfg.rtcp ?? true,
      input,
      sender,
      clock: deps.clock,
      log: deps.log,
      cname,
    });
    l.out.start();
    l.lastSsrc = l.out.ssrc;
    deps.log.info(`stream ${cfg.id} sending to ${cfg.group}:${cfg.port}`, { ssrc: l.out.ssrc, input: input.description });
    deps.link.publishStream(cfg.id, announcement(l));
  }

  async function stopStream(l: Live): Promise<void> {
    const { out, input, sender } = l;
    l.out = undefined;
    l.input = undefined;
    l.sender = undefined;
    if (out) {
      const st = out.stats();
      l.packetsBefore += st.packets;
      l.octetsBefore += st.octets;
      out.stop();
    }
    await input?.close();
    await sender?.close();
  }

  function live(cfg: SourceStream): Live {
    return {
      cfg,
      format: streamFormat(cfg),
      enabled: cfg.enabled ?? true,
      inputFailed: false,
      lastSsrc: 0,
      packetsBefore: 0,
      octetsBefore: 0,
    };
  }

  function stream(id: string): Live {
    const l = streams.get(id);
    if (!l) throw new ProtocolError('not-found', `there is no stream ${id} on this device (streams: ${[...streams.keys()].join(', ')})`);
    return l;
  }

  return {
    async start() {
      stopped = false;
      for (const cfg of config.streams) streams.set(cfg.id, live(cfg));
      for (const l of streams.values()) {
        if (l.enabled) await startStream(l);
        else deps.link.publishStream(l.cfg.id, announcement(l));
        if (stopped) return;
      }
      stateTimer = deps.clock.setInterval(publishState, 5000);
      publishState();
    },

    async apply(next) {
      const old = new Map(streams);
      config = next;
      for (const cfg of next.streams) {
        const prev = old.get(cfg.id);
        old.delete(cfg.id);
        if (prev && JSON.stringify(prev.cfg) === JSON.stringify(cfg)) continue;
        if (prev) await stopStream(prev);
        const l = live(cfg);
        streams.set(cfg.id, l);
        if (l.enabled) await startStream(l);
        else deps.link.publishStream(cfg.id, announcement(l));
      }
      for (const [id, l] of old) {
        streams.delete(id);
        await stopStream(l);
        deps.link.publishStream(id, null);
      }
      publishState();
      return 'applied';
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      deps.clock.clearInterval(stateTimer);
      for (const l of streams.values()) {
        await stopStream(l);
        l.enabled = false;
        deps.link.publishStream(l.cfg.id, announcement(l));
      }
    },

    commands: {
      async enable({ stream: id }) {
        const l = stream(id);
        l.enabled = true;
        await startStream(l);
        deps.link.publishEvent('stream-enabled', `stream ${id} enabled`, { stream: id });
        publishState();
        return stateOf(l);
      },
      async disable({ stream: id }) {
        const l = stream(id);
        l.enabled = false;
        await stopStream(l);
        deps.link.publishStream(id, announcement(l));
        deps.link.publishEvent('stream-disabled', `stream ${id} disabled`, { stream: id });
        publishState();
        return stateOf(l);
      },
    },

    telemetry() {
      let packets = 0,
        octets = 0,
        sending = 0;
      for (const l of streams.values()) {
        const s = stateOf(l);
        packets += s.packets;
        octets += s.octets;
        if (s.sending) sending++;
      }
      return { streams: streams.size, sending, packets, octets };
    },
  };
};
