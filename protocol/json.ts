// Strict JSON for everything hearth reads from outside (MQTT payloads, config and provisioning
// files, CLI arguments). JSON.parse alone takes too much: invalid UTF-8 becomes U+FFFD, the last
// of two equal keys silently wins, "__proto__" turns into a prototype change in a merge patch, and
// deep nesting overflows the stack. So one iterative byte scan runs first and refuses, with a
// sentence and a JSON path:
// - a byte-order mark at the start ("save it as UTF-8 without BOM");
// - bytes that are not UTF-8, anywhere;
// - nesting deeper than MAX_JSON_DEPTH (checked before JSON.parse ever recurses);
// - an object key that appears twice in the same object (refused, not "last one wins": a config
//   that says two things about one field is a mistake a person should see);
// - the keys "__proto__", "constructor" and "prototype" (no hearth schema has them; they only
//   serve prototype pollution).
// Syntax errors are left to JSON.parse; its position is turned into a path too.
//
// Cost: every config/set and command goes through here, and a flood of large payloads must not
// cost a device more than a few milliseconds each (bench core: flood_ping_delay_ms). So the usual
// path allocates nothing per key: the native UTF-8 check, one loop that tracks depth and counts
// the ':' outside strings (one per object member), JSON.parse, then a walk that counts the parsed
// members and looks for the forbidden keys; a duplicate key shows up as fewer parsed members than
// colons. Only when one of these finds something does the byte scan below run, which says what and
// where (the same sentence and path whichever way it was found).
import { ProtocolError, type ErrorCode } from './envelope.ts';
import { cut } from './bounds.ts';

/** Throws on any byte sequence that is not UTF-8; keeps a byte-order mark as text (refused separately). */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export const MAX_JSON_DEPTH = 32;
export const FORBIDDEN_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

export interface StrictJsonOptions {
  /** Size limit in bytes (undefined: none). */
  maxBytes?: number;
  maxDepth?: number;
  /** What is being parsed, for the sentence ("payload", "config file x.json"). */
  what?: string;
}

interface Frame {
  obj: boolean;
  keys: Set<string> | undefined;
  key: string | undefined;
  index: number;
  expectKey: boolean;
}

