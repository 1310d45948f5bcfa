// Builds what the benchmark runs as separate processes, the way it ships (README, "How it is built": built
// JavaScript, not a TypeScript loader): the `hearth` CLI (device/cli/main.ts, whose `run` and
// `hub` commands are the device and the broker) and the fleet simulator. Same esbuild options as
// scripts/build.mjs. The output goes under node_modules/.cache so the native addons left
// external still resolve from the project's node_modules; it is removed after the run.
import { build, type Plugin } from 'esbuild';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { NATIVE_ADDONS } from '../../device/image/native-addons.ts';

const root = new URL('../..', import.meta.url).pathname;
const NATIVE = [...NATIVE_ADDONS];

/**
 * A project source file (`./x.ts`) that does not exist — a role or module another engineer is
 * still writing in this shared tree — becomes a module that throws when it is loaded, as it would
 * when running from source. Role modules load lazily and the bench devices enable no roles, so an
 * unfinished role does not stop the benchmark; a file the runtime itself needs still fails it,
 * at device start. Each stubbed path is reported on stderr.
 */
function missingSourceFiles(stubbed: string[]): Plugin {
  return {
    name: 'missing-source-files',
    setup(b) {
      b.onResolve({ filter: /^\.\.?\/.*\.ts$/ }, (args) => {
        if (args.importer.includes('/node_modules/')) return undefined;
        const path = resolvePath(args.resolveDir, args.path);
        if (existsSync(path)) return undefined;
        stubbed.push(`${path.slice(root.length)} (imported by ${args.importer.slice(root.length)})`);
        return { path, namespace: 'missing' };
      });
      // No import/export in the stub: esbuild treats it as CommonJS, so named imports from it
      // still bundle and the throw happens when the importing module is initialised.
      b.onLoad({ filter: /.*/, namespace: 'missing' }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`${args.path} did not exist when the bench bundle was built`)});`,
        loader: 'js',
      }));
    },
  };
}

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
  const stubbed: string[] = [];
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
      banner: {
        js: "import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);",
      },
      logLevel: 'error',
      plugins: [missingSourceFiles(stubbed)],
    });
    if (stubbed.length) process.stderr.write(`bench: these source files are missing and load as errors: ${stubbed.join(', ')}\n`);
  } catch (e) {
    remove();
    throw new Error(`could not bundle the CLI and fleet for the benchmark: ${(e as Error).message}`);
  }
  return { cli: join(dir, 'cli.mjs'), fleet: join(dir, 'fleet.mjs'), remove };
}
