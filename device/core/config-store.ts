// The device's config on disk. The file holds the last good config: a config is written only
// after it validated and applied, and it is written atomically (atomic-file.ts), so a device that
// loses power mid-write boots with the old or the new config, never a broken one.
//
// File format: either a plain device config (what a person writes by hand; revision 0) or the
// stored form `{ "revision": N, "appliedAt": ISO, "config": {…} }` that the runtime writes.
import { readFile, readdir, unlink } from 'node:fs/promises';
import { join, dirname, basename } from 'node:path';
import { normalizeConfig, type DeviceConfig } from '../../protocol/config.ts';
import { ProtocolError } from '../../protocol/envelope.ts';
import { parseStrictJson } from '../../protocol/json.ts';
import { writeFileAtomic } from './atomic-file.ts';
import type { Logger } from './log.ts';
import type { TObject } from '@sinclair/typebox';

export interface StoredConfig {
  revision: number;
  appliedAt: string;
  config: DeviceConfig;
}

export class ConfigFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
    readonly details: Array<{ path: string; message: string }> = [],
  ) {
    super(message);
    this.name = 'ConfigFileError';
  }
}

/** Reads and validates a config file (plain or stored form). Returns undefined when the file does not exist. */
export async function readConfigFile(file: string, schema?: TObject): Promise<StoredConfig | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigFileError(file, `cannot read config file ${file}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseStrictJson(bytes, { what: `config file ${file}` });
  } catch (e) {
    const pe = e as ProtocolError;
    throw new ConfigFileError(file, pe.message, pe.details ?? []);
  }
  const stored = raw && typeof raw === 'object' && 'config' in raw && 'revision' in raw;
  const body = stored ? (raw as { config: unknown }).config : raw;
  try {
    const config = normalizeConfig(body, schema);
    if (!stored) return { revision: 0, appliedAt: new Date(0).toISOString(), config };
    const r = raw as { revision: unknown; appliedAt: unknown };
    const revision = Number.isInteger(r.revision) && (r.revision as number) >= 0 ? (r.revision as number) : 0;
    return { revision, appliedAt: typeof r.appliedAt === 'string' ? r.appliedAt : new Date(0).toISOString(), config };
  } catch (e) {
    if (e instanceof ProtocolError) {
      const lines = (e.details ?? []).map((d) => `  ${d.path || '/'}: ${d.message}`).join('\n');
      throw new ConfigFileError(file, `config file ${file} is invalid:\n${lines || '  ' + e.message}`, e.details ?? []);
    }
    throw e;
  }
}

/** Temp files a power cut left between write and rename (atomic-file.ts names them .<name>.tmp-*). */
async function removeStaleTemps(file: string, log: Logger): Promise<void> {
  const dir = dirname(file),
    prefix = `.${basename(file)}.tmp-`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const n of names.filter((x) => x.startsWith(prefix))) {
    await unlink(join(dir, n)).then(
      () => log.info(`removed ${n}, left by an interrupted save`),
      () => {},
    );
  }
}

export class ConfigStore {
  private stored: StoredConfig | undefined;
  private writing: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly file: string,
    private readonly log: Logger,
    stored: StoredConfig | undefined,
  ) {
    this.stored = stored;
  }

  /** Opens the store at `file` (default `<stateDir>/config.json`), reading what is there. */
  static async open(stateDir: string, log: Logger, file = join(stateDir, 'config.json'), schema?: TObject): Promise<ConfigStore> {
    await removeStaleTemps(file, log);
    return new ConfigStore(file, log, await readConfigFile(file, schema));
  }

  current(): StoredConfig | undefined {
    return this.stored;
  }

  /** Writes `config` as the next revision and returns that revision. Saves are serialised. */
  async save(config: DeviceConfig, wall: () => number = Date.now): Promise<number> {
    const run = this.writing.then(async () => {
      const revision = (this.stored?.revision ?? 0) + 1;
      const next: StoredConfig = { revision, appliedAt: new Date(wall()).toISOString(), config };
      await writeFileAtomic(this.file, JSON.stringify(next, null, 2) + '\n');
      this.stored = next;
      this.log.info(`config revision ${revision} saved`, { file: this.file });
      return revision;
    });
    this.writing = run.catch(() => {});
    return run;
  }
}
