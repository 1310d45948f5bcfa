// Where hearth's NTP server keeps its timescale across its own restarts: a small file holding
// house time minus CLOCK_MONOTONIC and the boot it was taken in (docs/clock.md).
// - CLOCK_MONOTONIC runs on, unstepped, from process to process within one boot, so a restarted
//   server that anchors at (saved house − monotonic) + its own monotonic origin serves the same
//   timescale to the µs, whatever the OS wall clock did meanwhile (stepped by an NTP daemon, set
//   by hand, a Pi's fake-hwclock corrected).
// - Another boot (a different /proc/sys/kernel/random/boot_id) restarted CLOCK_MONOTONIC: the
//   saved value means nothing, and the server anchors on the OS wall clock as on a first start.
// - A missing, unreadable or invalid file is a first start too; the file is rewritten at each start.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic-file.ts';

export interface AnchorPersist {
  file: string;
  /** This boot's id (default: /proc/sys/kernel/random/boot_id). */
  bootId?: string;
  /** CLOCK_MONOTONIC (ms) at the server clock's now() = 0 (default: clock.monotonicOriginMs()). */
  monoOriginMs?: number;
}

interface Saved {
  bootId: string;
  houseMinusMonotonicMs: number;
}

export function currentBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** The saved house − monotonic (ms) if it was taken in `bootId`, else undefined (and why). */
export function loadAnchor(file: string, bootId: string): { houseMinusMonotonicMs?: number; why: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    return {
      why: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no saved timescale' : `saved timescale unreadable (${(e as Error).message})`,
    };
  }
  const s = raw as Partial<Saved>;
  if (typeof s?.bootId !== 'string' || typeof s.houseMinusMonotonicMs !== 'number' || !Number.isFinite(s.houseMinusMonotonicMs))
    return { why: 'saved timescale invalid' };
  if (s.bootId !== bootId || bootId === 'unknown') return { why: 'saved timescale is from another boot' };
  return { houseMinusMonotonicMs: s.houseMinusMonotonicMs, why: 'saved timescale of this boot' };
}

export async function saveAnchor(file: string, bootId: string, houseMinusMonotonicMs: number): Promise<void> {
  const s: Saved = { bootId, houseMinusMonotonicMs };
  await writeFileAtomic(file, JSON.stringify(s) + '\n', 0o644);
}
