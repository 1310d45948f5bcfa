// The web console's bundle options, shared by scripts/build.mjs (dist/console/app.js) and the hub
// when it runs from the source tree (it bundles device/console/src on the first request).
export function consoleBuildOptions(root) {
  return {
    entryPoints: [`${root}device/console/src/main.ts`],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
  };
}
