// The Home Assistant entities each role offers, and how a plain payload from Home Assistant on an
// entity's command topic becomes a hearth command. Home Assistant publishes bare values ("0.4",
// "ON", "PRESS", an option) and cannot add the {v, id} request envelope, so every entity's
// command topic is `<base>/<id>/cmd/ha/<key>` (inside the device's own cmd/ ACL) and the runtime
// turns the payload into the command below, validated and run like any other.
//
// Kept as one builder per role so each moves into its role's spec (RoleSpec.homeassistant) when
// that field lands: nothing here is shared between roles but the small helpers at the top.
import type { Topics } from '../../protocol/index.ts';
import type { PlayerConfig } from '../../protocol/roles/player.ts';

export interface HaCommand { role: string; action: string; args: Record<string, unknown> }

export interface HaEntity {
  /** Component id, unique within the device (letters, digits, "_"). */
  key: string;
  component: Record<string, unknown> & { p: string };
  /** Plain payload → the commands it runs (in order), or a readable refusal. */
  command?: (payload: string) => HaCommand[] | string;
}

export interface HaRoleContext {
  id: string;
  t: Topics;
  /** The role's config slice as applied. */
  config: unknown;
  /** Streams announced on MQTT that a player could pick ("<device>/<stream>"). */
  streams: readonly string[];
}

/** Component ids: letters, digits and "_" only. */
export function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '') || 'x';
}

const onOff = (payload: string): boolean | string => (payload === 'ON' ? true : payload === 'OFF' ? false : `expected ON or OFF, got ${JSON.stringify(payload.slice(0, 20))}`);

function detail(path: string, fallback = 'None'): string {
  // The state envelope's detail, guarded so a role that is not running renders "unknown".
  return `{{ value_json.detail.${path} if value_json.detail is defined and value_json.detail.${path} is defined and value_json.detail.${path} is not none else ${fallback} }}`;
}

function player(c: HaRoleContext): HaEntity[] {
  const state = c.t.state(c.id, 'player');
  const cmd = (key: string) => c.t.cmd(c.id, 'ha', key);
  const cfg = (c.config ?? {}) as PlayerConfig;
  const options = [...new Set([...(cfg.stream ? [cfg.stream] : []), ...c.streams])].sort();
  const sensor = (key: string, name: string, path: string, unit: string, extra: Record<string, unknown> = {}): HaEntity => ({
    key, component: { p: 'sensor', name, state_topic: state, value_template: detail(path), unit_of_measurement: unit, state_class: 'measurement', ...extra },
  });
  return [
    {
      key: 'volume',
      component: { p: 'number', name: 'Volume', icon: 'mdi:volume-high', state_topic: state, value_template: detail('volume'), command_topic: cmd('volume'), min: 0, max: 2, step: 0.01, mode: 'slider' },
      command: (p) => { const gain = Number(p); return p.trim() !== '' && Number.isFinite(gain) ? [{ role: 'player', action: 'volume', args: { gain } }] : `expected a number, got ${JSON.stringify(p.slice(0, 20))}`; },
    },
    {
      key: 'mute',
      component: { p: 'switch', name: 'Mute', icon: 'mdi:volume-off', state_topic: state, value_template: "{{ 'ON' if value_json.detail is defined and value_json.detail.muted else 'OFF' }}", command_topic: cmd('mute') },
      command: (p) => { const on = onOff(p); return typeof on === 'string' ? on : [{ role: 'player', action: 'mute', args: { muted: on } }]; },
    },
    {
      key: 'stream',
      component: { p: 'select', name: 'Stream', icon: 'mdi:playlist-music', state_topic: state, value_template: detail('stream.id'), command_topic: cmd('stream'), options: options.length ? options : ['none'] },
      command: (p) => (options.includes(p) ? [{ role: 'player', action: 'subscribe', args: { stream: p } }] : `not a stream this player knows: ${JSON.stringify(p.slice(0, 60))}`),
    },
    sensor('sync_error', 'Sync error', 'syncErrorUs', 'µs', { suggested_display_precision: 0, icon: 'mdi:sine-wave' }),
    sensor('buffer', 'Buffer', 'bufferMs', 'ms', { suggested_display_precision: 0, icon: 'mdi:tray-full' }),
    sensor('drift', 'DAC drift', 'driftPpm', 'ppm', { suggested_display_precision: 1, entity_category: 'diagnostic' }),
    {
      key: 'packet_loss',
      component: {
        p: 'sensor', name: 'Packet loss', state_topic: state, unit_of_measurement: '%', state_class: 'measurement', suggested_display_precision: 2, entity_category: 'diagnostic',
        value_template: '{% if value_json.detail is defined %}{% set p = value_json.detail.packets %}{{ (100 * p.lost / (p.received + p.lost)) | round(2) if (p.received + p.lost) > 0 else 0 }}{% else %}None{% endif %}',
      },
    },
    sensor('clock_offset', 'House clock offset', 'clock.offsetMs', 'ms', { suggested_display_precision: 2, entity_category: 'diagnostic', icon: 'mdi:clock-check-outline' }),
    {
      key: 'dac',
      component: { p: 'binary_sensor', name: 'DAC', device_class: 'connectivity', entity_category: 'diagnostic', state_topic: state, value_template: "{{ 'ON' if value_json.detail is defined and value_json.detail.sink.status == 'open' else 'OFF' }}" },
    },
  ];
}

