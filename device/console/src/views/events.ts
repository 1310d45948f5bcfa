// Events: every device's events as one timeline, newest first, coloured by how bad they are.
import { eventLevel } from '../../../monitor/model.ts';
import { el, fill } from '../dom.ts';
import type { Store } from '../store.ts';

export function eventsView(store: Store): { el: HTMLElement; update(): void } {
  const list = el('ol', { class: 'timeline' });
  const empty = el('p', { class: 'muted' }, 'No events since the console connected (events are not retained).');
  return {
    el: el('section', { class: 'view', id: 'view-events' }, list, empty),
    update() {
      const all = store.devices().flatMap((d) => d.events.map((e) => ({ ...e, device: d.info?.name ?? d.id })));
      all.sort((a, b) => b.at - a.at);
      empty.hidden = all.length > 0;
      fill(
        list,
        ...all
          .slice(0, 200)
          .map((e) =>
            el(
              'li',
              { class: eventLevel(e.event.type) },
              el('time', { datetime: new Date(e.at).toISOString() }, new Date(e.at).toLocaleTimeString()),
              el('span', { class: 'who' }, `${e.device} · ${e.role}`),
              el('b', {}, e.event.type),
              el('span', {}, e.event.message),
            ),
          ),
      );
    },
  };
}
