// A real ALSA device with no sound card (docs/testing.md): an asound.conf in a temp dir whose PCMs are
// backed by files. Give `env` to child processes (`speaker` and `alsa-capture` read ALSA config
// when first loaded, in the sink/capture process only, never in the test process).
//   default / tofile : playback → <dir>/out.raw / <dir>/tofile.raw (raw, unpaced: a null slave)
//   fromfile         : capture ← <dir>/in.raw
//   extra names      : `outputs: ['a', 'b']` adds pcm.a → <dir>/a.raw, pcm.b → <dir>/b.raw (both also capture in.raw)
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface AlsaFiles {
  dir: string;
  confPath: string;
  env: { ALSA_CONFIG_PATH: string };
  /** The file a playback PCM writes into. */
  outFile(pcm?: string): string;
  /** Bytes written so far to a playback PCM's file (empty when none yet). */
  read(pcm?: string): Buffer;
  /** Where capture PCMs read (write the input before capture starts; make it long enough). */
  inFile: string;
  /** Rewrites the config: a PCM added or removed (a DAC appearing or vanishing for new opens). */
  setOutputs(names: string[]): void;
  cleanup(): void;
}

function conf(dir: string, outputs: string[]): string {
  const file = (name: string) => join(dir, `${name}.raw`);
  const lines = [
    `pcm.!default { type file slave { pcm { type null } } file "${file('out')}" format "raw" perm 0644 infile "${join(dir, 'in.raw')}" }`,
    `pcm.tofile { type file slave { pcm { type null } } file "${file('tofile')}" format "raw" perm 0644 }`,
    `pcm.fromfile { type file slave { pcm { type null } } file "/dev/null" format "raw" infile "${join(dir, 'in.raw')}" }`,
    ...outputs.map(
      (n) => `pcm.${n} { type file slave { pcm { type null } } file "${file(n)}" format "raw" perm 0644 infile "${join(dir, 'in.raw')}" }`,
    ),
  ];
  // Keep ALSA's stock definitions (plug, hw, ...) reachable as well.
  return `</usr/share/alsa/alsa.conf>\n${lines.join('\n')}\n`;
}

export function alsaFiles(outputs: string[] = []): AlsaFiles {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-alsa-'));
  const confPath = join(dir, 'asound.conf');
  writeFileSync(confPath, conf(dir, outputs));
  const outFile = (pcm = 'out') => join(dir, `${pcm === 'default' ? 'out' : pcm}.raw`);
  return {
    dir,
    confPath,
    env: { ALSA_CONFIG_PATH: confPath },
    inFile: join(dir, 'in.raw'),
    outFile,
    read: (pcm) => (existsSync(outFile(pcm)) ? readFileSync(outFile(pcm)) : Buffer.alloc(0)),
    setOutputs: (names) => writeFileSync(confPath, conf(dir, names)),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
