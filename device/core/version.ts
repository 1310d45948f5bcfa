// The runtime's version: injected by the bundler (scripts/build.mjs), read from package.json when
// running from source.
import { readFileSync } from 'node:fs';

declare const __HEARTH_VERSION__: string | undefined;

export const RUNTIME_VERSION: string =
  typeof __HEARTH_VERSION__ === 'string'
    ? __HEARTH_VERSION__
    : (() => {
        try {
          return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version as string;
        } catch {
          return '0.0.0-dev';
        }
      })();
