// A file-backed GPIO wire for the stand-in gpiod tools (test/helpers/fake-gpiod/): a fresh
// directory, the environment that puts the tools first on PATH, and the far end of the wire
// (drive an input, read an output, read the trace of every level change with its time).
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FAKE_GPIOD_BIN = fileURLToPath(new URL('./fake-gpiod', import.meta.url));

/**
 * Where simulated wires live: tmpfs when there is one (/dev/shm), so a stand-in's level change
 * costs a memory write as a register write or a GPIO ioctl does, not an ext4 journal round trip
 * (many ms on a busy disk, counted against the press that made it).
 */
export const WIRE_TMP = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

export interface TraceEntry {
  t: number;
  line: number;
  level: number;
  who: string;
}

export interface FakeWire {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** Drives a line as the far end; waits first (up to 5 s) for a gpiomon of that line to be watching. */
  drive(line: number, level: 0 | 1): Promise<void>;
  level(line: number): 0 | 1;
  trace(): TraceEntry[];
  remove(): void;
}

export function fakeGpiod(o: { version?: 1 | 2; persist?: boolean } = {}): FakeWire {
  const dir = mkdtempSync(join(WIRE_TMP, 'hearth-fake-gpio-'));
  mkdirSync(join(dir, 'lines'), { recursive: true });
  const env = {
    PATH: `${FAKE_GPIOD_BIN}:${process.env.PATH ?? ''}`,
    FAKE_GPIO_DIR: dir,
    FAKE_GPIOD_VERSION: String(o.version ?? 2),
    FAKE_GPIO_PERSIST: o.persist ? '1' : '0',
  };
  const path = (line: number) => join(dir, 'lines', String(line));
  return {
    dir,
    env,
    async drive(line, level) {
      for (let i = 0; i < 500 && !existsSync(join(dir, 'mon', String(line))); i++) await new Promise((r) => setTimeout(r, 10));
      writeFileSync(path(line), String(level));
    },
    level(line) {
      return existsSync(path(line)) && readFileSync(path(line), 'utf8').trim() === '1' ? 1 : 0;
    },
    trace() {
      const f = join(dir, 'trace.log');
      if (!existsSync(f)) return [];
      return readFileSync(f, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [t, line, level, who] = l.split(' ');
          return { t: Number(t), line: Number(line), level: Number(level), who: who ?? '' };
        });
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
