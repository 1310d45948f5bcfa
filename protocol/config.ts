// The device config: one file per device, also what `config/set` carries. Version 2 is current;
// version 1 (flat broker fields) is still accepted and upgraded, so a controller one release
// behind can still provision.
import { Type, Obj, Id, type Static, type TObject } from './kit.ts';
import { ROLE_SPECS } from './roles/index.ts';
import type { RoleSpec } from './role-spec.ts';
import { PROTOCOL_VERSION, ACCEPTED_VERSIONS } from './version.ts';
import { RequestFields, ProtocolError, type ErrorDetail } from './envelope.ts';
import { assertValid } from './validate.ts';
import { ClockConfig } from './clock.ts';

export const MqttConfig = Obj(
  {
    url: Type.String({ pattern: '^(mqtt|mqtts|ws|wss|tcp)://[^\\s]+$', description: 'broker URL, e.g. mqtt://hub.local:1883' }),
    username: Type.Optional(Type.String({ maxLength: 128 })),
    password: Type.Optional(Type.String({ maxLength: 256, description: 'secret: redacted when the config is published' })),
    baseTopic: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'topic root (default "hearth")' })),
    keepaliveS: Type.Optional(Type.Integer({ minimum: 5, maximum: 600, description: 'MQTT keepalive (default 30 s)' })),
    reconnectMinMs: Type.Optional(
      Type.Integer({ minimum: 50, maximum: 60_000, description: 'first reconnect delay (default 500 ms); doubles per try with jitter' }),
    ),
    reconnectMaxMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 600_000, description: 'reconnect delay cap (default 30 000 ms)' })),
    tls: Type.Optional(
      Obj(
        {
          ca: Type.Optional(
            Type.String({
              maxLength: 16384,
              pattern: '-----BEGIN CERTIFICATE-----',
              description: 'PEM of the CA to trust for mqtts:// (the house CA from "hearth hub init-tls", ca.pem), inline',
            }),
          ),
          caFile: Type.Optional(Type.String({ maxLength: 4096, description: 'the same as a file on the device' })),
          pinSha256: Type.Optional(
            Type.String({
              pattern: '^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$',
              description:
                "SHA-256 fingerprint of the hub's certificate: only that certificate is accepted, and the host name is not checked (a hub reached by IP address)",
            }),
          ),
        },
        { description: 'TLS for an mqtts:// or wss:// url; without ca/caFile the system CAs are trusted' },
      ),
    ),
  },
  { description: 'how the device reaches its broker' },
);

function rolesSchema(specs: readonly RoleSpec[]): TObject {
  const props: Record<string, ReturnType<typeof Type.Optional>> = {};
  for (const s of specs) props[s.name] = Type.Optional(s.config);
  return Obj(props, { description: 'the roles this device runs; a role runs when its section is present' });
}

function buildDeviceConfigSchema(specs: readonly RoleSpec[]) {
  return Obj(
    {
      v: Type.Literal(PROTOCOL_VERSION, { description: 'config format version' }),
      // "streams" would collide with hearth/streams/… in the topic tree.
      id: Type.String({
        pattern: '^(?!streams$)[A-Za-z0-9_-]{1,64}$',
        description: 'device id (letters, digits, "-", "_"; not "streams"); also its MQTT client id and login',
      }),
      name: Type.Optional(Type.String({ maxLength: 128, description: 'human-readable name' })),
      mqtt: MqttConfig,
      telemetry: Type.Optional(
        Obj({ intervalS: Type.Integer({ minimum: 1, maximum: 3600, description: 'telemetry period (default 30 s)' }) }),
      ),
      homeassistant: Type.Optional(
        Obj({
          enabled: Type.Boolean({ description: 'publish Home Assistant device discovery' }),
          prefix: Type.Optional(
            Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'discovery prefix (default "homeassistant")' }),
          ),
        }),
      ),
      clock: Type.Optional(ClockConfig),
      log: Type.Optional(Obj({ level: Type.Union(['debug', 'info', 'warn', 'error'].map((l) => Type.Literal(l))) })),
      roles: rolesSchema(specs),
    },
    { description: 'a device config (file, provisioning file, or config/set payload)' },
  );
}
export const DeviceConfig = buildDeviceConfigSchema(ROLE_SPECS);
/** The device config schema over a set of roles; the built-in set gets the one shared object, so its compiled validator is reused. */
export function deviceConfigSchema(specs: readonly RoleSpec[] = ROLE_SPECS): typeof DeviceConfig {
  const schema = specs === ROLE_SPECS ? DeviceConfig : buildDeviceConfigSchema(specs);
  specsOf.set(schema, specs);
  return schema;
}
/** The role specs a config schema was built over, so normalizeConfig runs their checks too. */
const specsOf = new WeakMap<TObject, readonly RoleSpec[]>([[DeviceConfig, ROLE_SPECS]]);
export interface DeviceConfig extends Omit<Static<typeof DeviceConfig>, 'roles'> {
  roles: Record<string, Record<string, unknown> | undefined>;
}

