// The live monitor's keys, as a pure reducer: q quits; ↑/↓ (or k/j) select a device; Enter,
// space or → expands the selected device (every role's full state and figures), ← collapses it;
// a expands or collapses all.

export interface ViewState {
  /** The selected device id (undefined: none yet; the first one once there are devices). */
  selected?: string;
  expanded: ReadonlySet<string>;
  quit: boolean;
}

export const initialView = (): ViewState => ({ expanded: new Set(), quit: false });

/** Terminal input (one read may hold several keys) → key names. */
export function parseKeys(input: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < input.length;) {
    const rest = input.slice(i);
    const arrow = /^\x1b\[([ABCD])/.exec(rest) ?? /^\x1bO([ABCD])/.exec(rest);
    if (arrow) {
      out.push({ A: 'up', B: 'down', C: 'right', D: 'left' }[arrow[1] as 'A']);
      i += arrow[0].length;
      continue;
    }
    const ch = input[i]!;
    out.push(ch === '\r' || ch === '\n' ? 'enter' : ch === ' ' ? 'space' : ch === '\x03' ? 'ctrl-c' : ch === '\x1b' ? 'escape' : ch);
    i++;
  }
  return out;
}

/** The next view after one key, given the devices shown (in order). */
export function onKey(v: ViewState, key: string, devices: readonly string[]): ViewState {
  const idx = v.selected !== undefined ? devices.indexOf(v.selected) : -1;
  const pick = (i: number) => (devices.length ? devices[Math.max(0, Math.min(devices.length - 1, i))] : undefined);
  const toggle = (id: string | undefined, open: boolean | undefined) => {
    if (id === undefined) return v.expanded;
    const next = new Set(v.expanded);
    if (open ?? !next.has(id)) next.add(id);
    else next.delete(id);
    return next;
  };
  switch (key) {
    case 'q':
    case 'Q':
    case 'ctrl-c':
      return { ...v, quit: true };
    case 'up':
    case 'k':
      return { ...v, selected: pick(idx < 0 ? 0 : idx - 1) };
    case 'down':
    case 'j':
      return { ...v, selected: pick(idx < 0 ? 0 : idx + 1) };
    case 'enter':
    case 'space': {
      const id = v.selected ?? pick(0);
      return { ...v, selected: id, expanded: toggle(id, undefined) };
    }
    case 'right': {
      const id = v.selected ?? pick(0);
      return { ...v, selected: id, expanded: toggle(id, true) };
    }
    case 'left':
    case 'escape':
      return { ...v, expanded: toggle(v.selected, false) };
    case 'a':
      return { ...v, expanded: v.expanded.size >= devices.length ? new Set() : new Set(devices) };
    default:
      return v;
  }
}
