// A room's level meter: per channel, a bar for the RMS and a tick for the peak of the audio the
// player wrote to its DAC over its last state interval (protocol/roles/player.ts `level`), on a
// −60…0 dBFS scale. What the DAC was given, after volume and mute: not the stream's level.
import type { PlayerLevel } from '../../../protocol/roles/player.ts';
import { LEVEL_FLOOR_DBFS } from '../../../protocol/roles/player.ts';
import { el, setText } from './dom.ts';

const LOW_DB = -60;
const pct = (db: number) => `${(Math.max(0, Math.min(1, (db - LOW_DB) / -LOW_DB)) * 100).toFixed(1)}%`;
const dbText = (db: number) => (db <= LEVEL_FLOOR_DBFS ? 'silent' : `${db.toFixed(0)} dB`);

export function levelMeter(): { el: HTMLElement; update(level: PlayerLevel | undefined): void } {
  const names = ['L', 'R'];
  const rows = names.map((n) => {
    const rms = el('span', { class: 'rms' });
    const peak = el('span', { class: 'peak' });
    const value = el('span', { class: 'lvl-value' });
    const row = el(
      'div',
      { class: 'lvl-row', 'data-channel': n },
      el('span', { class: 'ch muted' }, n),
      el('span', { class: 'lvl-bar' }, rms, peak),
      value,
    );
    return { row, rms, peak, value };
  });
  const root = el('div', { class: 'levels', role: 'group', 'aria-label': 'level at the DAC', hidden: true }, ...rows.map((r) => r.row));
  return {
    el: root,
    update(level) {
      root.hidden = !level;
      if (!level) return;
      root.title = `level written to the DAC over the last ${(level.windowMs / 1000).toFixed(1)} s: bar RMS, tick peak (dBFS)`;
      rows.forEach((r, ch) => {
        const p = level.peakDbfs[ch],
          s = level.rmsDbfs[ch];
        r.row.hidden = p === undefined;
        if (p === undefined || s === undefined) return;
        r.rms.style.width = pct(s);
        r.peak.style.left = pct(p);
        r.peak.hidden = p <= LEVEL_FLOOR_DBFS;
        r.row.dataset.peak = String(p);
        r.row.dataset.rms = String(s);
        r.row.classList.toggle('hot', p >= -1);
        setText(r.value, dbText(s));
        r.value.title = `RMS ${dbText(s)}, peak ${dbText(p)}`;
      });
    },
  };
}
