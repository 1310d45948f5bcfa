// Every role state and event a device publishes, checked against the protocol from the wire: the
// envelope against RoleStateEnvelope / EventEnvelope, the role's `detail` against its spec's state
// schema, an event's `data` against the schema of its type in the spec's `events`. The test
// controller runs this over every message it saw when it closes and fails the file on any, so
// every integration suite that uses a controller checks what the roles really send.
import { check, topics as topicsFor, ROLE_SPECS, RoleStateEnvelope, EventEnvelope, type RoleSpec } from '../../protocol/index.ts';

/** Events the supervisor publishes on any role's topic (not the role's own). */
const SUPERVISOR_EVENTS = new Set(['role-failed', 'role-restarted']);

const lines = (r: { ok: false; errors: Array<{ path: string; message: string }> }) =>
  r.errors.map((e) => `${e.path || '/'} ${e.message}`).join('; ');

/** Why a message breaks the protocol, or undefined when it does not (or is not a role's state or event). */
export function publishedProblem(
  topic: string,
  payload: unknown,
  o: { base?: string; specs?: readonly RoleSpec[] } = {},
): string | undefined {
  const p = topicsFor(o.base ?? 'hearth').parse(topic);
  if (!p || (p.kind !== 'state' && p.kind !== 'event') || payload === '') return undefined;
  const spec = (o.specs ?? ROLE_SPECS).find((s) => s.name === p.role);
  if (!spec) return undefined; // a role this check was not told about (a test's own)
  if (p.kind === 'state') {
    const env = check(RoleStateEnvelope, payload);
    if (!env.ok) return `${topic}: state envelope: ${lines(env)}`;
    if (env.value.detail === undefined) return undefined;
    const d = check(spec.state, env.value.detail);
    return d.ok ? undefined : `${topic}: ${p.role} state: ${lines(d)}`;
  }
  const env = check(EventEnvelope, payload);
  if (!env.ok) return `${topic}: event envelope: ${lines(env)}`;
  if (SUPERVISOR_EVENTS.has(env.value.type)) return undefined;
  const schema = spec.events[env.value.type];
  if (!schema)
    return `${topic}: ${p.role} has no event type "${env.value.type}" in its spec (it has ${Object.keys(spec.events).join(', ')})`;
  const d = check(schema, env.value.data ?? {});
  return d.ok ? undefined : `${topic}: ${p.role} event ${env.value.type}: ${lines(d)}`;
}
