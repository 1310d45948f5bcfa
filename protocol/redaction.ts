// The way back from a redacted config. A controller that reads hearth/<id>/config sees every
// secret as "***"; when it sends that config (or a patch copied from it) back, "***" means "keep
// the secret the device has", never a new secret called "***" (which once locked a device out of
// its broker for good). A "***" where the device has no secret to keep is refused with its path.
import { SECRET_KEYS, REDACTED } from './config.ts';
import { ProtocolError, type ErrorDetail } from './envelope.ts';

const isObj = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x);

/** True when a "***" stands at a secret key anywhere in `x` (no allocation: the usual config has none). */
function hasRedacted(x: unknown): boolean {
  if (Array.isArray(x)) return x.some(hasRedacted);
  if (!isObj(x)) return false;
  for (const k in x) {
    if (!Object.hasOwn(x, k)) continue;
    const v = x[k];
    if (v === REDACTED ? SECRET_KEYS.has(k) : hasRedacted(v)) return true;
  }
  return false;
}

/**
 * A whole config with every "***" secret replaced by the applied config's value at the same path.
 * Without any "***" that is the input itself (not a copy): a large config sent in a flood costs
 * one walk, not a copy of every object and path.
 */
export function restoreRedacted(input: unknown, applied: unknown): unknown {
  if (!hasRedacted(input)) return input;
  const missing: ErrorDetail[] = [];
  const walk = (x: unknown, cur: unknown, path: string): unknown => {
    if (Array.isArray(x)) return x.map((v, i) => walk(v, Array.isArray(cur) ? cur[i] : undefined, `${path}/${i}`));
    if (!isObj(x)) return x;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) {
      const have = isObj(cur) ? cur[k] : undefined;
      if (SECRET_KEYS.has(k) && v === REDACTED) {
        if (have === undefined || have === REDACTED)
          missing.push({
            path: `${path}/${k}`,
            message: `is "${REDACTED}", the redacted placeholder, but the device has no secret here to keep; send the real value`,
          });
        else out[k] = have;
      } else out[k] = walk(v, have, `${path}/${k}`);
    }
    return out;
  };
  const out = walk(input, applied, '');
  if (missing.length)
    throw new ProtocolError(
      'invalid',
      `${missing.map((d) => d.path).join(', ')}: "${REDACTED}" means "keep the current secret", and there is none`,
      missing,
    );
  return out;
}

/** A merge patch with "***" secrets removed: in a patch, "***" means "leave this secret as it is". */
export function stripRedacted(patch: unknown): unknown {
  if (Array.isArray(patch)) return patch;
  if (!isObj(patch)) return patch;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(patch)) {
    if (SECRET_KEYS.has(k) && v === REDACTED) continue;
    out[k] = stripRedacted(v);
  }
  return out;
}