/** Version 1: broker fields were flat and telemetry had its own key. */
export const DeviceConfigV1 = Obj(
  {
    v: Type.Literal(1),
    id: Id(),
    name: Type.Optional(Type.String({ maxLength: 128 })),
    broker: Type.String({ pattern: '^(mqtt|mqtts|ws|wss|tcp)://[^\\s]+$' }),
    username: Type.Optional(Type.String()),
    password: Type.Optional(Type.String()),
    baseTopic: Type.Optional(Type.String()),
    telemetryIntervalS: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
    roles: Type.Record(Type.String(), Type.Unknown()),
  },
  { description: 'config format 1 (accepted and upgraded to 2)' },
);
export type DeviceConfigV1 = Static<typeof DeviceConfigV1>;

export function upgradeV1(c: DeviceConfigV1): Record<string, unknown> {
  const mqtt: Record<string, unknown> = { url: c.broker };
  if (c.username !== undefined) mqtt.username = c.username;
  if (c.password !== undefined) mqtt.password = c.password;
  if (c.baseTopic !== undefined) mqtt.baseTopic = c.baseTopic;
  const out: Record<string, unknown> = { v: 2, id: c.id, mqtt, roles: c.roles };
  if (c.name !== undefined) out.name = c.name;
  if (c.telemetryIntervalS !== undefined) out.telemetry = { intervalS: c.telemetryIntervalS };
  return out;
}

/** config/set: a whole config, or an RFC 7396 merge patch over the applied one. */
export const ConfigSet = Obj(
  {
    ...RequestFields,
    config: Type.Optional(Type.Unknown({ description: 'a whole device config (format 1 or 2)' })),
    patch: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'RFC 7396 merge patch over the applied config' })),
    ifRevision: Type.Optional(Type.Integer({ minimum: 0, description: 'apply only if the applied revision is this one' })),
  },
  { description: 'payload of hearth/<id>/config/set: exactly one of config or patch' },
);
export type ConfigSet = Static<typeof ConfigSet>;

/** What hearth/<id>/config carries (retained): the applied config with secrets redacted. */
export const AppliedConfig = Obj({
  v: Type.Integer(),
  revision: Type.Integer({ minimum: 0, description: 'increases by one per applied change' }),
  appliedAt: Type.String({ description: 'ISO time it was applied' }),
  config: Type.Unknown({ description: 'the applied config, secrets as "***"' }),
});
export type AppliedConfig = Static<typeof AppliedConfig>;

export const SECRET_KEYS: ReadonlySet<string> = new Set(['password', 'secureOn', 'secret', 'token', 'psk']);
/** What a secret reads as wherever the device publishes its config. */
export const REDACTED = '***';

/** A deep copy with every secret-named field replaced by "***". */
export function redact<T>(value: T): T {
  if (Array.isArray(value)) return value.map(redact) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.has(k) && v !== undefined ? REDACTED : redact(v);
    return out as T;
  }
  return value;
}

/** The string values of every secret-named field in `value`, at any depth (what redact hides). */
export function secretValues(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) secretValues(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (SECRET_KEYS.has(k) && typeof v === 'string') out.push(v);
      else secretValues(v, out);
    }
  }
  return out;
}

/** RFC 7396 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const base: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete base[k];
    else base[k] = mergePatch(base[k], v);
  }
  return base;
}

/** Accepts format 1 or 2, upgrades 1, validates; throws ProtocolError with every error path. */
export function normalizeConfig(input: unknown, schema: TObject = DeviceConfig): DeviceConfig {
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    throw new ProtocolError('invalid', 'config must be a JSON object', [{ path: '', message: 'must be object' }]);
  }
  const v = (input as { v?: unknown }).v;
  if (v === undefined) {
    throw new ProtocolError(
      'invalid',
      `config has no format version: add "v": ${PROTOCOL_VERSION} (this device accepts ${ACCEPTED_VERSIONS.join(' and ')})`,
      [{ path: '/v', message: 'is required' }],
    );
  }
  if (v === 1)
    return checkRoles(
      assertValid(schema, upgradeV1(assertValid(DeviceConfigV1, input, 'config (format 1)')), 'config') as unknown as DeviceConfig,
      schema,
    );
  if (v === PROTOCOL_VERSION) return checkRoles(assertValid(schema, input, 'config') as unknown as DeviceConfig, schema);
  throw new ProtocolError(
    'unsupported-version',
    `config format ${JSON.stringify(v)} is not supported; this device accepts ${ACCEPTED_VERSIONS.join(' and ')}`,
    [{ path: '/v', message: `must be one of ${ACCEPTED_VERSIONS.join(', ')}` }],
  );
}

/** Each role's own rules (RoleSpec.check) over its slice, with paths under /roles/<role>. */
function checkRoles(c: DeviceConfig, schema: TObject): DeviceConfig {
  const details: ErrorDetail[] = [];
  for (const spec of specsOf.get(schema) ?? ROLE_SPECS) {
    const slice = c.roles[spec.name];
    if (slice === undefined || !spec.check) continue;
    for (const d of spec.check(slice)) details.push({ path: `/roles/${spec.name}${d.path}`, message: d.message });
  }
  if (details.length)
    throw new ProtocolError('invalid', `config is invalid: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}`, details);
  return c;
}
