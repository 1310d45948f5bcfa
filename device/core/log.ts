// Logs: one JSON object per line on stdout (journald and log shippers read them), or a short
// human-readable line when stdout is a terminal. A logger carries its own bound fields (device,
// role), and children add more. Levels below the configured one cost a comparison and nothing else.
//
// Rules:
// - One level per logger tree: `setLevel` on any logger changes it for its parent and every child
//   (the runtime applies `log.level` from the config at start and on every config/set).
// - Under systemd (JOURNAL_STREAM set) each line starts with its syslog priority, `<3>` error,
//   `<4>` warn, `<6>` info, `<7>` debug, which journald strips and keeps as the entry's PRIORITY
//   (so `journalctl -p warning` works).
// - A closed stdout (`hearth … | head`) ends logging quietly: EPIPE is not a crash.

import { cut, MAX_LOG_CHARS } from '../../protocol/bounds.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
/** syslog priorities (RFC 5424): error 3, warning 4, informational 6, debug 7. */
export const SYSLOG_PRIORITY: Record<LogLevel, number> = { debug: 7, info: 6, warn: 4, error: 3 };

export interface LogSink {
  write(line: string): void;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
  /** The level of this logger's tree (shared with its parent and children). */
  readonly level: LogLevel;
  /** Changes the level of the whole tree. */
  setLevel(level: LogLevel): void;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** 'json' (default when not a TTY) or 'pretty'. */
  format?: 'json' | 'pretty';
  sink?: LogSink;
  /** Wall clock for timestamps; defaults to Date.now. */
  wall?: () => number;
  /** Prefix lines with `<N>` syslog priorities (default: when JOURNAL_STREAM is set, i.e. under systemd). */
  journal?: boolean;
}

const COLOURS: Record<LogLevel, string> = { debug: '\x1b[90m', info: '\x1b[36m', warn: '\x1b[33m', error: '\x1b[31m' };

export function isLogLevel(x: unknown): x is LogLevel {
  return typeof x === 'string' && (LOG_LEVELS as readonly string[]).includes(x);
}

function errorFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] =
      v instanceof Error
        ? { message: cut(v.message, MAX_LOG_CHARS), name: v.name, stack: v.stack }
        : typeof v === 'string'
          ? cut(v, 500)
          : v;
  }
  return out;
}

let stdoutClosed = false;
let stdoutWatched = false;
/** stdout as a sink that stops writing, quietly, once the reader has gone (EPIPE). */
function stdoutSink(): LogSink {
  if (!stdoutWatched) {
    stdoutWatched = true;
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') {
        stdoutClosed = true;
        return;
      }
      throw e;
    });
  }
  return {
    write: (l) => {
      if (!stdoutClosed) process.stdout.write(l);
    },
  };
}

interface Shared {
  min: number;
  level: LogLevel;
}

function build(
  shared: Shared,
  format: 'json' | 'pretty',
  sink: LogSink,
  wall: () => number,
  journal: boolean,
  bound: Record<string, unknown>,
): Logger {
  function emit(lvl: LogLevel, msg: string, fields?: Record<string, unknown>) {
    if (ORDER[lvl] < shared.min) return;
    msg = cut(msg, MAX_LOG_CHARS); // a line stays readable whatever a peer sent
    const all = errorFields({ ...bound, ...(fields ?? {}) });
    const prefix = journal ? `<${SYSLOG_PRIORITY[lvl]}>` : '';
    if (format === 'json') {
      sink.write(prefix + JSON.stringify({ time: new Date(wall()).toISOString(), level: lvl, msg, ...all }) + '\n');
      return;
    }
    const t = new Date(wall()).toISOString().slice(11, 23);
    const where = [all.device, all.role].filter(Boolean).join('/');
    delete all.device;
    delete all.role;
    const rest = Object.keys(all).length ? ' ' + JSON.stringify(all) : '';
    sink.write(`${prefix}${t} ${COLOURS[lvl]}${lvl.padEnd(5)}\x1b[0m ${where ? `[${where}] ` : ''}${msg}${rest}\n`);
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (f) => build(shared, format, sink, wall, journal, { ...bound, ...f }),
    get level() {
      return shared.level;
    },
    setLevel(level) {
      if (!isLogLevel(level)) return;
      shared.level = level;
      shared.min = ORDER[level];
    },
  };
}

export function createLogger(opts: LoggerOptions = {}, bound: Record<string, unknown> = {}): Logger {
  const env = process.env.HEARTH_LOG_LEVEL;
  const level: LogLevel = opts.level && isLogLevel(opts.level) ? opts.level : isLogLevel(env) ? env : 'info';
  const format = opts.format ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const sink = opts.sink ?? stdoutSink();
  const journal = opts.journal ?? !!process.env.JOURNAL_STREAM;
  return build({ level, min: ORDER[level] }, format, sink, opts.wall ?? Date.now, journal, bound);
}

/** A logger that keeps lines in memory: for tests that assert what a person would read. */
export function memoryLogger(): Logger & { lines: Array<{ level: LogLevel; msg: string } & Record<string, unknown>> } {
  const lines: Array<{ level: LogLevel; msg: string } & Record<string, unknown>> = [];
  const log = createLogger({ level: 'debug', format: 'json', journal: false, sink: { write: (l) => lines.push(JSON.parse(l)) } });
  return Object.assign(log, { lines });
}
