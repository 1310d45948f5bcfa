// The README's topic and config reference, generated from the schemas (so it cannot drift).
// `npm run reference` rewrites the README section; a unit test fails when it is out of date.
import type { TSchema } from '@sinclair/typebox';
import { DeviceConfig, ConfigSet } from './config.ts';
import { Reply } from './envelope.ts';
import { Info, Telemetry, RoleStateEnvelope, EventEnvelope, StreamAnnouncement, DeviceCommands } from './messages.ts';
import { ROLE_SPECS } from './roles/index.ts';
import { PROTOCOL_VERSION, ACCEPTED_VERSIONS, MAX_PAYLOAD_BYTES } from './version.ts';

type S = TSchema & Record<string, any>;

function typeOf(s: S): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.anyOf) return (s.anyOf as S[]).map(typeOf).join(' \\| ');
  if (s.enum) return (s.enum as unknown[]).map((x) => JSON.stringify(x)).join(' \\| ');
  if (s.type === 'array') return `${typeOf(s.items as S)}[]`;
  if (s.type === 'object' && s.patternProperties) return 'map';
  if (s.type === 'integer' || s.type === 'number') {
    const range = [s.minimum !== undefined ? `≥ ${s.minimum}` : '', s.maximum !== undefined ? `≤ ${s.maximum}` : '']
      .filter(Boolean)
      .join(', ');
    return `${s.type}${range ? ` (${range})` : ''}`;
  }
  return (s.type as string) ?? 'any';
}

function rows(s: S, prefix: string, out: string[]): void {
  const props = (s.properties ?? {}) as Record<string, S>;
  const required = new Set((s.required ?? []) as string[]);
  for (const [k, v] of Object.entries(props)) {
    const path = prefix ? `${prefix}.${k}` : k;
    out.push(`| \`${path}\` | ${typeOf(v)} | ${required.has(k) ? 'yes' : ''} | ${(v.description ?? '').replace(/\|/g, '\\|')} |`);
    if (v.type === 'object' && v.properties) rows(v, path, out);
    if (v.type === 'array' && (v.items as S)?.type === 'object') rows(v.items as S, `${path}[]`, out);
  }
}

export function fieldTable(s: TSchema): string {
  const out = ['| field | type | required | meaning |', '|---|---|---|---|'];
  rows(s as S, '', out);
  if (out.length === 2) return '(no fields)';
  return out.join('\n');
}

export function generateReference(): string {
  const parts: string[] = [];
  parts.push(
    `Protocol version ${PROTOCOL_VERSION} (devices accept ${ACCEPTED_VERSIONS.join(' and ')}). Payloads are JSON, at most ${MAX_PAYLOAD_BYTES / 1024} KiB; unknown fields are errors.`,
  );
  parts.push('\n### Topics\n');
  parts.push(
    [
      '| topic | direction | retained | payload |',
      '|---|---|---|---|',
      '| `hearth/<id>/status` | device → | yes | `online` / `offline` (last will) |',
      '| `hearth/<id>/info` | device → | yes | Info |',
      '| `hearth/<id>/config` | device → | yes | `{v, revision, appliedAt, config}` (secrets as `***`) |',
      '| `hearth/<id>/config/set` | → device | no | ConfigSet |',
      '| `hearth/<id>/cmd/<role>/<action>` | → device | no | `{v, id, ...arguments}` (see each role) |',
      '| `hearth/<id>/reply` | device → | no | Reply, for every config/set and cmd |',
      '| `hearth/<id>/state/<role>` | device → | yes | role state envelope, role detail in `detail` |',
      '| `hearth/<id>/event/<role>` | device → | no | event envelope |',
      '| `hearth/<id>/telemetry` | device → | no | Telemetry |',
      '| `hearth/streams/<device>/<stream>` | source → | yes | StreamAnnouncement (empty payload = withdrawn) |',
      '| `homeassistant/device/<id>/config` | device → | yes | Home Assistant device discovery |',
    ].join('\n'),
  );
  const block = (title: string, s: TSchema) =>
    `\n#### ${title}\n${(s as S).description ? `${(s as S).description}\n\n` : ''}${fieldTable(s)}\n`;
  parts.push('\n### Messages\n');
  parts.push(block('ConfigSet', ConfigSet));
  parts.push(block('Reply', Reply));
  parts.push(block('Info', Info));
  parts.push(block('Telemetry', Telemetry));
  parts.push(block('Role state envelope', RoleStateEnvelope));
  parts.push(block('Event envelope', EventEnvelope));
  parts.push(block('StreamAnnouncement', StreamAnnouncement));
  parts.push('\n### Device config\n');
  const { roles: _roles, ...topProps } = (DeviceConfig as S).properties as Record<string, S>;
  parts.push(fieldTable({ ...(DeviceConfig as S), properties: topProps } as TSchema));
  parts.push('\n`roles.<name>`: one section per role below; a role runs when its section is present.\n');
  parts.push('\n### Commands every device takes (`cmd/device/<action>`)\n');
  for (const [name, c] of Object.entries(DeviceCommands))
    parts.push(
      `- \`${name}\`: ${c.description}${
        Object.keys(c.args.properties).length
          ? `; arguments: ${Object.keys(c.args.properties)
              .map((k) => `\`${k}\``)
              .join(', ')}`
          : ''
      }`,
    );
  for (const spec of ROLE_SPECS) {
    parts.push(`\n### Role \`${spec.name}\`\n\n${spec.description}\n`);
    parts.push(`\n#### \`roles.${spec.name}\` config\n${fieldTable(spec.config)}\n`);
    parts.push(`\n#### Commands (\`hearth/<id>/cmd/${spec.name}/<action>\`)\n`);
    for (const [name, c] of Object.entries(spec.commands)) {
      parts.push(`- **\`${name}\`**: ${c.description}`);
      const t = fieldTable(c.args);
      if (t !== '(no fields)') parts.push(`\n${t}\n`);
    }
    parts.push(`\n#### State (\`detail\` of \`hearth/<id>/state/${spec.name}\`)\n${fieldTable(spec.state)}\n`);
    parts.push(`\n#### Events (\`hearth/<id>/event/${spec.name}\`: \`type\`, and \`data\` by type)\n`);
    for (const [type, data] of Object.entries(spec.events)) {
      const fields = Object.keys(data.properties).length ? `\n${fieldTable(data)}\n` : ' (no data)\n';
      parts.push(`\n\`${type}\`: ${data.description ?? ''}${fields}`);
    }
  }
  return (
    parts
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim() + '\n'
  );
}

export const REFERENCE_START = '<!-- reference:start (generated by `npm run reference` from protocol/; do not edit by hand) -->';
export const REFERENCE_END = '<!-- reference:end -->';

/** The README with its reference section replaced by a fresh one. */
export function withReference(readme: string): string {
  const a = readme.indexOf(REFERENCE_START),
    b = readme.indexOf(REFERENCE_END);
  if (a < 0 || b < a) throw new Error('README.md has no reference markers');
  return readme.slice(0, a + REFERENCE_START.length) + '\n' + generateReference() + readme.slice(b);
}
