// Home Assistant MQTT device discovery (the device-based format of HA 2024.11+): one retained
// message on `homeassistant/device/<id>/config` describing the device (`dev`), who made the
// message (`o`) and every entity (`cmps`), keyed by a component id and each with its platform
// (`p`) and a `unique_id`. Pure: the runtime publishes it on connect and again whenever
// `homeassistant/status` says `online`; an empty retained payload on the same topic removes it.
//
// What a hearth device offers:
// - availability from hearth/<id>/status (`online` / `offline`, the last will);
// - sensors for process CPU, RSS and SoC temperature, read from the telemetry JSON by
//   value_template (temperature renders "None", i.e. unknown, where the board has no sensor);
// - one enum sensor per role with the supervisor's status; the whole state envelope (the role's
//   own detail included) as its attributes;
// - buttons for the obvious commands: one per tuner tune mode (the modes are read from the tuner's
//   protocol spec) and one per waker host listed in the config. A button publishes a complete
//   command request (`v`, `id`, args); its reply goes to hearth/<id>/reply like any other.
import {
  topics as topicsFor, haDiscoveryTopic, check, ROLE_SPECS, PROTOCOL_VERSION, RoleStatus,
  type Info, type RoleSpec, type TSchema,
} from '../../protocol/index.ts';

export interface HaDiscoveryInput {
  info: Info;
  /** The applied config's role slices (e.g. the waker's hosts); without it no per-host buttons. */
  roles?: Record<string, unknown>;
  /** Base topic of the hearth topics (default "hearth"). */
  baseTopic?: string;
  /** Discovery prefix (default "homeassistant"). */
  prefix?: string;
  /** Role specs the commands are checked against (default: the built-in ones). */
  specs?: readonly RoleSpec[];
}

export type HaComponent = Record<string, unknown> & { p: string; unique_id?: string };

export interface HaDevicePayload {
  dev: { ids: string[]; name: string; mf: string; mdl: string; sw: string; cu?: string };
  o: { name: string; sw: string };
  availability: Array<{ topic: string; payload_available: string; payload_not_available: string }>;
  qos: number;
  cmps: Record<string, HaComponent>;
}

export interface HaDiscovery { topic: string; payload: HaDevicePayload }

/** The literal values a schema allows (a union of literals, an enum, or one const), else []. */
export function literalValues(schema: TSchema | undefined): string[] {
  if (!schema) return [];
  const s = schema as { const?: unknown; enum?: unknown[]; anyOf?: TSchema[]; oneOf?: TSchema[] };
  if (typeof s.const === 'string') return [s.const];
  if (Array.isArray(s.enum)) return s.enum.filter((x): x is string => typeof x === 'string');
  const branches = s.anyOf ?? s.oneOf;
  return branches ? branches.flatMap((b) => literalValues(b)) : [];
}

/** Component ids and unique ids: letters, digits and "_" only. */
function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '') || 'x';
}

