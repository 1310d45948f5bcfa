// Logs: one JSON object per line on stdout (journald and log shippers read them), or a short
// human-readable line when stdout is a terminal. A logger carries its own bound fields (device,
// role), and children add more. Levels below the configured one cost a comparison and nothing else.

import { cut, MAX_LOG_CHARS } from '../../protocol/bounds.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogSink { write(line: string): void }

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** 'json' (default when not a TTY) or 'pretty'. */
  format?: 'json' | 'pretty';
  sink?: LogSink;
  /** Wall clock for timestamps; defaults to Date.now. */
  wall?: () => number;
}

const COLOURS: Record<LogLevel, string> = { debug: '\x1b[90m', info: '\x1b[36m', warn: '\x1b[33m', error: '\x1b[31m' };

function errorFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v instanceof Error ? { message: cut(v.message, MAX_LOG_CHARS), name: v.name, stack: v.stack } : typeof v === 'string' ? cut(v, 500) : v;
  }
  return out;
}

export function createLogger(opts: LoggerOptions = {}, bound: Record<string, unknown> = {}): Logger {
  const level = opts.level ?? ((process.env.HEARTH_LOG_LEVEL as LogLevel) || 'info');
  const min = ORDER[level] ?? ORDER.info;
  const format = opts.format ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const sink = opts.sink ?? { write: (l: string) => process.stdout.write(l) };
  const wall = opts.wall ?? Date.now;

  function emit(lvl: LogLevel, msg: string, fields?: Record<string, unknown>) {
    if (ORDER[lvl] < min) return;
    msg = cut(msg, MAX_LOG_CHARS); // a line stays readable whatever a peer sent
    const all = errorFields({ ...bound, ...(fields ?? {}) });
    if (format === 'json') {
      sink.write(JSON.stringify({ time: new Date(wall()).toISOString(), level: lvl, msg, ...all }) + '\n');
      return;
    }
    const t = new Date(wall()).toISOString().slice(11, 23);
    const where = [all.device, all.role].filter(Boolean).join('/');
    delete all.device; delete all.role;
    const rest = Object.keys(all).length ? ' ' + JSON.stringify(all) : '';
    sink.write(`${t} ${COLOURS[lvl]}${lvl.padEnd(5)}\x1b[0m ${where ? `[${where}] ` : ''}${msg}${rest}\n`);
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (f) => createLogger({ level, format, sink, wall }, { ...bound, ...f }),
  };
}

/** A logger that keeps lines in memory: for tests that assert what a person would read. */
export function memoryLogger(): Logger & { lines: Array<{ level: LogLevel; msg: string } & Record<string, unknown>> } {
  const lines: Array<{ level: LogLevel; msg: string } & Record<string, unknown>> = [];
  const log = createLogger({ level: 'debug', format: 'json', sink: { write: (l) => lines.push(JSON.parse(l)) } });
  return Object.assign(log, { lines });
}