function source(c: HaRoleContext): HaEntity[] {
  const state = c.t.state(c.id, 'source');
  const streams = ((c.config as { streams?: Array<{ id: string; name?: string }> } | undefined)?.streams ?? []);
  return streams.map((s) => ({
    key: `stream_${slug(s.id)}`,
    component: {
      p: 'switch', name: `Stream ${s.name ?? s.id}`, icon: 'mdi:broadcast', state_topic: state, command_topic: c.t.cmd(c.id, 'ha', `stream_${slug(s.id)}`),
      value_template: `{% set s = (value_json.detail.streams if value_json.detail is defined else []) | selectattr('id', 'eq', ${JSON.stringify(s.id)}) | list %}{{ 'ON' if s and s[0].enabled else 'OFF' }}`,
    },
    command: (p: string) => { const on = onOff(p); return typeof on === 'string' ? on : [{ role: 'source', action: on ? 'enable' : 'disable', args: { stream: s.id } }]; },
  }));
}

function waker(c: HaRoleContext): HaEntity[] {
  const state = c.t.state(c.id, 'waker');
  const hosts = ((c.config as { hosts?: Array<{ name: string }> } | undefined)?.hosts ?? []);
  return hosts.flatMap((h) => [
    {
      key: `awake_${slug(h.name)}`,
      component: {
        p: 'binary_sensor', name: `${h.name} awake`, device_class: 'power', state_topic: state,
        value_template: `{% set s = (value_json.detail.hosts if value_json.detail is defined else []) | selectattr('name', 'eq', ${JSON.stringify(h.name)}) | list %}{{ 'ON' if s and s[0].state == 'awake' else 'OFF' }}`,
      },
    },
    {
      key: `wake_${slug(h.name)}`,
      component: { p: 'button', name: `Wake ${h.name}`, icon: 'mdi:power', command_topic: c.t.cmd(c.id, 'ha', `wake_${slug(h.name)}`) },
      command: () => [{ role: 'waker', action: 'wake', args: { host: h.name } }],
    },
  ]);
}

function tuner(c: HaRoleContext): HaEntity[] {
  const state = c.t.state(c.id, 'tuner');
  return [
    ...(['bypass', 'memory', 'full'] as const).map((mode): HaEntity => ({
      key: `tune_${mode}`,
      component: { p: 'button', name: `Tune ${mode}`, icon: 'mdi:antenna', command_topic: c.t.cmd(c.id, 'ha', `tune_${mode}`) },
      command: () => [{ role: 'tuner', action: 'tune', args: { mode } }],
    })),
    {
      key: 'last_outcome',
      component: {
        p: 'sensor', name: 'Last tune', icon: 'mdi:antenna', state_topic: state, value_template: detail('last.outcome'),
        json_attributes_topic: state, json_attributes_template: "{{ (value_json.detail.last if value_json.detail is defined and value_json.detail.last else {}) | tojson }}",
      },
    },
    {
      // The physical button: each press is an event (short/medium/long in mapped mode, "press" in pass-through).
      key: 'button',
      component: {
        p: 'event', name: 'Button', icon: 'mdi:gesture-tap-button', state_topic: c.t.event(c.id, 'tuner'), event_types: ['short', 'medium', 'long', 'press'],
        value_template: "{% if value_json.type == 'button' %}{\"event_type\": \"{{ value_json.data.class if value_json.data is defined and value_json.data.class is defined else 'press' }}\"}{% else %}{}{% endif %}",
      },
    },
  ];
}

/** Entities per role (a role not listed offers only the generic state sensor). */
export const ROLE_HA_ENTITIES: Record<string, (c: HaRoleContext) => HaEntity[]> = { player, source, waker, tuner };

/** Every device's own: a restart button, restarting each of its roles in turn. */
export function deviceEntities(id: string, t: Topics, roles: readonly string[]): HaEntity[] {
  return [{
    key: 'restart',
    component: { p: 'button', name: 'Restart roles', device_class: 'restart', entity_category: 'config', command_topic: t.cmd(id, 'ha', 'restart') },
    command: () => roles.map((role) => ({ role: 'device', action: 'restart-role', args: { role } })),
  }];
}
