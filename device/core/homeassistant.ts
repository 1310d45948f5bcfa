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
// - whatever each role's spec offers (`homeassistant` in protocol/roles/<role>.ts: the tuner's
//   tune buttons, the waker's wake buttons…), and its `configurationUrl` (the hub's console).
//   An entity's command topic either takes Home Assistant's plain payloads
//   (`<base>/<id>/cmd/ha/<key>`; the entity's `command` says what each payload runs, collected in
//   `commands` for handlers/ha-command.ts), or it publishes a complete command request (`v`, `id`,
//   args; `payload_press`), answered on hearth/<id>/reply like any other; such an entity whose
//   request the role's own spec would refuse is left out (a button Home Assistant could press
//   only to be refused);
// - a restart button, restarting each of the device's roles in turn;
// - removal: a component that was in the previous message and is gone now (a role or host
//   removed) is sent once as `{p}` alone, which is how Home Assistant is told to drop it.
import {
  topics as topicsFor,
  haDiscoveryTopic,
  check,
  PROTOCOL_VERSION,
  RoleStatus,
  literalValues,
  Obj,
  RequestFields,
  slug,
  type Info,
  type RoleSpec,
  type Topics,
  type TObject,
  type HaEntity,
} from '../../protocol/index.ts';

export interface HaDiscoveryInput {
  info: Info;
  /** The applied config's role slices (e.g. the waker's hosts); without it no per-host buttons. */
  roles?: Record<string, unknown>;
  /** Base topic of the hearth topics (default "hearth"). */
  baseTopic?: string;
  /** Discovery prefix (default "homeassistant"). */
  prefix?: string;
  /** The specs of the roles this runtime has (they say each role's entities). */
  specs: readonly RoleSpec[];
  /** Streams announced on MQTT ("<device>/<stream>"): a player's stream options. */
  streams?: readonly string[];
  /** The components of the previous message: those gone now are sent as `{p}` once. */
  previous?: Record<string, HaComponent>;
}

export type HaComponent = Record<string, unknown> & { p: string; unique_id?: string };

export interface HaDevicePayload {
  dev: { ids: string[]; name: string; mf: string; mdl: string; sw: string; cu?: string };
  o: { name: string; sw: string };
  availability: Array<{ topic: string; payload_available: string; payload_not_available: string }>;
  qos: number;
  cmps: Record<string, HaComponent>;
}

export interface HaDiscovery {
  topic: string;
  payload: HaDevicePayload;
  /** Entity key → what a plain payload on its command topic runs. */
  commands: Map<string, NonNullable<HaEntity['command']>>;
  /** The components proper (without the `{p}` removals), for the next message's `previous`. */
  current: Record<string, HaComponent>;
}

export { literalValues };

