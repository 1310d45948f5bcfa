// Streams: every source's streams with enable/disable and who listens (the players whose state
// names the stream, or its group and port).
import type { SourceState } from '../../../../protocol/roles/source.ts';
import type { PlayerState } from '../../../../protocol/roles/player.ts';
import type { DeviceView } from '../../../monitor/model.ts';
import { el, fill, setText, reconcile, type Component } from '../dom.ts';
import { replyText, type Store } from '../store.ts';

function source(store: Store, id: string, flash: (t: string, ok: boolean) => void): Component<DeviceView> {
  const title = el('h2');
  const status = el('span', { class: 'badge' });
  const list = el('ul', { class: 'streams' });
  const root = el(
    'article',
    { class: 'card source', 'data-device': id },
    el('header', {}, el('span', { class: 'dot' }), title, status),
    list,
  );
  return {
    el: root,
    update(d) {
      setText(title, d.info?.name ?? d.id);
      const online = d.status === 'online';
      setText(status, online ? 'online' : 'offline');
      root.className = `card source ${online ? 'healthy' : 'failed'}`;
      const s = d.roles.get('source')?.state?.detail as SourceState | undefined;
      const listeners = (sid: string, group: string, port: number) =>
        store
          .withRole('player')
          .filter((p) => {
            const ps = p.roles.get('player')?.state?.detail as PlayerState | undefined;
            return (
              !!ps &&
              p.status === 'online' &&
              (ps.stream.id === `${d.id}/${sid}` || ps.stream.id === sid || (ps.stream.group === group && ps.stream.port === port))
            );
          })
          .map((p) => p.info?.name ?? p.id);
      fill(
        list,
        ...(s?.streams ?? []).map((x) => {
          const who = listeners(x.id, x.group, x.port);
          const toggle = el(
            'button',
            {
              type: 'button',
              class: x.enabled ? 'on' : '',
              'aria-pressed': String(x.enabled),
              'data-stream': x.id,
              onclick: async () => {
                const r = await store.command(d.id, 'source', x.enabled ? 'disable' : 'enable', { stream: x.id });
                flash(`${d.id}/${x.id}: ${r.ok ? (x.enabled ? 'disabled' : 'enabled') : replyText(r)}`, r.ok);
              },
            },
            x.enabled ? 'On' : 'Off',
          );
          return el(
            'li',
            { class: x.sending ? 'healthy' : x.enabled ? 'failed' : 'unknown' },
            el('div', { class: 'row' }, toggle, el('b', {}, x.name), el('span', { class: 'muted' }, `${d.id}/${x.id}`)),
            el(
              'div',
              { class: 'muted' },
              `${x.group}:${x.port} · L16 ${x.rate / 1000} kHz ${x.channels === 2 ? 'stereo' : 'mono'} · ${x.input} · ${x.packets} packets${x.inputError ? ` · input: ${x.inputError}` : ''}`,
            ),
            el('div', { class: 'listeners' }, who.length ? `listening: ${who.join(', ')}` : 'nobody listening'),
          );
        }),
      );
    },
  };
}

export function streamsView(store: Store, flash: (t: string, ok: boolean) => void): { el: HTMLElement; update(): void } {
  const grid = el('div', { class: 'grid' });
  const cache = new Map<string, Component<DeviceView>>();
  const empty = el('p', { class: 'muted' }, 'No sources yet.');
  return {
    el: el('section', { class: 'view', id: 'view-streams' }, grid, empty),
    update() {
      const sources = store.withRole('source');
      empty.hidden = sources.length > 0;
      reconcile(
        grid,
        cache,
        sources.map((d) => [d.id, d]),
        (k) => source(store, k, flash),
      );
    },
  };
}
