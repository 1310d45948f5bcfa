// Builds what the benchmark runs as separate processes, the way it ships (DESIGN.md: built
// JavaScript, not a TypeScript loader): the `hearth` CLI (device/cli/main.ts, whose `run` and
// `hub` commands are the device and the broker) and the fleet simulator. Same esbuild options as
// scripts/build.mjs. The output goes under node_modules/.cache so the native addons left
// external still resolve from the project's node_modules; it is removed after the run.
import { build, type Plugin } from 'esbuild';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const NATIVE = ['speaker', 'alsa-capture', 'rpio', 'cap'];

/**
 * A lazily loaded module (a role loader's `import('../x/role.ts')`) that does not exist yet
 * becomes a module that throws when loaded, as it would when running from source: the bench
 * devices enable no roles, so a role still being written elsewhere must not stop the build.
 */
const missingLazyModules: Plugin = {
  name: 'missing-lazy-modules',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      const path = resolvePath(args.resolveDir, args.path);
      return existsSync(path) ? undefined : { path, namespace: 'missing' };
    });
    b.onLoad({ filter: /.*/, namespace: 'missing' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} did not exist when the bench bundle was built`)});`,
      loader: 'js',
    }));
  },
};

export interface BenchBundle {
  /** `node <cli> run|hub ...` */
  cli: string;
  /** `node <fleet>`: N runtimes in one process (bench/procs/fleet.ts). */
  fleet: string;
  remove(): void;
}

export async function buildBenchBundle(): Promise<BenchBundle> {
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const cache = join(root, 'node_modules/.cache');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, 'hearth-bench-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    await build({
      entryPoints: { cli: join(root, 'device/cli/main.ts'), fleet: join(root, 'bench/procs/fleet.ts') },
      outdir: dir,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: NATIVE,
      define: { __HEARTH_VERSION__: JSON.stringify(version) },
      banner: { js: "import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);" },
      logLevel: 'error',
      plugins: [missingLazyModules],
    });
  } catch (e) {
    remove();
    throw new Error(`could not bundle the CLI and fleet for the benchmark: ${(e as Error).message}`);
  }
  return { cli: join(dir, 'cli.mjs'), fleet: join(dir, 'fleet.mjs'), remove };
}
