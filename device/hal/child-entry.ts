// Where a HAL child process's entry file is: beside the module that forks it, as TypeScript when
// running from source (forked with the tsx loader) or as built JavaScript beside the bundle
// (scripts/build.mjs must emit `<name>.js` next to dist/hearth.js). First one that exists wins.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * V8 flags for a HAL child: it only moves buffers between a pipe and a native addon, so a 1 MB
 * young generation (V8 sizes it for the host: up to 16 MB × 3 here) and no V8 helper threads are
 * plenty. Measured on the speaker sink child: RSS 56 → 41 MB, same CPU. No JIT either
 * (`--jitless`: no WebAssembly, which a child does not use): its private pages 10.3 → 9.2 MB on
 * the audio bench's device D, CPU unchanged within the run-to-run spread.
 */
export const LEAN_CHILD_FLAGS = ['--max-semi-space-size=1', '--single-threaded', '--jitless'];

export function childEntry(name: string, baseUrl: string): { script: string; execArgv: string[] } {
  for (const ext of ['.ts', '.js', '.mjs']) {
    const p = fileURLToPath(new URL(`./${name}${ext}`, baseUrl));
    if (existsSync(p)) return { script: p, execArgv: execArgvFor(p) };
  }
  throw new Error(`${name}: no child entry (.ts/.js/.mjs) beside ${fileURLToPath(baseUrl)}; the build must emit it`);
}

/** execArgv for an explicitly given entry. */
export function execArgvFor(script: string): string[] {
  return [...LEAN_CHILD_FLAGS, ...(script.endsWith('.ts') ? ['--import', 'tsx'] : [])];
}
