#!/usr/bin/env node
// `npx hearth` / the installed `hearth` command: runs the built bundle.
import { existsSync } from 'node:fs';
const bundle = new URL('../dist/hearth.js', import.meta.url);
if (!existsSync(bundle)) {
  console.error('hearth is not built yet: run "npm run build" (or "npm start") in the hearth folder first');
  process.exit(1);
}
await import(bundle.href);
