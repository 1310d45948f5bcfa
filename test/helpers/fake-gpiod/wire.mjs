// The simulated wires the stand-in gpiod tools share: one file per line under $FAKE_GPIO_DIR/lines
// holding its physical level, and $FAKE_GPIO_DIR/trace.log, one line per level change:
// "<CLOCK_MONOTONIC ms> <line> <level> <who>" (who: gpioset pid, "kernel" when a released line
// falls back, "test"). A test reads the trace to see what the wire did, from outside every process.
// Kernel policy when a gpioset exits: FAKE_GPIO_PERSIST=1 keeps the last level (Raspberry Pi OS
// kernels, persist_gpio_outputs=y); otherwise the line reverts to an input and its pull decides
// ($FAKE_GPIO_DIR/pull/<line>, default 0: the base resistor to ground), as Debian's kernel does.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export const dir = process.env.FAKE_GPIO_DIR ?? '/tmp/fake-gpio';
mkdirSync(join(dir, 'lines'), { recursive: true });
mkdirSync(join(dir, 'pull'), { recursive: true });

export const now = () => Number(process.hrtime.bigint()) / 1e6;
export const version = Number(process.env.FAKE_GPIOD_VERSION ?? 2) >= 2 ? 2 : 1;
export const linePath = (line) => join(dir, 'lines', String(line));

export function pull(line) {
  const p = join(dir, 'pull', String(line));
  return existsSync(p) ? Number(readFileSync(p, 'utf8').trim()) : 0;
}

/** A line's level; an undriven line follows the bias asked for (-b/-B), else its pull file. */
export function level(line, bias) {
  const p = linePath(line);
  if (existsSync(p)) return Number(readFileSync(p, 'utf8').trim() || 0);
  return bias === 'pull-up' ? 1 : bias === 'pull-down' ? 0 : pull(line);
}

/** The bias argument of a gpioget/gpiomon command line, if any. */
export function biasOf(args) {
  const i = args.findIndex((a) => a === '-b' || a === '-B');
  return i >= 0 ? args[i + 1] : undefined;
}

export function drive(line, lv, who) {
  const t = now();
  const before = existsSync(linePath(line)) ? level(line) : undefined;
  writeFileSync(linePath(line), String(lv));
  if (before !== lv) appendFileSync(join(dir, 'trace.log'), `${t.toFixed(3)} ${line} ${lv} ${who}\n`);
}

/** A released line: the kernel keeps its level (persist) or lets the pull decide. */
export function release(line) {
  if (process.env.FAKE_GPIO_PERSIST === '1') return;
  drive(line, pull(line), 'kernel');
}

/** Parses "17=1" (v2 and v1 alike). */
export function parseAssign(s) {
  const m = /^(\d+)=(\d)$/.exec(s);
  if (!m) throw new Error(`bad line value "${s}"`);
  return { line: Number(m[1]), value: Number(m[2]) };
}