function title(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

interface ButtonRule {
  role: string;
  action: string;
  arg: string;
  /** The values to offer one button each for. */
  values(spec: RoleSpec, roleConfig: unknown): string[];
  name(value: string): string;
  icon: string;
}

/** The commands worth a button: harmless, frequent, and with a small fixed set of arguments. */
const BUTTONS: ButtonRule[] = [
  {
    role: 'tuner', action: 'tune', arg: 'mode', icon: 'mdi:antenna',
    values: (spec) => literalValues((spec.commands.tune?.args.properties as Record<string, TSchema> | undefined)?.mode),
    name: (mode) => `Tune ${mode}`,
  },
  {
    role: 'waker', action: 'wake', arg: 'host', icon: 'mdi:power',
    values: (_spec, cfg) => {
      const hosts = (cfg as { hosts?: unknown } | undefined)?.hosts;
      return Array.isArray(hosts) ? hosts.map((h) => (h as { name?: unknown })?.name).filter((n): n is string => typeof n === 'string') : [];
    },
    name: (host) => `Wake ${host}`,
  },
];

/** Builds the discovery message for one device. */
export function buildHaDiscovery(input: HaDiscoveryInput): HaDiscovery {
  const { info } = input;
  const id = info.device;
  const t = topicsFor(input.baseTopic ?? 'hearth');
  const specs = input.specs ?? ROLE_SPECS;
  const uid = (key: string) => `hearth_${slug(id)}_${key}`;
  const cmps: Record<string, HaComponent> = {};
  const telemetry = t.telemetry(id);

  cmps.cpu = {
    p: 'sensor', name: 'CPU', unique_id: uid('cpu'), state_topic: telemetry,
    value_template: '{{ value_json.cpuPct }}', unit_of_measurement: '%', state_class: 'measurement',
    suggested_display_precision: 1, entity_category: 'diagnostic', icon: 'mdi:cpu-64-bit',
    json_attributes_topic: telemetry,
    json_attributes_template: "{{ {'uptime_s': value_json.uptimeS, 'load1': value_json.load1, 'heap_mb': value_json.heapMb} | tojson }}",
  };
  cmps.rss = {
    p: 'sensor', name: 'Memory', unique_id: uid('rss'), state_topic: telemetry,
    value_template: '{{ value_json.rssMb }}', unit_of_measurement: 'MB', device_class: 'data_size', state_class: 'measurement',
    suggested_display_precision: 1, entity_category: 'diagnostic', icon: 'mdi:memory',
  };
  cmps.temperature = {
    p: 'sensor', name: 'Temperature', unique_id: uid('temperature'), state_topic: telemetry,
    value_template: '{{ value_json.temperatureC if value_json.temperatureC is defined else None }}',
    unit_of_measurement: '°C', device_class: 'temperature', state_class: 'measurement',
    suggested_display_precision: 1, entity_category: 'diagnostic',
  };

  const statuses = literalValues(RoleStatus);
  for (const role of info.roles) {
    const topic = t.state(id, role);
    cmps[`state_${slug(role)}`] = {
      p: 'sensor', name: `${title(role)} state`, unique_id: uid(`state_${slug(role)}`), state_topic: topic,
      value_template: '{{ value_json.status }}', device_class: 'enum', options: statuses, icon: 'mdi:state-machine',
      json_attributes_topic: topic, json_attributes_template: '{{ value_json | tojson }}',
    };
  }

  for (const rule of BUTTONS) {
    if (!info.roles.includes(rule.role)) continue;
    const spec = specs.find((s) => s.name === rule.role);
    const command = spec?.commands[rule.action];
    if (!spec || !command) continue;
    for (const value of rule.values(spec, input.roles?.[rule.role])) {
      const args = { [rule.arg]: value };
      if (!check(command.args, args).ok) continue; // a button HA could press only to be refused
      const key = `${slug(rule.action)}_${slug(value)}`;
      cmps[key] = {
        p: 'button', name: rule.name(value), unique_id: uid(key), icon: rule.icon,
        command_topic: t.cmd(id, rule.role, rule.action),
        payload_press: JSON.stringify({ v: PROTOCOL_VERSION, id: `ha-${rule.role}-${rule.action}-${value}`, ...args }),
      };
    }
  }

  const dev: HaDevicePayload['dev'] = {
    ids: [`hearth_${id}`], name: info.name ?? id, mf: 'hearth', mdl: info.model, sw: info.runtime,
  };
  // A hub serves the web console: link it from the device page.
  const hub = input.roles?.hub as { wsPort?: number } | undefined;
  if (info.roles.includes('hub') && info.addresses[0] && hub?.wsPort !== 0) dev.cu = `http://${info.addresses[0]}:${hub?.wsPort ?? 8080}/`;

  return {
    topic: haDiscoveryTopic(id, input.prefix ?? 'homeassistant'),
    payload: {
      dev,
      o: { name: 'hearth', sw: info.runtime },
      availability: [{ topic: t.status(id), payload_available: 'online', payload_not_available: 'offline' }],
      qos: 1,
      cmps,
    },
  };
}
