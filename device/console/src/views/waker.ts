// Waker: every watched host, awake / asleep / waking, when it was last seen and last woken, and a
// Wake button (the waker's `wake` command).
import type { WakerState } from '../../../../protocol/roles/waker.ts';
import type { DeviceView } from '../../../monitor/model.ts';
import { el, fill, setText, reconcile, duration, type Component } from '../dom.ts';
import { replyText, type Store } from '../store.ts';

const HEALTH: Record<string, string> = { awake: 'healthy', waking: 'degraded', asleep: 'unknown', unknown: 'unknown' };

function waker(store: Store, id: string, flash: (t: string, ok: boolean) => void): Component<DeviceView> {
  const title = el('h2');
  const status = el('span', { class: 'badge' });
  const hosts = el('table', { class: 'hosts' });
  const root = el(
    'article',
    { class: 'card waker', 'data-device': id },
    el('header', {}, el('span', { class: 'dot' }), title, status),
    hosts,
  );
  return {
    el: root,
    update(d) {
      setText(title, d.info?.name ?? d.id);
      const online = d.status === 'online';
      setText(status, online ? 'watching' : 'offline');
      root.className = `card waker ${online ? 'healthy' : 'failed'}`;
      const s = d.roles.get('waker')?.state?.detail as WakerState | undefined;
      const now = Date.now();
      fill(
        hosts,
        el(
          'tbody',
          {},
          ...(s?.hosts ?? []).map((h) =>
            el(
              'tr',
              { class: HEALTH[h.state] ?? 'unknown', 'data-host': h.name, 'data-state': h.state },
              el('th', {}, el('span', { class: 'dot' }), h.name),
              el('td', { class: 'state' }, h.state),
              el(
                'td',
                { class: 'muted' },
                `${h.ip} · ${h.lastSeenAt ? `seen ${duration(now - Date.parse(h.lastSeenAt))} ago` : 'never seen'}${h.lastWake ? ` · woken ${duration(now - Date.parse(h.lastWake.at))} ago by ${h.lastWake.reason === 'arp' ? `ARP from ${h.lastWake.requester ?? '?'}` : 'command'}` : ''}`,
              ),
              el(
                'td',
                {},
                el(
                  'button',
                  {
                    type: 'button',
                    class: 'wake',
                    'data-host': h.name,
                    onclick: async () => {
                      const r = await store.command(d.id, 'waker', 'wake', { host: h.name });
                      flash(
                        `${d.id}: wake ${h.name}: ${r.ok ? `magic packet sent (${((r.result as { via?: string[] }).via ?? []).join(', ')})` : replyText(r)}`,
                        r.ok,
                      );
                    },
                  },
                  'Wake',
                ),
              ),
            ),
          ),
        ),
      );
    },
  };
}

export function wakerView(store: Store, flash: (t: string, ok: boolean) => void): { el: HTMLElement; update(): void } {
  const grid = el('div', { class: 'grid' });
  const cache = new Map<string, Component<DeviceView>>();
  const empty = el('p', { class: 'muted' }, 'No waker yet.');
  return {
    el: el('section', { class: 'view', id: 'view-waker' }, grid, empty),
    update() {
      const list = store.withRole('waker');
      empty.hidden = list.length > 0;
      reconcile(
        grid,
        cache,
        list.map((d) => [d.id, d]),
        (k) => waker(store, k, flash),
      );
    },
  };
}
