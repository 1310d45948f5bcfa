// The RFC 7396 merge patch that turns one JSON value into another: what the config editor sends,
// so only what the person changed goes to the device (a redacted secret, "***", left as it is, is
// not sent back as a new password).

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const isObj = (v: unknown): v is Record<string, Json> => !!v && typeof v === 'object' && !Array.isArray(v);

/** A merge patch from `from` to `to`; undefined when they are equal. */
export function mergePatchBetween(from: unknown, to: unknown): Json | undefined {
  if (isObj(from) && isObj(to)) {
    const out: Record<string, Json> = {};
    for (const k of Object.keys(from)) if (!(k in to)) out[k] = null;
    for (const [k, v] of Object.entries(to)) {
      if (!(k in from)) {
        out[k] = v;
        continue;
      }
      const p = mergePatchBetween(from[k], v);
      if (p !== undefined) out[k] = p;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return JSON.stringify(from) === JSON.stringify(to) ? undefined : (to as Json);
}
