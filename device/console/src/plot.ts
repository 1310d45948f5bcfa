// A live line chart of one figure over the last minutes (the axis grows with the history, up to
// the window), as inline SVG (no library): the line, a
// zero line when the range spans zero, the latest value and the range shown beside it.
import { el, setText } from './dom.ts';

const NS = 'http://www.w3.org/2000/svg';
const W = 240,
  H = 56;

export interface Plot {
  el: HTMLElement;
  update(points: Array<[number, number]>, now: number): void;
}

export function plot(
  label: string,
  unit: string,
  opts: { windowMs: number; symmetric?: boolean; minSpan?: number; digits?: number },
): Plot {
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('class', 'chart');
  const zero = document.createElementNS(NS, 'line');
  zero.setAttribute('class', 'zero');
  const line = document.createElementNS(NS, 'polyline');
  line.setAttribute('class', 'series');
  svg.append(zero, line);
  const value = el('span', { class: 'value' });
  const range = el('span', { class: 'range muted' });
  const root = el(
    'figure',
    { class: 'plot', 'data-plot': label },
    el('figcaption', {}, el('span', { class: 'label' }, label), value, range),
    svg,
  );
  const digits = opts.digits ?? 0;
  return {
    el: root,
    update(points, now) {
      // The axis spans the history there is (at least 30 s), up to the whole window.
      const first = points.find(([t]) => now - t <= opts.windowMs)?.[0];
      const windowMs = first === undefined ? opts.windowMs : Math.min(opts.windowMs, Math.max(30_000, now - first));
      const shown = points.filter(([t]) => now - t <= windowMs);
      if (!shown.length) {
        setText(value, '–');
        setText(range, '');
        line.setAttribute('points', '');
        return;
      }
      const ys = shown.map(([, y]) => y);
      let lo = Math.min(...ys),
        hi = Math.max(...ys);
      if (opts.symmetric) {
        const m = Math.max(Math.abs(lo), Math.abs(hi));
        lo = -m;
        hi = m;
      }
      const span = Math.max(hi - lo, opts.minSpan ?? 1);
      const mid = (hi + lo) / 2;
      lo = mid - span / 2;
      hi = mid + span / 2;
      const x = (t: number) => W - ((now - t) / windowMs) * W;
      const y = (v: number) => H - 2 - ((v - lo) / (hi - lo)) * (H - 4);
      line.setAttribute('points', shown.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' '));
      if (lo < 0 && hi > 0) {
        zero.setAttribute('x1', '0');
        zero.setAttribute('x2', String(W));
        zero.setAttribute('y1', y(0).toFixed(1));
        zero.setAttribute('y2', y(0).toFixed(1));
        zero.removeAttribute('hidden');
      } else zero.setAttribute('hidden', '');
      const last = ys[ys.length - 1]!;
      setText(value, `${last > 0 && opts.symmetric ? '+' : ''}${last.toFixed(digits)} ${unit}`);
      setText(range, `${Math.min(...ys).toFixed(digits)} … ${Math.max(...ys).toFixed(digits)}`);
    },
  };
}
