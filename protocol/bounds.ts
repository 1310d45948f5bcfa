// Bounds on what hearth writes back: a reply and a log line have a size a person can read and a
// broker can carry, whatever the request was. A 53 KB invalid config once earned a 484 KB reply
// and a 182 KB log line; now a reply lists at most MAX_ERROR_DETAILS errors (and says how many
// more there were), and any text is cut at a fixed length with a note saying so.
import type { ErrorDetail } from './envelope.ts';

export const MAX_ERROR_DETAILS = 10;
/** Longest error message, path or detail text kept in a reply. */
export const MAX_TEXT_CHARS = 500;
/** Longest log message. */
export const MAX_LOG_CHARS = 2000;

/** `s` if short enough, else its start and a note of how much was cut. */
export function cut(s: string, max = MAX_TEXT_CHARS): string {
  if (s.length <= max) return s;
  return `${s.slice(0, max)}… (cut: ${s.length - max} more characters)`;
}

/** At most MAX_ERROR_DETAILS details, each cut; a last line says how many were left out. */
export function boundDetails(details: readonly ErrorDetail[], max = MAX_ERROR_DETAILS): ErrorDetail[] {
  const out = details.slice(0, max).map((d) => ({ path: cut(d.path), message: cut(d.message) }));
  if (details.length > max) out.push({ path: '', message: `… and ${details.length - max} more errors (only the first ${max} are listed)` });
  return out;
}

/** One sentence listing the first errors: "a: must be x; b: unknown field; … and 40 more". */
export function summarize(details: readonly ErrorDetail[], max = MAX_ERROR_DETAILS): string {
  const head = details
    .slice(0, max)
    .map((d) => `${cut(d.path || '/', 80)} ${cut(d.message, 120)}`)
    .join('; ');
  return details.length > max ? `${head}; … and ${details.length - max} more` : head;
}
