// Reads golden datagrams from test/fixtures/rtp/*.hex (one datagram per line, '#' comments).
import { readFileSync } from 'node:fs';

const dir = new URL('../../fixtures/rtp/', import.meta.url);

export function hexDatagrams(name: string): Buffer[] {
  return readFileSync(new URL(name, dir), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => Buffer.from(l, 'hex'));
}

export function fixtureText(name: string): string {
  return readFileSync(new URL(name, dir), 'utf8');
}
