// Rooms: each player as a room, with what it plays, volume, mute, a stream picker (from the
// player's own `streams` command), and the course of its sync error, buffer and drift over the
// last minutes, and a level meter of what it writes to its DAC. The figures are the player's own
// (its state); the badge says so.
import type { PlayerState } from '../../../../protocol/roles/player.ts';
import type { DeviceView } from '../../../monitor/model.ts';
import { el, fill, setText, reconcile, signed, type Component } from '../dom.ts';
import { plot } from '../plot.ts';
import { HISTORY_MS, replyText, type Store } from '../store.ts';
import { clockPart } from '../../../monitor/roles.ts';
import { levelMeter } from '../level.ts';

/** |sync error| under this is shown as "in sync" (well under one sample at 48 kHz, 20.8 µs, would be stricter than any ear). */
export const IN_SYNC_US = 500;

interface StreamOption {
  label: string;
  choose: Record<string, unknown>;
  id: string;
}

function room(store: Store, id: string, flash: (text: string, ok: boolean) => void): Component<DeviceView> {
  const title = el('h2');
  const dot = el('span', { class: 'dot' });
  const badge = el('span', { class: 'badge' });
  const now = el('p', { class: 'now' });
  const mute = el('button', { type: 'button', class: 'mute' }, 'Mute');
  const volume = el('input', { type: 'range', min: 0, max: 2, step: 0.01, class: 'volume', 'aria-label': 'volume' });
  const volumeOut = el('output', { class: 'volume-value' });
  const picker = el('select', { class: 'stream-picker', 'aria-label': 'stream' });
  const facts = el('p', { class: 'facts muted' });
  const meter = levelMeter();
  const plots = [
    plot('sync error', 'µs', { windowMs: HISTORY_MS, symmetric: true, minSpan: 200 }),
    plot('buffer', 'ms', { windowMs: HISTORY_MS, minSpan: 10 }),
    plot('drift', 'ppm', { windowMs: HISTORY_MS, symmetric: true, minSpan: 20, digits: 1 }),
  ];
  const root = el(
    'article',
    { class: 'card room', 'data-device': id },
    el('header', {}, dot, title, badge),
    now,
    el(
      'div',
      { class: 'controls' },
      mute,
      el('label', { class: 'vol' }, el('span', { class: 'muted' }, 'Volume'), volume, volumeOut),
      picker,
    ),
    meter.el,
    el('div', { class: 'plots' }, ...plots.map((p) => p.el)),
    facts,
  );
  let dragging = false;
  let state: PlayerState | undefined;
  let options: StreamOption[] = [];
  let loadedAt = 0;

  const loadStreams = async () => {
    loadedAt = Date.now();
    const r = await store.command(id, 'player', 'streams');
    if (!r.ok) {
      flash(`${id}: streams: ${replyText(r)}`, false);
      return;
    }
    const list = (r.result as { streams: Array<{ choose: Record<string, unknown>; name: string; origin: string; enabled: boolean }> })
      .streams;
    options = list.map((s) => ({
      label: `${s.name}${s.enabled ? '' : ' (off)'}`,
      choose: s.choose,
      id: String(s.choose.stream ?? s.choose.sap ?? `${s.choose.group}:${s.choose.port}`),
    }));
    drawPicker();
  };
  const drawPicker = () => {
    const current = state?.stream.id ?? '';
    const names = options.map((o) => o.id);
    const all =
      names.includes(current) || !current ? options : [{ label: state?.stream.name ?? current, choose: {}, id: current }, ...options];
    if ([...picker.options].map((o) => o.value).join('\n') !== all.map((o) => o.id).join('\n')) {
      fill(picker, ...all.map((o) => el('option', { value: o.id }, o.label)));
    }
    if (document.activeElement !== picker) picker.value = current;
  };

  volume.addEventListener('input', () => {
    dragging = true;
    setText(volumeOut, `${Math.round(Number(volume.value) * 100)} %`);
  });
  volume.addEventListener('change', async () => {
    const gain = Number(volume.value);
    const r = await store.command(id, 'player', 'volume', { gain });
    dragging = false;
    if (!r.ok) flash(`${id}: volume: ${replyText(r)}`, false);
  });
  mute.addEventListener('click', async () => {
    const r = await store.command(id, 'player', 'mute', { muted: !state?.muted });
    if (!r.ok) flash(`${id}: mute: ${replyText(r)}`, false);
  });
  picker.addEventListener('focus', () => {
    if (Date.now() - loadedAt > 5000) void loadStreams();
  });
  picker.addEventListener('change', async () => {
    const o = options.find((x) => x.id === picker.value);
    if (!o) return;
    const r = await store.command(id, 'player', 'subscribe', o.choose);
    flash(`${id}: ${r.ok ? `now playing ${o.label}` : `subscribe: ${replyText(r)}`}`, r.ok);
    picker.blur();
  });
  void loadStreams();

  return {
    el: root,
    update(d) {
      const st = d.roles.get('player')?.state;
      state = st?.detail as PlayerState | undefined;
      setText(title, d.info?.name ?? d.id);
      const online = d.status === 'online';
      const s = state;
      const err = s?.syncErrorUs ?? null;
      const inSync = !!s?.playing && err !== null && Math.abs(err) < IN_SYNC_US;
      root.className = `card room ${!online ? 'failed' : !s?.playing ? 'degraded' : inSync ? 'healthy' : 'degraded'}`;
      setText(
        badge,
        !online
          ? 'offline'
          : !s
            ? 'no state yet'
            : !s.playing
              ? s.output
                ? `${s.output.status}`
                : 'not playing'
              : err === null
                ? 'playing'
                : inSync
                  ? `in sync ${signed(err)} µs`
                  : `off by ${signed(err)} µs`,
      );
      badge.title = s && !s.playing && s.output?.reason ? s.output.reason : "the player's own estimate of its playout error";
      if (s) {
        setText(
          now,
          `${s.playing ? '▶' : '■'} ${s.stream.name ?? s.stream.id}${s.format ? ` · ${s.format.rate / 1000} kHz ${s.format.channels === 2 ? 'stereo' : 'mono'}` : ''}${s.timing ? ` · timing ${s.timing}` : ''}${s.sender ? ` · from ${s.sender}` : ''}`,
        );
        setText(mute, s.muted ? 'Unmute' : 'Mute');
        mute.classList.toggle('on', s.muted);
        mute.setAttribute('aria-pressed', String(s.muted));
        if (!dragging && document.activeElement !== volume) {
          volume.value = String(s.volume);
          setText(volumeOut, `${Math.round(s.volume * 100)} %`);
        }
        volume.dataset.state = String(s.volume);
        setText(
          facts,
          [
            `buffer ${s.bufferMs.toFixed(0)} of ${s.latencyMs} ms`,
            `DAC ${signed(s.driftPpm, 1)} ppm`,
            `lost ${s.packets.lost}`,
            `late ${s.packets.late}`,
            `underruns ${s.underruns}`,
            `DAC ${s.sink.status}${s.sink.error ? ` (${s.sink.error})` : ''}`,
            s.clock
              ? `${clockPart(s)} from ${s.clock.reference}${s.clock.lastReachedS !== undefined ? `, reached ${Math.round(s.clock.lastReachedS)} s ago` : ''}`
              : undefined,
          ]
            .filter(Boolean)
            .join(' · '),
        );
        meter.update(online ? s.level : undefined);
      } else {
        meter.update(undefined);
        setText(now, 'no state yet');
      }
      drawPicker();
      const h = store.history.get(d.id) ?? [];
      const t = Date.now();
      plots[0]!.update(
        h.map((x) => [x.t, x.syncErrorUs]),
        t,
      );
      plots[1]!.update(
        h.map((x) => [x.t, x.bufferMs]),
        t,
      );
      plots[2]!.update(
        h.map((x) => [x.t, x.driftPpm]),
        t,
      );
      root.dataset.playing = String(!!s?.playing);
      root.dataset.stream = s?.stream.id ?? '';
      root.dataset.inSync = String(inSync);
    },
  };
}

export function roomsView(store: Store, flash: (text: string, ok: boolean) => void): { el: HTMLElement; update(): void } {
  const grid = el('div', { class: 'grid rooms' });
  const empty = el('p', { class: 'muted' }, 'No players yet: a device with the player role shows up here.');
  const cache = new Map<string, Component<DeviceView>>();
  const root = el('section', { class: 'view', id: 'view-rooms' }, grid, empty);
  return {
    el: root,
    update() {
      const players = store.withRole('player');
      empty.hidden = players.length > 0;
      reconcile(
        grid,
        cache,
        players.map((d) => [d.id, d]),
        (k) => room(store, k, flash),
      );
    },
  };
}
