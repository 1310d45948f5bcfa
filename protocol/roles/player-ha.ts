// The player's Home Assistant entities (playerSpec.homeassistant): volume, mute and the stream
// (a select over the streams announced on MQTT) take Home Assistant's plain payloads; sensors read
// the state envelope's detail.
import type { HaContext, HaEntity } from '../role-spec.ts';
import { detailTemplate as detail, onOff } from '../ha.ts';

const HAS_LEVEL = 'value_json.detail is defined and value_json.detail.level is defined';

export function playerEntities(ha: HaContext<{ stream?: string } | undefined>): HaEntity[] {
  const state = ha.stateTopic;
  const options = [...new Set([...(ha.config?.stream ? [ha.config.stream] : []), ...ha.streams])].sort();
  const sensor = (key: string, name: string, path: string, unit: string, extra: Record<string, unknown> = {}): HaEntity => ({
    key,
    component: {
      p: 'sensor',
      name,
      state_topic: state,
      value_template: detail(path),
      unit_of_measurement: unit,
      state_class: 'measurement',
      ...extra,
    },
  });
  return [
    {
      key: 'volume',
      component: {
        p: 'number',
        name: 'Volume',
        icon: 'mdi:volume-high',
        state_topic: state,
        value_template: detail('volume'),
        command_topic: ha.haCommandTopic('volume'),
        min: 0,
        max: 2,
        step: 0.01,
        mode: 'slider',
      },
      command: (p) => {
        const gain = Number(p);
        return p.trim() !== '' && Number.isFinite(gain)
          ? [{ role: 'player', action: 'volume', args: { gain } }]
          : `expected a number, got ${JSON.stringify(p.slice(0, 20))}`;
      },
    },
    {
      key: 'mute',
      component: {
        p: 'switch',
        name: 'Mute',
        icon: 'mdi:volume-off',
        state_topic: state,
        value_template: "{{ 'ON' if value_json.detail is defined and value_json.detail.muted else 'OFF' }}",
        command_topic: ha.haCommandTopic('mute'),
      },
      command: (p) => {
        const on = onOff(p);
        return typeof on === 'string' ? on : [{ role: 'player', action: 'mute', args: { muted: on } }];
      },
    },
    {
      key: 'stream',
      component: {
        p: 'select',
        name: 'Stream',
        icon: 'mdi:playlist-music',
        state_topic: state,
        value_template: detail('stream.id'),
        command_topic: ha.haCommandTopic('stream'),
        options: options.length ? options : ['none'],
      },
      command: (p) =>
        options.includes(p)
          ? [{ role: 'player', action: 'subscribe', args: { stream: p } }]
          : `not a stream this player knows: ${JSON.stringify(p.slice(0, 60))}`,
    },
    sensor('sync_error', 'Sync error', 'syncErrorUs', 'µs', { suggested_display_precision: 0, icon: 'mdi:sine-wave' }),
    sensor('buffer', 'Buffer', 'bufferMs', 'ms', { suggested_display_precision: 0, icon: 'mdi:tray-full' }),
    sensor('drift', 'DAC drift', 'driftPpm', 'ppm', { suggested_display_precision: 1, entity_category: 'diagnostic' }),
    {
      key: 'packet_loss',
      component: {
        p: 'sensor',
        name: 'Packet loss',
        state_topic: state,
        unit_of_measurement: '%',
        state_class: 'measurement',
        suggested_display_precision: 2,
        entity_category: 'diagnostic',
        value_template:
          '{% if value_json.detail is defined %}{% set p = value_json.detail.packets %}{{ (100 * p.lost / (p.received + p.lost)) | round(2) if (p.received + p.lost) > 0 else 0 }}{% else %}None{% endif %}',
      },
    },
    sensor('clock_offset', 'House clock offset', 'clock.offsetMs', 'ms', {
      suggested_display_precision: 2,
      entity_category: 'diagnostic',
      icon: 'mdi:clock-check-outline',
    }),
    {
      // The level written to the DAC over the last state interval: the louder channel's RMS, with
      // per-channel peak and RMS and the window as attributes (state `level`, −120 = silence).
      key: 'level',
      component: {
        p: 'sensor',
        name: 'Level',
        icon: 'mdi:waveform',
        state_topic: state,
        unit_of_measurement: 'dBFS',
        state_class: 'measurement',
        suggested_display_precision: 0,
        value_template: `{{ value_json.detail.level.rmsDbfs | max if ${HAS_LEVEL} else None }}`,
        json_attributes_topic: state,
        json_attributes_template: `{{ {'peak_dbfs': value_json.detail.level.peakDbfs, 'rms_dbfs': value_json.detail.level.rmsDbfs, 'window_ms': value_json.detail.level.windowMs} | tojson if ${HAS_LEVEL} else '{}' }}`,
      },
    },
    {
      key: 'dac',
      component: {
        p: 'binary_sensor',
        name: 'DAC',
        device_class: 'connectivity',
        entity_category: 'diagnostic',
        state_topic: state,
        value_template: "{{ 'ON' if value_json.detail is defined and value_json.detail.sink.status == 'open' else 'OFF' }}",
      },
    },
  ];
}
