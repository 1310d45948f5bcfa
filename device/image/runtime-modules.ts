// The image's /opt/hearth/node_modules keeps only what the native addons need at run time.
//
// The addons' sources are fetched with `npm install --omit=dev`, but some list build tools as
// ordinary dependencies (alsa-capture 0.3.0 depends on node-gyp, which brings make-fetch-happen,
// cacache, tar, …: ~9 MiB), and nan is C++ headers only. Once the addons are compiled, those are
// build tools left in the image. This keeps the addons and the closure of their dependencies
// through package.json, less the build-only packages and what only they need, and removes the rest.
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Needed only to compile the addons, never loaded at run time. */
export const BUILD_ONLY_MODULES = ['node-gyp', 'nan'] as const;

interface Manifest {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

async function manifest(dir: string): Promise<Manifest | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

/**
 * Removes from `nodeModules` (a flat, hoisted tree as npm writes it) every package that `roots` do
 * not need at run time. Returns the names removed. A root or a required dependency that is missing
 * is an error: the runtime would fail to load it on the device.
 */
export async function pruneToRuntime(
  nodeModules: string,
  roots: readonly string[],
  buildOnly: readonly string[] = BUILD_ONLY_MODULES,
): Promise<string[]> {
  const keep = new Set<string>();
  const skip = new Set(buildOnly);
  const visit = async (name: string, optional: boolean, from: string): Promise<void> => {
    if (keep.has(name) || skip.has(name)) return;
    const m = await manifest(join(nodeModules, name));
    if (!m) {
      if (optional) return;
      throw new Error(`${name} (needed by ${from}) is not in ${nodeModules}`);
    }
    keep.add(name);
    for (const d of Object.keys(m.dependencies ?? {})) await visit(d, false, name);
    for (const d of Object.keys(m.optionalDependencies ?? {})) await visit(d, true, name);
  };
  for (const r of roots) await visit(r, false, 'the runtime');

  const removed: string[] = [];
  for (const e of await readdir(nodeModules)) {
    if (e === '.bin' || e === '.package-lock.json') {
      await rm(join(nodeModules, e), { recursive: true, force: true });
      continue;
    }
    const names = e.startsWith('@') ? (await readdir(join(nodeModules, e))).map((s) => `${e}/${s}`) : [e];
    for (const n of names) {
      if (keep.has(n)) continue;
      await rm(join(nodeModules, n), { recursive: true, force: true });
      removed.push(n);
    }
    if (e.startsWith('@') && (await readdir(join(nodeModules, e))).length === 0) await rm(join(nodeModules, e), { recursive: true });
  }
  return removed.sort();
}
