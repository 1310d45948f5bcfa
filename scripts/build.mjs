// Builds the device runtime: one ESM bundle (dist/hearth.js) for Node 20 with the native addons
// left external, plus the web console's static files. A Pi starts a bundle faster and with less
// memory than a TypeScript loader.
import { build } from 'esbuild';
import { cpSync, mkdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { consoleBuildOptions } from './console-build.mjs';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
const require = createRequire(import.meta.url);
// The native addons stay external (native-addons.json, the one list).
const NATIVE = JSON.parse(readFileSync(`${root}native-addons.json`, 'utf8')).addons;

rmSync(`${root}dist`, { recursive: true, force: true });
mkdirSync(`${root}dist`, { recursive: true });
const t0 = Date.now();
const result = await build({
  // The runtime, plus the child processes the audio and GPIO edges spawn (a native crash in the
  // ALSA addons then costs only that child), each as dist/<name>.js.
  entryPoints: {
    hearth: `${root}device/cli/main.ts`,
    'audio-out.speaker-child': `${root}device/hal/audio-out.speaker-child.ts`,
    'audio-in.alsa-child': `${root}device/hal/audio-in.alsa-child.ts`,
    // The GPIO line holder (rpio, chardev): releases START and PTT when the runtime dies.
    'gpio-holder-child': `${root}device/hal/gpio-holder-child.ts`,
  },
  outdir: `${root}dist`,
  bundle: true,
  // Each dynamic import (a role, the hub, a CLI command's module) becomes a chunk of its own (in
  // dist/ itself: modules find their child entries and the console beside them), so a
  // device loads only the roles it runs: a player does not carry the broker, the image builder
  // or the waker's capture code in memory.
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  external: NATIVE,
  define: { __HEARTH_VERSION__: JSON.stringify(pkg.version) },
  // CommonJS dependencies inside an ESM bundle need require, __filename and __dirname.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);",
  },
  logLevel: 'warning',
  metafile: true,
});
if (existsSync(`${root}device/console/static`)) cpSync(`${root}device/console/static`, `${root}dist/console`, { recursive: true });
mkdirSync(`${root}dist/console`, { recursive: true });
cpSync(require.resolve('mqtt/dist/mqtt.min'), `${root}dist/console/mqtt.min.js`);
// The console: TypeScript importing protocol/ (topics, schemas, command specs), one browser bundle.
await build({ ...consoleBuildOptions(root), outfile: `${root}dist/console/app.js` });
const bytes = Object.values(result.metafile.outputs).reduce((a, o) => a + o.bytes, 0);
console.log(`[build] dist/hearth.js (${(bytes / 1024).toFixed(0)} KiB incl. map) in ${Date.now() - t0} ms`);
