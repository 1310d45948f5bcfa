// Plain-text tables for bench output: columns padded to their widest cell, numbers right-aligned.

export type Cell = string | number;

export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly Cell[]>): string {
  const text = (c: Cell) => (typeof c === 'number' ? String(c) : c);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => text(r[i] ?? '').length)));
  const line = (cells: readonly Cell[]) =>
    cells
      .map((c, i) => (typeof c === 'number' ? text(c).padStart(widths[i]!) : text(c).padEnd(widths[i]!)))
      .join(' | ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

/** "≤ 20 ✓" / "≤ 20 ✗": an upper-bound target and whether the value meets it. */
export function atMost(value: number, limit: number): string {
  return `≤ ${limit} ${value <= limit ? '✓' : '✗'}`;
}
