// Small helpers over TypeBox so every schema in protocol/ is written the same way: objects are
// closed (unknown keys are an error), and every schema has a description the reference uses.
import { Type, type TProperties, type ObjectOptions, type TSchema } from '@sinclair/typebox';

export { Type };
export type { Static, TSchema, TObject } from '@sinclair/typebox';

/** An object that rejects unknown keys. */
export function Obj<T extends TProperties>(props: T, opts: ObjectOptions = {}) {
  return Type.Object(props, { additionalProperties: false, ...opts });
}

export const Id = (description = 'identifier: letters, digits, "-" and "_", 1–64 characters') =>
  Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description });

export const Ipv4 = (description = 'IPv4 address') =>
  Type.String({ pattern: '^((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)$', description });

export const Mac = (description = 'MAC address, aa:bb:cc:dd:ee:ff') =>
  Type.String({ pattern: '^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$', description });

export const Port = (description = 'UDP/TCP port') => Type.Integer({ minimum: 1, maximum: 65535, description });

/** A free-form map of numbers (counters, gauges). */
export const NumberMap = (description: string) => Type.Record(Type.String(), Type.Number(), { description });

export function describe<T extends TSchema>(schema: T, description: string): T {
  return { ...schema, description } as T;
}

/** The literal values a schema allows (a union of literals, an enum, or one const), else []. */
export function literalValues(schema: TSchema | undefined): string[] {
  if (!schema) return [];
  const s = schema as { const?: unknown; enum?: unknown[]; anyOf?: TSchema[]; oneOf?: TSchema[] };
  if (typeof s.const === 'string') return [s.const];
  if (Array.isArray(s.enum)) return s.enum.filter((x): x is string => typeof x === 'string');
  const branches = s.anyOf ?? s.oneOf;
  return branches ? branches.flatMap((b) => literalValues(b)) : [];
}
