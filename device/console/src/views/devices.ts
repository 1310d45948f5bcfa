// Devices: online/offline and for how long, board and versions, telemetry, each role's health,
// the problems the console saw, and the config: shown as published (secrets as ***), edited as
// JSON, checked live with the protocol's own validation, sent as a merge patch of what changed
// (ifRevision guards against a change made meanwhile); every error, the console's or the
// device's, is listed at its JSON path.
import { normalizeConfig, ProtocolError, type ErrorDetail } from '../../../../protocol/index.ts';
import { deviceHealth, roleHealth, roleNames, type DeviceView } from '../../../monitor/model.ts';
import { el, fill, setText, reconcile, duration, type Component } from '../dom.ts';
import { mergePatchBetween } from '../patch.ts';
import { type Store } from '../store.ts';

/** Every problem of a config text, at its JSON path, as the device would say it. */
export function configErrors(text: string): ErrorDetail[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return [{ path: '', message: `not valid JSON: ${(e as Error).message}` }];
  }
  try {
    normalizeConfig(value);
    return [];
  } catch (e) {
    if (e instanceof ProtocolError) return e.details?.length ? e.details : [{ path: '', message: e.message }];
    return [{ path: '', message: (e as Error).message }];
  }
}

function errorList(list: HTMLElement, errors: ErrorDetail[], from: string): void {
  fill(
    list,
    ...errors.map((e) =>
      el(
        'li',
        { 'data-path': e.path || '/' },
        el('code', {}, e.path || '/'),
        ` ${e.message}`,
        el('span', { class: 'muted' }, ` (${from})`),
      ),
    ),
  );
}

function editor(store: Store, id: string): { el: HTMLElement; open(d: DeviceView): void } {
  const area = el('textarea', { class: 'config-text', spellcheck: 'false', rows: 18, 'aria-label': 'config' });
  const errors = el('ul', { class: 'config-errors' });
  const result = el('p', { class: 'config-result', 'aria-live': 'polite' });
  const apply = el('button', { type: 'submit' }, 'Apply');
  const cancel = el('button', { type: 'button', class: 'secondary' }, 'Close');
  const form = el('form', { class: 'config-editor', hidden: true }, area, errors, el('div', { class: 'row' }, apply, cancel, result));
  let base: { revision: number; config: unknown } | undefined;
  area.addEventListener('input', () => {
    errorList(errors, configErrors(area.value), 'checked here');
    setText(result, '');
  });
  cancel.addEventListener('click', () => {
    form.hidden = true;
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const local = configErrors(area.value);
    errorList(errors, local, 'checked here');
    if (local.length) {
      setText(result, 'Not sent: the device would refuse it for the reasons above.');
      result.className = 'config-result failed';
      return;
    }
    const patch = mergePatchBetween(base?.config, JSON.parse(area.value));
    if (patch === undefined) {
      setText(result, 'Nothing changed.');
      result.className = 'config-result muted';
      return;
    }
    setText(result, 'Sent; waiting for the device…');
    result.className = 'config-result degraded';
    const r = await store.configPatch(id, patch, base?.revision);
    if (r.ok) {
      const res = r.result as { revision: number };
      setText(result, `Applied: revision ${res.revision}.`);
      result.className = 'config-result healthy';
      base = { revision: res.revision, config: JSON.parse(area.value) };
    } else {
      errorList(errors, r.error?.details ?? [{ path: '', message: r.error?.message ?? 'refused' }], `${id} says`);
      setText(result, `Refused (${r.error?.code}): ${r.error?.message ?? ''}`);
      result.className = 'config-result failed';
    }
  });
  return {
    el: form,
    open(d) {
      base = d.config ? { revision: d.config.revision, config: d.config.config } : undefined;
      area.value = JSON.stringify(d.config?.config ?? {}, null, 2);
      fill(errors);
      setText(
        result,
        d.config
          ? `Revision ${d.config.revision}; secrets show as *** and stay as they are unless you change them.`
          : 'This device has not published its config.',
      );
      result.className = 'config-result muted';
      form.hidden = false;
      area.focus();
    },
  };
}

