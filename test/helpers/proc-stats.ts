// CPU time and RSS of a process and its descendants, from /proc (same measure for our player and
// for PulseAudio, side by side).
import { readFileSync } from 'node:fs';

const TICK_S = 0.01; // USER_HZ is 100 on Linux

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The process and every descendant. */
export function tree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...children(out[i]!));
  return out;
}

/** CPU seconds (user + system) used so far by `pid` and its live descendants. */
export function cpuSeconds(pid: number): number {
  let s = 0;
  for (const p of tree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      s += (Number(f[11]) + Number(f[12])) * TICK_S; // utime, stime (fields 14, 15)
    } catch {
      /* exited */
    }
  }
  return s;
}

/** Resident memory (MB) of `pid` and its live descendants. */
export function rssMb(pid: number): number {
  let kb = 0;
  for (const p of tree(pid)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      /* exited */
    }
  }
  return kb / 1024;
}

/** Proportional set size (MB) of `pid` and its live descendants: shared pages (the node binary) counted once overall. */
export function pssMb(pid: number): number {
  let kb = 0;
  for (const p of tree(pid)) {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      /* exited */
    }
  }
  return kb / 1024;
}

/** RSS (MB) of `pid` alone. */
export function ownRssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Resident memory of a device (MB): the RSS of `pid` plus what each descendant adds on its own
 * (private pages). A child node process shares the node binary's pages with its parent, so adding
 * RSS counts them twice; this is what the device's processes take from a Pi's RAM.
 */
export function deviceResidentMb(pid: number): number {
  let kb = ownRssMb(pid) * 1024;
  for (const p of tree(pid).slice(1)) {
    try {
      const s = readFileSync(`/proc/${p}/smaps_rollup`, 'utf8');
      for (const k of ['Private_Clean', 'Private_Dirty']) kb += Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0);
    } catch {
      /* exited */
    }
  }
  return kb / 1024;
}

/** Pages (MB) of one process by mapping (library path, [heap], [anon]…), largest first: `Rss` or private pages. */
export function pagesByMapping(pid: number, kind: 'Rss' | 'Private'): Map<string, number> {
  const kb = new Map<string, number>();
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return kb;
  }
  let name = '';
  const field = kind === 'Rss' ? /^(Rss):\s+(\d+) kB/ : /^(Private_Clean|Private_Dirty):\s+(\d+) kB/;
  for (const line of text.split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      name = head[1]!.replace(/^.*\//, '') || '[anon]';
      continue;
    }
    const m = field.exec(line);
    if (m) kb.set(name, (kb.get(name) ?? 0) + Number(m[2]) / 1024);
  }
  return kb;
}

/** Largest first, as `name MB` pairs. */
export function topMappings(mb: Map<string, number>, n = 8): { mapping: string; mb: number }[] {
  return [...mb]
    .map(([mapping, v]) => ({ mapping, mb: v }))
    .filter((x) => x.mb > 0)
    .sort((a, b) => b.mb - a.mb)
    .slice(0, n);
}

/** Private pages (MB) of the descendants of `pid`, by mapping: where a device's sink process spends what deviceResidentMb adds. */
export function descendantsPrivateByMapping(pid: number): { mapping: string; mb: number }[] {
  const sum = new Map<string, number>();
  for (const p of tree(pid).slice(1)) for (const [k, v] of pagesByMapping(p, 'Private')) sum.set(k, (sum.get(k) ?? 0) + v);
  return topMappings(sum);
}
