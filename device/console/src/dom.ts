// Small DOM helpers. Every text from the network goes into the page through text nodes and
// attributes, never as HTML.

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | undefined | ((ev: Event) => void)>;

/** el('div', { class: 'x', onclick: fn }, 'text', child, …) */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  append(e, children);
  return e;
}

function append(e: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false || c === '') continue;
    if (Array.isArray(c)) append(e, c);
    else e.append(c instanceof Node ? c : String(c));
  }
}

/** Replaces an element's children (text or nodes). */
export function fill(e: Element, ...children: Child[]): void {
  e.replaceChildren();
  append(e, children);
}

/** Sets text only when it changed (keeps selection and avoids layout work). */
export function setText(e: Element, text: string): void {
  if (e.textContent !== text) e.textContent = text;
}

export interface Component<T> {
  el: HTMLElement;
  update(data: T): void;
}

/**
 * Keeps one component per key inside `container`, in the order of `items`: new keys are made,
 * gone keys removed, every component updated. Components keep their DOM (and so focus, a
 * slider being dragged, an open select) across updates.
 */
export function reconcile<T>(
  container: Element,
  cache: Map<string, Component<T>>,
  items: Array<[string, T]>,
  make: (key: string, data: T) => Component<T>,
): void {
  const keep = new Set(items.map(([k]) => k));
  for (const [k, c] of cache)
    if (!keep.has(k)) {
      c.el.remove();
      cache.delete(k);
    }
  let prev: Element | null = null;
  for (const [k, data] of items) {
    let c = cache.get(k);
    if (!c) {
      c = make(k, data);
      cache.set(k, c);
    }
    c.update(data);
    const want: Element | null = prev ? prev.nextElementSibling : container.firstElementChild;
    if (want !== c.el) {
      if (prev) prev.after(c.el);
      else container.prepend(c.el);
    }
    prev = c.el;
  }
}

/** "0s", "12s", "3m12s", "2h05m", "3d04h". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

export function signed(x: number, digits = 0): string {
  const s = x.toFixed(digits);
  return x > 0 && s !== (0).toFixed(digits) ? `+${s}` : s;
}
