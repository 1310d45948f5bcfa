// The web console: log in, follow the house over MQTT-over-WebSocket, and use it: rooms, streams,
// the tuner, the waker, the events, the devices and their configs. Bundled by scripts/build.mjs
// (dist/console/app.js); the hub builds it on the fly when run from the source tree.
import { el, setText } from './dom.ts';
import { Store, type Login } from './store.ts';
import { deviceHealth } from '../../monitor/model.ts';
import { roomsView } from './views/rooms.ts';
import { streamsView } from './views/streams.ts';
import { tunerView } from './views/tuner.ts';
import { wakerView } from './views/waker.ts';
import { eventsView } from './views/events.ts';
import { devicesView } from './views/devices.ts';

const STORE_KEY = 'hearth.console';
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const VIEWS = [
  { id: 'rooms', label: 'Rooms' },
  { id: 'streams', label: 'Streams' },
  { id: 'tuner', label: 'Tuner' },
  { id: 'waker', label: 'Waker' },
  { id: 'events', label: 'Events' },
  { id: 'devices', label: 'Devices' },
] as const;
type ViewId = (typeof VIEWS)[number]['id'];

let store: Store | undefined;
let views: Record<ViewId, { el: HTMLElement; update(): void }> | undefined;
let drawPending = false;
let tick: ReturnType<typeof setInterval> | undefined;

function current(): ViewId {
  const h = location.hash.slice(1);
  return VIEWS.find((v) => v.id === h)?.id ?? 'rooms';
}

function flash(text: string, ok: boolean): void {
  const box = $('flash');
  const item = el('p', { class: ok ? 'healthy' : 'failed', role: 'status' }, `${ok ? '✔' : '✖'} ${text}`);
  box.prepend(item);
  while (box.children.length > 4) box.lastElementChild!.remove();
  setTimeout(() => item.remove(), ok ? 6000 : 15000);
}

function loadLogin(): Login | null {
  try {
    return JSON.parse(sessionStorage.getItem(STORE_KEY) ?? 'null');
  } catch {
    return null;
  }
}

function showLogin(error?: string): void {
  $('app').hidden = true;
  $('logout').hidden = true;
  const f = $<HTMLFormElement>('login');
  f.hidden = false;
  const saved = loadLogin();
  (f.elements.namedItem('url') as HTMLInputElement).value =
    saved?.url ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/mqtt`;
  (f.elements.namedItem('user') as HTMLInputElement).value = saved?.user ?? '';
  (f.elements.namedItem('base') as HTMLInputElement).value = saved?.base ?? 'hearth';
  (f.elements.namedItem('password') as HTMLInputElement).value = '';
  setText($('login-error'), error ?? '');
  setConn('not connected', 'unknown');
}

function setConn(text: string, health: string): void {
  const c = $('conn');
  setText(c, text);
  c.className = `conn ${health}`;
}

function scheduleDraw(): void {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => {
    drawPending = false;
    draw();
  });
}

function draw(): void {
  if (!store || !views) return;
  setConn(store.conn.text, store.conn.health);
  const now = Date.now();
  const devices = store.devices();
  const counts = { healthy: 0, degraded: 0, failed: 0, unknown: 0 };
  for (const d of devices) counts[deviceHealth(d, now).health]++;
  setText(
    $('summary'),
    `${devices.length} device${devices.length === 1 ? '' : 's'}` +
      (['healthy', 'degraded', 'failed'] as const)
        .filter((h) => counts[h])
        .map((h) => ` · ${counts[h]} ${h}`)
        .join(''),
  );
  const v = current();
  for (const { id } of VIEWS) {
    const shown = id === v;
    views[id].el.hidden = !shown;
    document.querySelector(`nav a[href="#${id}"]`)?.setAttribute('aria-current', shown ? 'page' : 'false');
  }
  views[v].update();
}

function connect(l: Login): void {
  $<HTMLFormElement>('login').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = false;
  store = new Store(l);
  const s = store;
  views = {
    rooms: roomsView(s, flash),
    streams: streamsView(s, flash),
    tuner: tunerView(s, flash),
    waker: wakerView(s, flash),
    events: eventsView(s),
    devices: devicesView(s),
  };
  $('views').replaceChildren(...VIEWS.map((x) => views![x.id].el));
  s.onChange(scheduleDraw);
  s.connect((message) => logout(message));
  tick = setInterval(scheduleDraw, 1000); // ages and plots move on
  scheduleDraw();
}

function logout(error?: string): void {
  sessionStorage.removeItem(STORE_KEY);
  store?.disconnect();
  store = undefined;
  views = undefined;
  clearInterval(tick);
  $('views').replaceChildren();
  showLogin(error);
}

$('nav').replaceChildren(...VIEWS.map((v) => el('a', { href: `#${v.id}` }, v.label)));
window.addEventListener('hashchange', scheduleDraw);
$<HTMLFormElement>('login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const f = ev.target as HTMLFormElement;
  const val = (n: string) => (f.elements.namedItem(n) as HTMLInputElement).value.trim();
  const l: Login = {
    url: val('url'),
    user: val('user'),
    password: (f.elements.namedItem('password') as HTMLInputElement).value,
    base: val('base') || 'hearth',
  };
  sessionStorage.setItem(STORE_KEY, JSON.stringify(l));
  connect(l);
});
$('logout').addEventListener('click', () => logout());

const saved = loadLogin();
if (saved) connect(saved);
else showLogin();
