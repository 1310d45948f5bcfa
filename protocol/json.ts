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
import { ProtocolError, type ErrorCode } from './envelope.ts';
import { cut } from './bounds.ts';

export const MAX_JSON_DEPTH = 32;
export const FORBIDDEN_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

export interface StrictJsonOptions {
  /** Size limit in bytes (undefined: none). */
  maxBytes?: number;
  maxDepth?: number;
  /** What is being parsed, for the sentence ("payload", "config file x.json"). */
  what?: string;
}

interface Frame { obj: boolean; keys: Set<string> | undefined; key: string | undefined; index: number; expectKey: boolean }

const pointer = (stack: Frame[]) =>
  stack.map((f) => '/' + (f.obj ? (f.key ?? '').replace(/~/g, '~0').replace(/\//g, '~1') : String(f.index))).join('');

/** Length of the valid UTF-8 sequence at i, or 0 when the bytes there are not UTF-8. */
function utf8Len(b: Buffer, i: number): number {
  const c = b[i]!;
  let n: number, min: number;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) { n = 2; min = 0x80; } else if (c >= 0xe0 && c <= 0xef) { n = 3; min = 0x800; } else if (c >= 0xf0 && c <= 0xf4) { n = 4; min = 0x10000; } else return 0;
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
  constructor(readonly code: ErrorCode, readonly path: string, readonly detail: string) { super(detail); }
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
    if (c === 0x22) { // a string: find its end, checking UTF-8 on the way
      let j = i + 1;
      let escaped = false;
      while (j < n) {
        const d = b[j]!;
        if (d === 0x22) break;
        if (d === 0x5c) { escaped = true; j += 2; continue; }
        if (d < 0x80) { j++; continue; }
        const len = utf8Len(b, j);
        if (!len) throw new ScanError('bad-json', pointer(stack), `holds bytes that are not UTF-8 (0x${d.toString(16).padStart(2, '0')} at byte ${j})`);
        j += len;
      }
      const top = stack.at(-1);
      if (top?.obj && top.expectKey && j < n) {
        let key: string | undefined;
        if (!escaped) key = b.toString('utf8', i + 1, j);
        else try { key = JSON.parse(b.toString('utf8', i, j + 1)) as string; } catch { key = undefined; }
        if (key !== undefined) {
          top.key = key;
          top.expectKey = false;
          if (FORBIDDEN_KEYS.includes(key)) throw new ScanError('invalid', pointer(stack), `uses the key "${key}", which hearth never accepts`);
          if (top.keys!.has(key)) throw new ScanError('invalid', pointer(stack), `repeats the key "${key}" in one object (each key may appear once)`);
          top.keys!.add(key);
        }
      }
      i = j + 1;
      continue;
    }
    if (c === 0x7b || c === 0x5b) { // { [
      if (stack.length >= maxDepth) throw new ScanError('bad-json', pointer(stack), `nests deeper than ${maxDepth} levels`);
      stack.push(c === 0x7b ? { obj: true, keys: new Set(), key: undefined, index: 0, expectKey: true } : { obj: false, keys: undefined, key: undefined, index: 0, expectKey: false });
    } else if (c === 0x7d || c === 0x5d) { // } ]
      stack.pop();
    } else if (c === 0x2c) { // ,
      const top = stack.at(-1);
      if (top?.obj) { top.expectKey = true; top.key = undefined; } else if (top) top.index++;
    } else if (c >= 0x80) {
      const len = utf8Len(b, i);
      if (!len) throw new ScanError('bad-json', pointer(stack), `holds bytes that are not UTF-8 (0x${c.toString(16).padStart(2, '0')} at byte ${i})`);
      i += len;
      continue;
    }
    i++;
  }
  return pointer(stack);
}

/** Parses JSON strictly (see the top of this file), or throws a ProtocolError with a path. */
export function parseStrictJson(input: Buffer | string, o: StrictJsonOptions = {}): unknown {
  const what = o.what ?? 'payload';
  const b = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  if (o.maxBytes !== undefined && b.length > o.maxBytes) throw new ProtocolError('too-large', `${what} is ${b.length} bytes; the limit is ${o.maxBytes}`, [{ path: '', message: `must be at most ${o.maxBytes} bytes` }]);
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) {
    throw new ProtocolError('bad-json', `${what} starts with a byte-order mark (U+FEFF); save it as UTF-8 without BOM`, [{ path: '', message: 'must not start with a byte-order mark' }]);
  }
  if (b.length === 0) throw new ProtocolError('bad-json', `${what} is empty; it must be a JSON document`, [{ path: '', message: 'must not be empty' }]);
  try {
    scan(b, o.maxDepth ?? MAX_JSON_DEPTH);
  } catch (e) {
    if (!(e instanceof ScanError)) throw e;
    const at = e.path || '/';
    throw new ProtocolError(e.code, `${what} is refused: the value at ${at} ${e.detail}`, [{ path: e.path, message: e.detail }]);
  }
  const text = b.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = cut((e as Error).message, 200);
    const pos = /position (\d+)/.exec(msg);
    const path = pos ? scan(b, o.maxDepth ?? MAX_JSON_DEPTH, Buffer.byteLength(text.slice(0, Number(pos[1])))) : '';
    throw new ProtocolError('bad-json', `${what} is not valid JSON${path ? ` (at ${path})` : ''}: ${msg}`, [{ path, message: msg }]);
  }
}
