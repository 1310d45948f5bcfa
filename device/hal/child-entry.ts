// Where a HAL child process's entry file is: beside the module that forks it, as TypeScript when
// running from source (forked with the tsx loader) or as built JavaScript beside the bundle
// (scripts/build.mjs must emit `<name>.js` next to dist/hearth.js). First one that exists wins.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function childEntry(name: string, baseUrl: string): { script: string; execArgv: string[] } {
  for (const ext of ['.ts', '.js', '.mjs']) {
    const p = fileURLToPath(new URL(`./${name}${ext}`, baseUrl));
    if (existsSync(p)) return { script: p, execArgv: ext === '.ts' ? ['--import', 'tsx'] : [] };
  }
  throw new Error(`${name}: no child entry (.ts/.js/.mjs) beside ${fileURLToPath(baseUrl)}; the build must emit it`);
}

/** execArgv for an explicitly given entry. */
export function execArgvFor(script: string): string[] { return script.endsWith('.ts') ? ['--import', 'tsx'] : []; }
