// Rewrites the README's generated topic/config reference from protocol/ (`npm run reference`).
import { readFileSync, writeFileSync } from 'node:fs';
import { withReference } from '../protocol/reference.ts';

const file = new URL('../README.md', import.meta.url);
const before = readFileSync(file, 'utf8');
const after = withReference(before);
if (after !== before) {
  writeFileSync(file, after);
  console.log('README.md reference updated');
} else console.log('README.md reference is up to date');
