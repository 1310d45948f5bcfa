// Validation at the edge: one ajv instance, all errors, no type coercion, no defaults injected,
// unknown keys rejected by the schemas themselves (see kit.ts). Errors come back as
// `{path, message}` lines a person can read ("/roles/player/latencyMs: must be >= 20").
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { TSchema, Static } from '@sinclair/typebox';
import { MAX_PAYLOAD_BYTES } from './version.ts';
import { ProtocolError, type ErrorDetail } from './envelope.ts';
import { parseStrictJson } from './json.ts';
import { summarize } from './bounds.ts';

const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false, useDefaults: false, removeAdditional: false });

const cache = new WeakMap<object, ValidateFunction>();

function compiled(schema: TSchema): ValidateFunction {
  let fn = cache.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    cache.set(schema, fn);
  }
  return fn;
}

export function formatErrors(errors: ErrorObject[] | null | undefined): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  const seen = new Set<string>();
  const consts = new Map<string, unknown[]>();
  for (const e of errors ?? []) {
    let path = e.instancePath;
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties') {
      path = `${path}/${(e.params as { additionalProperty: string }).additionalProperty}`;
      message = 'unknown field';
    } else if (e.keyword === 'required') {
      path = `${path}/${(e.params as { missingProperty: string }).missingProperty}`;
      message = 'is required';
    } else if (e.keyword === 'enum') {
      message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((x) => JSON.stringify(x)).join(', ')}`;
    } else if (e.keyword === 'const') {
      const allowed = (e.params as { allowedValue: unknown }).allowedValue;
      message = `must be ${JSON.stringify(allowed)}`;
      consts.set(path, [...(consts.get(path) ?? []), allowed]);
    }
    // anyOf over literals produces one line per branch; keep one readable line.
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message });
  }
  // A union of literals fails once per member ("must be \"bypass\"", "must be \"memory\"", …) plus
  // an anyOf line; fold those into one: "must be one of bypass, memory, full".
  return foldUnionNoise(out, consts);
}

function foldUnionNoise(list: ErrorDetail[], consts: Map<string, unknown[]>): ErrorDetail[] {
  const byPath = new Map<string, ErrorDetail[]>();
  for (const d of list) byPath.set(d.path, [...(byPath.get(d.path) ?? []), d]);
  const out: ErrorDetail[] = [];
  for (const [path, ds] of byPath) {
    const anyOf = ds.find((d) => d.message === 'must match a schema in anyOf');
    if (anyOf && ds.length > 1) {
      const members = consts.get(path) ?? [];
      const isMember = (d: ErrorDetail) => members.some((m) => d.message === `must be ${JSON.stringify(m)}`);
      const rest = ds.filter((d) => d !== anyOf && !isMember(d));
      const oneOf = members.length
        ? `must be one of ${members.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(', ')}`
        : 'is not one of the allowed values';
      out.push(...(rest.length ? rest : [{ path, message: oneOf }]));
    } else out.push(...ds);
  }
  return out;
}

export function check<T extends TSchema>(schema: T, value: unknown): { ok: true; value: Static<T> } | { ok: false; errors: ErrorDetail[] } {
  const fn = compiled(schema);
  if (fn(value)) return { ok: true, value: value as Static<T> };
  return { ok: false, errors: formatErrors(fn.errors) };
}

/** Validates or throws a ProtocolError('invalid') listing every error. */
export function assertValid<T extends TSchema>(schema: T, value: unknown, what = 'payload'): Static<T> {
  const r = check(schema, value);
  if (!r.ok) {
    throw new ProtocolError('invalid', `${what} is invalid: ${summarize(r.errors)}`, r.errors);
  }
  return r.value;
}

/** Parses an MQTT payload as strict JSON (json.ts) within the size limit, or throws a ProtocolError. */
export function parseJsonPayload(payload: Buffer | string, maxBytes = MAX_PAYLOAD_BYTES): unknown {
  return parseStrictJson(payload, { maxBytes });
}