const pointer = (stack: Frame[]) =>
  stack.map((f) => '/' + (f.obj ? (f.key ?? '').replace(/~/g, '~0').replace(/\//g, '~1') : String(f.index))).join('');

/** Length of the valid UTF-8 sequence at i, or 0 when the bytes there are not UTF-8. */
function utf8Len(b: Buffer, i: number): number {
  const c = b[i]!;
  let n: number, min: number;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    min = 0x10000;
  } else return 0;
  if (i + n > b.length) return 0;
  let cp = c & (0xff >> (n + 1));
  for (let k = 1; k < n; k++) {
    const d = b[i + k]!;
    if ((d & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (d & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

class ScanError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly path: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/**
 * Scans `b` without recursion. Throws ScanError for the refusals above; with `stopAt`, returns
 * the JSON path of the value at that byte offset instead (to place a JSON.parse error).
 */
function scan(b: Buffer, maxDepth: number, stopAt = -1): string {
  const stack: Frame[] = [];
  const n = b.length;
  let i = 0;
  while (i < n) {
    if (i >= stopAt && stopAt >= 0) return pointer(stack);
    const c = b[i]!;
    if (c === 0x22) {
      // a string: find its end, checking UTF-8 on the way
      let j = i + 1;
      let escaped = false;
      while (j < n) {
        const d = b[j]!;
        if (d === 0x22) break;
        if (d === 0x5c) {
          escaped = true;
          j += 2;
          continue;
        }
        if (d < 0x80) {
          j++;
          continue;
        }
        const len = utf8Len(b, j);
        if (!len)
          throw new ScanError(
            'bad-json',
            pointer(stack),
            `holds bytes that are not UTF-8 (0x${d.toString(16).padStart(2, '0')} at byte ${j})`,
          );
        j += len;
      }
      const top = stack.at(-1);
      if (top?.obj && top.expectKey && j < n) {
        let key: string | undefined;
        if (!escaped) key = b.toString('utf8', i + 1, j);
        else
          try {
            key = JSON.parse(b.toString('utf8', i, j + 1)) as string;
          } catch {
            key = undefined;
          }
        if (key !== undefined) {
          top.key = key;
          top.expectKey = false;
          if (FORBIDDEN_KEYS.includes(key))
            throw new ScanError('invalid', pointer(stack), `uses the key "${key}", which hearth never accepts`);
          if (top.keys!.has(key))
            throw new ScanError('invalid', pointer(stack), `repeats the key "${key}" in one object (each key may appear once)`);
          top.keys!.add(key);
        }
      }
      i = j + 1;
      continue;
    }
    if (c === 0x7b || c === 0x5b) {
      // { [
      if (stack.length >= maxDepth) throw new ScanError('bad-json', pointer(stack), `nests deeper than ${maxDepth} levels`);
      stack.push(
        c === 0x7b
          ? { obj: true, keys: new Set(), key: undefined, index: 0, expectKey: true }
          : { obj: false, keys: undefined, key: undefined, index: 0, expectKey: false },
      );
    } else if (c === 0x7d || c === 0x5d) {
      // } ]
      stack.pop();
    } else if (c === 0x2c) {
      // ,
      const top = stack.at(-1);
      if (top?.obj) {
        top.expectKey = true;
        top.key = undefined;
      } else if (top) top.index++;
    } else if (c >= 0x80) {
      const len = utf8Len(b, i);
      if (!len)
        throw new ScanError(
          'bad-json',
          pointer(stack),
          `holds bytes that are not UTF-8 (0x${c.toString(16).padStart(2, '0')} at byte ${i})`,
        );
      i += len;
      continue;
    }
    i++;
  }
  return pointer(stack);
}

/**
 * The allocation-free first pass: the number of ':' outside strings (one per object member in
 * valid JSON), or -1 when the input needs the byte scan (nesting over the limit, a string that
 * does not end). Closing brackets never take the depth below 0, as in `scan`.
 */
function quickScan(b: Buffer, maxDepth: number): number {
  const n = b.length;
  let depth = 0,
    colons = 0,
    i = 0;
  while (i < n) {
    const c = b[i]!;
    if (c === 0x22) {
      let j = i + 1;
      for (;;) {
        j = b.indexOf(0x22, j);
        if (j < 0) return -1;
        let k = j - 1;
        while (k > i && b[k] === 0x5c) k--;
        if ((j - 1 - k) % 2 === 0) break; // an even run of backslashes: this quote ends the string
        j++;
      }
      i = j + 1;
      continue;
    }
    if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return -1;
    } else if (c === 0x7d || c === 0x5d) {
      if (depth > 0) depth--;
    } else if (c === 0x3a) colons++;
    i++;
  }
  return colons;
}

/** Object members in a parsed value, or -1 at an object holding a forbidden key. Depth is already bounded. */
function members(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  let n = 0;
  if (Array.isArray(v)) {
    for (const x of v) {
      const m = members(x);
      if (m < 0) return -1;
      n += m;
    }
    return n;
  }
  const o = v as Record<string, unknown>;
  for (const k of FORBIDDEN_KEYS) if (Object.hasOwn(o, k)) return -1;
  for (const k in o) {
    const m = members(o[k]);
    if (m < 0) return -1;
    n += m + 1;
  }
  return n;
}

/** Parses JSON strictly (see the top of this file), or throws a ProtocolError with a path. */
export function parseStrictJson(input: Buffer | string, o: StrictJsonOptions = {}): unknown {
  const what = o.what ?? 'payload';
  const b = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  if (o.maxBytes !== undefined && b.length > o.maxBytes)
    throw new ProtocolError('too-large', `${what} is ${b.length} bytes; the limit is ${o.maxBytes}`, [
      { path: '', message: `must be at most ${o.maxBytes} bytes` },
    ]);
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) {
    throw new ProtocolError('bad-json', `${what} starts with a byte-order mark (U+FEFF); save it as UTF-8 without BOM`, [
      { path: '', message: 'must not start with a byte-order mark' },
    ]);
  }
  if (b.length === 0)
    throw new ProtocolError('bad-json', `${what} is empty; it must be a JSON document`, [{ path: '', message: 'must not be empty' }]);
  const maxDepth = o.maxDepth ?? MAX_JSON_DEPTH;
  /** The byte scan: throws the first refusal it finds, in byte order, as a ProtocolError. */
  const explain = () => {
    try {
      scan(b, maxDepth);
    } catch (e) {
      if (!(e instanceof ScanError)) throw e;
      const at = e.path || '/';
      throw new ProtocolError(e.code, `${what} is refused: the value at ${at} ${e.detail}`, [{ path: e.path, message: e.detail }]);
    }
  };
  // One native pass both checks UTF-8 and decodes (TextDecoder, not node:buffer's isUtf8: protocol/
  // is bundled into the console too, and a browser has no node:buffer).
  let text: string | undefined;
  try {
    text = strictUtf8.decode(b);
  } catch {
    text = undefined;
  }
  const colons = text === undefined ? -1 : quickScan(b, maxDepth);
  if (colons < 0 || text === undefined) {
    explain();
    text ??= b.toString('utf8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    explain(); // a refusal before the syntax error is reported first, as the byte scan meets it
    const msg = cut((e as Error).message, 200);
    const pos = /position (\d+)/.exec(msg);
    const path = pos ? scan(b, maxDepth, Buffer.byteLength(text.slice(0, Number(pos[1])))) : '';
    throw new ProtocolError('bad-json', `${what} is not valid JSON${path ? ` (at ${path})` : ''}: ${msg}`, [{ path, message: msg }]);
  }
  if (members(value) !== colons) explain();
  return value;
}
