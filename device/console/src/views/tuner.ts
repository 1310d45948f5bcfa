// Tuner: Bypass / Memory / Full buttons, what the last operation did (outcome, KEY timings and a
// strip of the KEY assertions after the press), and the history of presses from its events.
import { TuneMode, type TunerState, type TuneResult } from '../../../../protocol/roles/tuner.ts';
import type { DeviceView } from '../../../monitor/model.ts';
import { el, fill, setText, reconcile, duration, type Component } from '../dom.ts';
import { replyText, type Store } from '../store.ts';

/** The modes offered, in the order of the protocol's schema. */
const MODES = (TuneMode.anyOf as Array<{ const: TuneMode }>).map((x) => x.const);
const LABEL: Record<string, string> = { bypass: 'Bypass', memory: 'Memory', full: 'Full' };

const ms = (x: number | null) => (x === null ? '–' : `${Math.round(x)} ms`);

/** KEY timings in a line, and a strip: each KEY assertion as a bar on a time axis after the press. */
function resultBlock(r: TuneResult): HTMLElement {
  const end = Math.max(1000, ...r.key.segments.map(([s, l]) => (s ?? 0) + (l ?? 0)));
  const strip = el(
    'div',
    { class: 'keystrip', title: 'KEY asserted, after the press ended' },
    ...r.key.segments.map(([s, l]) =>
      el('span', { style: `left:${((s ?? 0) / end) * 100}%;width:${Math.max(0.5, ((l ?? 0) / end) * 100)}%` }),
    ),
  );
  return el(
    'div',
    { class: `result ${r.outcome === 'tuned' || r.outcome === 'bypassed' || r.outcome === 'erased' ? 'healthy' : 'failed'}` },
    el(
      'div',
      { class: 'outcome' },
      el('b', { 'data-outcome': r.outcome }, r.outcome),
      ` ${r.mode} · press ${ms(r.pressMs)}${r.requestedMs !== null ? ` (asked ${ms(r.requestedMs)})` : ''} · ${r.source}`,
    ),
    el(
      'div',
      { class: 'key-timings' },
      `KEY after ${ms(r.key.delayMs)}, low ${ms(r.key.lowMs)}, total ${ms(r.key.totalMs)}, ${r.key.pulses} pulse${r.key.pulses === 1 ? '' : 's'}`,
    ),
    strip,
    el('div', { class: 'muted' }, r.message),
  );
}

function tuner(store: Store, id: string, flash: (t: string, ok: boolean) => void): Component<DeviceView> {
  const title = el('h2');
  const status = el('span', { class: 'badge' });
  const busy = el('span', { class: 'muted busy' });
  const buttons = MODES.map((m) =>
    el(
      'button',
      {
        type: 'button',
        class: 'tune',
        'data-mode': m,
        onclick: async () => {
          for (const b of buttons) b.disabled = true;
          setText(busy, `${LABEL[m] ?? m} tune… (waits for KEY)`);
          const r = await store.command(id, 'tuner', 'tune', { mode: m });
          setText(busy, '');
          for (const b of buttons) b.disabled = false;
          flash(`${id}: tune ${m}: ${r.ok ? (r.result as TuneResult).outcome : replyText(r)}`, r.ok);
        },
      },
      LABEL[m] ?? m,
    ),
  );
  const last = el('div', { class: 'last' });
  const history = el('ol', { class: 'history' });
  const root = el(
    'article',
    { class: 'card tuner', 'data-device': id },
    el('header', {}, el('span', { class: 'dot' }), title, status),
    el('div', { class: 'controls' }, ...buttons, busy),
    last,
    el('h3', {}, 'History'),
    history,
  );
  return {
    el: root,
    update(d) {
      setText(title, d.info?.name ?? d.id);
      const s = d.roles.get('tuner')?.state?.detail as TunerState | undefined;
      const online = d.status === 'online';
      setText(status, !online ? 'offline' : s ? `${s.status}${s.key ? ' · KEY' : ''}${s.start ? ' · START' : ''}` : 'no state yet');
      root.className = `card tuner ${!online ? 'failed' : s?.status === 'error' ? 'degraded' : 'healthy'}`;
      root.dataset.status = s?.status ?? '';
      fill(last, s?.last ? resultBlock(s.last) : el('p', { class: 'muted' }, 'No operation yet.'));
      const now = Date.now();
      const evs = d.events
        .filter((e) => e.role === 'tuner' && (e.event.data as { result?: unknown } | undefined)?.result)
        .slice(-10)
        .reverse();
      fill(
        history,
        ...evs.map((e) => {
          const r = (e.event.data as { result: TuneResult }).result;
          return el(
            'li',
            { class: r.outcome === 'tuned' || r.outcome === 'bypassed' ? 'healthy' : 'failed' },
            el('span', { class: 'muted' }, `${duration(now - e.at)} ago `),
            el('b', {}, r.outcome),
            ` ${r.mode} (${r.source}) · press ${ms(r.pressMs)} · KEY low ${ms(r.key.lowMs)}`,
          );
        }),
      );
    },
  };
}

export function tunerView(store: Store, flash: (t: string, ok: boolean) => void): { el: HTMLElement; update(): void } {
  const grid = el('div', { class: 'grid' });
  const cache = new Map<string, Component<DeviceView>>();
  const empty = el('p', { class: 'muted' }, 'No tuner yet.');
  return {
    el: el('section', { class: 'view', id: 'view-tuner' }, grid, empty),
    update() {
      const list = store.withRole('tuner');
      empty.hidden = list.length > 0;
      reconcile(
        grid,
        cache,
        list.map((d) => [d.id, d]),
        (k) => tuner(store, k, flash),
      );
    },
  };
}