function title(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Builds the discovery message for one device. */
export function buildHaDiscovery(input: HaDiscoveryInput): HaDiscovery {
  const { info } = input;
  const id = info.device;
  const t = topicsFor(input.baseTopic ?? 'hearth');
  const specs = input.specs;
  const uid = (key: string) => `hearth_${slug(id)}_${key}`;
  const cmps: Record<string, HaComponent> = {};
  const telemetry = t.telemetry(id);

  cmps.cpu = {
    p: 'sensor',
    name: 'CPU',
    unique_id: uid('cpu'),
    state_topic: telemetry,
    value_template: '{{ value_json.cpuPct }}',
    unit_of_measurement: '%',
    state_class: 'measurement',
    suggested_display_precision: 1,
    entity_category: 'diagnostic',
    icon: 'mdi:cpu-64-bit',
    json_attributes_topic: telemetry,
    json_attributes_template: "{{ {'uptime_s': value_json.uptimeS, 'load1': value_json.load1, 'heap_mb': value_json.heapMb} | tojson }}",
  };
  cmps.rss = {
    p: 'sensor',
    name: 'Memory',
    unique_id: uid('rss'),
    state_topic: telemetry,
    value_template: '{{ value_json.rssMb }}',
    unit_of_measurement: 'MB',
    device_class: 'data_size',
    state_class: 'measurement',
    suggested_display_precision: 1,
    entity_category: 'diagnostic',
    icon: 'mdi:memory',
  };
  cmps.temperature = {
    p: 'sensor',
    name: 'Temperature',
    unique_id: uid('temperature'),
    state_topic: telemetry,
    value_template: '{{ value_json.temperatureC if value_json.temperatureC is defined else None }}',
    unit_of_measurement: '°C',
    device_class: 'temperature',
    state_class: 'measurement',
    suggested_display_precision: 1,
    entity_category: 'diagnostic',
  };

  const statuses = literalValues(RoleStatus);
  for (const role of info.roles) {
    const topic = t.state(id, role);
    cmps[`state_${slug(role)}`] = {
      p: 'sensor',
      name: `${title(role)} state`,
      unique_id: uid(`state_${slug(role)}`),
      state_topic: topic,
      value_template: '{{ value_json.status }}',
      device_class: 'enum',
      options: statuses,
      icon: 'mdi:state-machine',
      json_attributes_topic: topic,
      json_attributes_template: '{{ value_json | tojson }}',
    };
  }

  const address = info.addresses[0];
  const commands = new Map<string, NonNullable<HaEntity['command']>>();
  const dev: HaDevicePayload['dev'] = {
    ids: [`hearth_${id}`],
    name: info.name ?? id,
    mf: 'hearth',
    mdl: info.model,
    sw: info.runtime,
  };
  const add = (e: HaEntity) => {
    const key = slug(e.key);
    cmps[key] = { ...e.component, unique_id: uid(key) };
    if (e.command) commands.set(key, e.command);
  };
  for (const role of info.roles) {
    const spec = specs.find((s) => s.name === role);
    if (!spec) continue;
    const config = input.roles?.[role];
    const url = spec.configurationUrl?.(config ?? {}, address);
    if (url && !dev.cu) dev.cu = url;
    const entities =
      spec.homeassistant?.({
        device: id,
        config,
        address,
        stateTopic: t.state(id, role),
        eventTopic: t.event(id, role),
        streams: input.streams ?? [],
        commandTopic: (action) => t.cmd(id, role, action),
        haCommandTopic: (key) => t.cmd(id, 'ha', key),
        request: (action, args) =>
          JSON.stringify({
            v: PROTOCOL_VERSION,
            id: `ha-${role}-${action}${Object.values(args)
              .map((v) => `-${String(v)}`)
              .join('')}`,
            ...args,
          }),
      }) ?? [];
    for (const e of entities) if (requestAccepted(spec, role, e.component, t)) add(e);
  }
  add(restartButton(id, t, info.roles));
  const current = { ...cmps };
  for (const [key, prev] of Object.entries(input.previous ?? {})) if (!(key in cmps)) cmps[key] = { p: prev.p };

  return {
    topic: haDiscoveryTopic(id, input.prefix ?? 'homeassistant'),
    payload: {
      dev,
      o: { name: 'hearth', sw: info.runtime },
      availability: [{ topic: t.status(id), payload_available: 'online', payload_not_available: 'offline' }],
      qos: 1,
      cmps,
    },
    commands,
    current,
  };
}

/** Every device's own: a restart button, restarting each of its roles in turn. */
function restartButton(id: string, t: Topics, roles: readonly string[]): HaEntity {
  return {
    key: 'restart',
    component: {
      p: 'button',
      name: 'Restart roles',
      device_class: 'restart',
      entity_category: 'config',
      command_topic: t.cmd(id, 'ha', 'restart'),
    },
    command: () => roles.map((role) => ({ role: 'device', action: 'restart-role', args: { role } })),
  };
}

/** A component that publishes a command (command_topic + payload_press) only if the role's spec accepts the request. */
function requestAccepted(spec: RoleSpec, role: string, c: Record<string, unknown>, t: Topics): boolean {
  if (typeof c.command_topic !== 'string' || typeof c.payload_press !== 'string') return true;
  const p = t.parse(c.command_topic);
  const cmd = p?.kind === 'cmd' && p.role === role ? spec.commands[p.action] : undefined;
  if (!cmd) return false;
  let body: unknown;
  try {
    body = JSON.parse(c.payload_press);
  } catch {
    return false;
  }
  let schema = requestSchemas.get(cmd.args);
  if (!schema) {
    schema = Obj({ ...RequestFields, ...cmd.args.properties });
    requestSchemas.set(cmd.args, schema);
  }
  return check(schema, body).ok;
}
const requestSchemas = new WeakMap<TObject, TObject>();