function deviceCard(store: Store, id: string): Component<DeviceView> {
  const title = el('h2');
  const status = el('span', { class: 'badge status' });
  const facts = el('p', { class: 'muted' });
  const telemetry = el('p', { class: 'telemetry' });
  const roles = el('table', { class: 'roles' });
  const problems = el('ul', { class: 'errors' });
  const ed = editor(store, id);
  let current: DeviceView | undefined;
  const edit = el(
    'button',
    {
      type: 'button',
      class: 'edit-config',
      onclick: () => {
        if (current) ed.open(current);
      },
    },
    'Config…',
  );
  const root = el(
    'article',
    { class: 'card device', 'data-device': id },
    el('header', {}, el('span', { class: 'dot' }), title, status, edit),
    facts,
    telemetry,
    roles,
    problems,
    ed.el,
  );
  return {
    el: root,
    update(d) {
      current = d;
      const now = Date.now();
      const verdict = deviceHealth(d, now);
      root.className = `card device ${verdict.health}`;
      root.dataset.status = d.status ?? 'unknown';
      setText(title, d.info?.name ?? d.id);
      const since = d.statusSince !== undefined ? ` ${duration(now - d.statusSince)}` : '';
      setText(status, d.status ? `${d.status}${since}` : 'status unknown');
      status.className = `badge status ${d.status === 'online' ? 'healthy' : d.status === 'offline' ? 'failed' : 'unknown'}`;
      setText(
        facts,
        [
          d.id,
          d.info?.model,
          d.info ? `hearth ${d.info.runtime}` : undefined,
          ...(d.info?.addresses ?? []),
          verdict.health !== 'healthy' ? verdict.reasons.join(', ') : undefined,
        ]
          .filter(Boolean)
          .join(' · '),
      );
      const t = d.telemetry?.value;
      setText(
        telemetry,
        t
          ? `cpu ${t.cpuPct.toFixed(1)} % · rss ${t.rssMb.toFixed(1)} MB · heap ${t.heapMb.toFixed(1)} MB · load ${t.load1.toFixed(2)}${t.temperatureC !== undefined ? ` · ${t.temperatureC.toFixed(1)} °C` : ''} · up ${duration(t.uptimeS * 1000)} · ${duration(now - d.telemetry!.at)} ago`
          : 'no telemetry yet',
      );
      fill(
        roles,
        el(
          'tbody',
          {},
          ...roleNames(d).map((n) => {
            const r = d.roles.get(n) ?? { name: n };
            const st = r.state;
            const figures = t?.roles[n];
            return el(
              'tr',
              { class: roleHealth(r) },
              el('th', {}, el('span', { class: 'dot' }), n),
              el(
                'td',
                {},
                st
                  ? `${st.status} ${duration(now - Date.parse(st.since))}${st.restarts ? `, ${st.restarts} restarts` : ''}${st.error ? `: ${st.error}` : ''}`
                  : 'no state yet',
              ),
              el(
                'td',
                { class: 'muted' },
                figures
                  ? Object.entries(figures)
                      .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(2)}`)
                      .join(' · ')
                  : '',
              ),
            );
          }),
        ),
      );
      const bad = [
        ...d.problems.map((p) => ({ at: p.at, text: `${p.topic}: ${p.message}` })),
        ...d.replies
          .filter((r) => !r.reply.ok)
          .map((r) => ({
            at: r.at,
            text: `refused ${r.reply.topic?.split('/').slice(-2).join('/') ?? 'request'}: ${r.reply.error?.message ?? ''}`,
          })),
      ]
        .sort((a, b) => b.at - a.at)
        .slice(0, 3);
      fill(problems, ...bad.map((b) => el('li', {}, el('span', { class: 'muted' }, `${duration(now - b.at)} ago `), b.text)));
    },
  };
}

export function devicesView(store: Store): { el: HTMLElement; update(): void } {
  const grid = el('div', { class: 'grid devices' });
  const cache = new Map<string, Component<DeviceView>>();
  return {
    el: el('section', { class: 'view', id: 'view-devices' }, grid),
    update() {
      reconcile(
        grid,
        cache,
        store.devices().map((d) => [d.id, d]),
        (k) => deviceCard(store, k),
      );
    },
  };
}
