// The web console: log in, follow every device over MQTT-over-WebSocket, send commands and config
// patches and show their replies. The DOM side only; the logic is in fleet.js. Every text from the
// network goes into the page through textContent, never as HTML.
import {
  createFleet, applyMessage, buildCommand, buildConfigPatch, bodyTemplate, commandRoles, deviceHealth,
  statusText, summarize, formatDuration, eventLevel, roleHealth, defaultBrokerUrl, replyText, KNOWN_ACTIONS,
} from './fleet.js';

const STORE = 'hearth.console';
const REPLY_TIMEOUT_MS = 10_000;
const $ = (id) => document.getElementById(id);

let client = null;
let fleet = createFleet();
let login = null;
let drawPending = false;
const pending = new Map(); // request id → { what, timer }
const openConfigs = new Set(); // device ids whose config <details> is open

/** Builds an element: el('div', { class: 'x' }, 'text', child, …). */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== '') e.append(c instanceof Node ? c : String(c));
  return e;
}

function loadLogin() {
  try { return JSON.parse(sessionStorage.getItem(STORE) ?? 'null'); } catch { return null; }
}

function showLogin(error) {
  $('fleet').hidden = true;
  $('panel').hidden = true;
  $('logout').hidden = true;
  const f = $('login');
  f.hidden = false;
  const saved = loadLogin();
  f.url.value = saved?.url ?? defaultBrokerUrl(location);
  f.user.value = saved?.user ?? '';
  f.base.value = saved?.base ?? 'hearth';
  f.password.value = '';
  $('login-error').textContent = error ?? '';
  setConn('not connected', 'unknown');
}

function setConn(text, health) {
  const c = $('conn');
  c.textContent = text;
  c.className = `conn ${health}`;
}

function connect(l) {
  login = l;
  try { fleet = createFleet(l.base || 'hearth'); } catch (e) { showLogin(e.message); return; }
  $('login').hidden = true;
  $('fleet').hidden = false;
  $('panel').hidden = false;
  $('logout').hidden = false;
  setConn(`connecting to ${l.url}…`, 'degraded');
  const api = window.mqtt.connect ? window.mqtt : window.mqtt.default;
  client = api.connect(l.url, {
    username: l.user || undefined, password: l.password || undefined, protocolVersion: 4, reconnectPeriod: 2000,
    clientId: `hearth-console-${Math.random().toString(16).slice(2, 10)}`,
  });
  client.on('connect', () => {
    setConn(`connected to ${l.url}`, 'healthy');
    client.subscribe(fleet.topics.all(), { qos: 1 }, (err, granted) => {
      if (err || granted?.some((g) => g.qos === 128)) setConn(`connected, but may not read ${fleet.topics.all()} with this login`, 'failed');
    });
  });
  client.on('reconnect', () => setConn(`reconnecting to ${l.url}…`, 'degraded'));
  client.on('offline', () => setConn(`lost ${l.url}; retrying`, 'failed'));
  client.on('error', (e) => {
    if (/not authori[sz]ed|bad user ?name or password/i.test(e.message)) {
      logout(`login refused: ${e.message}`);
    } else setConn(`error: ${e.message}`, 'failed');
  });
  client.on('message', (topic, payload, packet) => {
    const reply = applyMessage(fleet, topic, payload.toString(), Date.now(), packet.retain);
    if (reply && pending.has(reply.id)) settle(reply.id, reply);
    scheduleDraw();
  });
  scheduleDraw();
}

function logout(error) {
  sessionStorage.removeItem(STORE);
  if (client) { client.end(true); client = null; }
  for (const [id] of pending) settle(id);
  fleet = createFleet();
  $('devices').replaceChildren();
  showLogin(error);
}

function scheduleDraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => { drawPending = false; draw(); });
}

function roleRow(d, name, now) {
  const r = d.roles.get(name);
  const h = roleHealth(r);
  const st = r?.state;
  const since = st ? Date.parse(st.since) : NaN;
  return el('tr', { class: h },
    el('th', {}, el('span', { class: 'dot' }), name),
    el('td', {}, st ? `${st.status}${Number.isFinite(since) ? ' ' + formatDuration(now - since) : ''}${st.restarts ? `, ${st.restarts} restarts` : ''}` : 'no state yet'),
    el('td', { class: 'detail' }, st?.error ? el('span', { class: 'err' }, st.error + ' ') : '', summarize(st?.detail)),
  );
}

function deviceCard(d, now) {
  const health = deviceHealth(d, now);
  const t = d.telemetry?.value;
  const names = [...new Set([...(d.info?.roles ?? []), ...d.roles.keys()])].sort();
  const events = [...d.events].sort((a, b) => b.at - a.at).slice(0, 5);
  const errors = [
    ...d.problems.map((p) => ({ at: p.at, text: `${p.topic}: ${p.message}` })),
    ...d.replies.filter((r) => !r.reply.ok).map((r) => ({ at: r.at, text: `request ${r.reply.id}: ${replyText(r.reply)}` })),
  ].sort((a, b) => b.at - a.at).slice(0, 3);
  const details = el('details', { open: openConfigs.has(d.id) },
    el('summary', {}, `config${d.config ? ` (revision ${d.config.revision})` : ''}`),
    el('pre', {}, d.config ? JSON.stringify(d.config.config, null, 2) : 'not published'));
  details.addEventListener('toggle', () => { if (details.open) openConfigs.add(d.id); else openConfigs.delete(d.id); });
  return el('article', { class: `device ${health}` },
    el('header', {},
      el('span', { class: 'dot' }),
      el('h2', {}, d.info?.name ?? d.id),
      d.info?.name ? el('span', { class: 'muted' }, d.id) : '',
      el('span', { class: `status ${d.status === 'online' ? 'healthy' : d.status === 'offline' ? 'failed' : 'unknown'}` }, statusText(d, now)),
      el('button', { type: 'button', class: 'small', onclick: () => pickDevice(d.id) }, 'Command…'),
    ),
    el('p', { class: 'muted' }, d.info ? [d.info.model, `hearth ${d.info.runtime}`, ...(d.info.addresses ?? [])].filter(Boolean).join(' · ') : 'no info yet'),
    el('p', { class: 'telemetry' }, t
      ? `cpu ${t.cpuPct.toFixed(1)}% · rss ${t.rssMb.toFixed(1)} MB${t.temperatureC !== undefined ? ` · ${t.temperatureC.toFixed(1)} °C` : ''} · up ${formatDuration(t.uptimeS * 1000)} · ${formatDuration(now - d.telemetry.at)} ago`
      : 'no telemetry yet'),
    // An offline device's retained role states are its last words, not its present.
    names.length ? el('table', { class: d.status === 'offline' ? 'roles stale' : 'roles', title: d.status === 'offline' ? 'last known state' : undefined }, el('tbody', {}, names.map((n) => roleRow(d, n, now)))) : '',
    events.length ? el('ul', { class: 'events' }, events.map((e) => el('li', { class: eventLevel(e.event.type) },
      el('span', { class: 'muted' }, `${formatDuration(now - e.at)} ago `), `${e.role} `, el('b', {}, e.event.type), ` ${e.event.message}`))) : '',
    errors.length ? el('ul', { class: 'errors' }, errors.map((e) => el('li', {}, el('span', { class: 'muted' }, `${formatDuration(now - e.at)} ago `), e.text))) : '',
    details,
  );
}

function draw() {
  const now = Date.now();
  const devices = [...fleet.devices.values()].sort((a, b) => a.id.localeCompare(b.id));
  const counts = { healthy: 0, degraded: 0, failed: 0, unknown: 0 };
  for (const d of devices) counts[deviceHealth(d, now)]++;
  $('summary').textContent = `${devices.length} device${devices.length === 1 ? '' : 's'}` +
    ['healthy', 'degraded', 'failed'].filter((h) => counts[h]).map((h) => ` · ${counts[h]} ${h}`).join('');
  $('devices').replaceChildren(...(devices.length ? devices.map((d) => deviceCard(d, now)) : [el('p', { class: 'muted' }, `waiting for devices on ${fleet.topics.all()}…`)]));
  refreshPanel();
}

// --- the command / config panel -------------------------------------------------------------

function fillSelect(select, values, keep) {
  const current = keep ?? select.value;
  if ([...select.options].map((o) => o.value).join('\n') !== values.join('\n')) {
    select.replaceChildren(...values.map((v) => el('option', { value: v }, v)));
  }
  if (values.includes(current)) select.value = current;
}

function refreshPanel() {
  const ids = [...fleet.devices.keys()].sort();
  fillSelect($('cmd-device'), ids);
  const d = fleet.devices.get($('cmd-device').value);
  fillSelect($('cmd-role'), commandRoles(d));
  const actions = Object.keys(KNOWN_ACTIONS[$('cmd-role').value] ?? {});
  const list = $('actions');
  if ([...list.options].map((o) => o.value).join() !== actions.join()) list.replaceChildren(...actions.map((a) => el('option', { value: a })));
  const rev = d?.config?.revision;
  $('patch-rev-label').textContent = rev === undefined ? 'only if the revision is unchanged' : `only if the revision is still ${rev}`;
}

function pickDevice(id) {
  $('cmd-device').value = id;
  refreshPanel();
  $('panel').scrollIntoView({ behavior: 'smooth' });
}

function showResult(text, health) {
  const out = $('result');
  out.textContent = text;
  out.className = health;
}

function settle(id, reply) {
  const p = pending.get(id);
  if (!p) return;
  clearTimeout(p.timer);
  pending.delete(id);
  if (reply) showResult(`${reply.ok ? '✔' : '✖'} ${p.what}: ${replyText(reply)}`, reply.ok ? 'healthy' : 'failed');
}

function send(req, what) {
  if (!client?.connected) { showResult('not connected', 'failed'); return; }
  pending.set(req.id, { what, timer: setTimeout(() => { pending.delete(req.id); showResult(`✖ ${what}: no reply within ${REPLY_TIMEOUT_MS / 1000} s (is the device online?)`, 'failed'); }, REPLY_TIMEOUT_MS) });
  showResult(`… ${what} sent (request ${req.id}), waiting for the reply`, 'degraded');
  client.publish(req.topic, req.payload, { qos: 1 });
}

function onCommand(ev) {
  ev.preventDefault();
  const device = $('cmd-device').value, role = $('cmd-role').value, action = $('cmd-action').value.trim();
  try {
    const req = buildCommand(fleet.topics, device, role, action, $('cmd-body').value);
    send(req, `${device} ${role}/${action}`);
  } catch (e) { showResult(`✖ ${e.message}`, 'failed'); }
}

function onPatch(ev) {
  ev.preventDefault();
  const device = $('cmd-device').value;
  const rev = $('patch-if-rev').checked ? fleet.devices.get(device)?.config?.revision : undefined;
  try {
    const req = buildConfigPatch(fleet.topics, device, $('patch-body').value, undefined, rev);
    send(req, `${device} config patch`);
  } catch (e) { showResult(`✖ ${e.message}`, 'failed'); }
}

function onLogin(ev) {
  ev.preventDefault();
  const f = $('login');
  const l = { url: f.url.value.trim(), user: f.user.value.trim(), password: f.password.value, base: f.base.value.trim() || 'hearth' };
  sessionStorage.setItem(STORE, JSON.stringify(l));
  connect(l);
}

$('login').addEventListener('submit', onLogin);
$('logout').addEventListener('click', () => logout());
$('cmd').addEventListener('submit', onCommand);
$('patch').addEventListener('submit', onPatch);
$('cmd-device').addEventListener('change', () => refreshPanel());
$('cmd-role').addEventListener('change', () => { refreshPanel(); $('cmd-action').value = ''; });
$('cmd-action').addEventListener('change', () => { $('cmd-body').value = bodyTemplate($('cmd-role').value, $('cmd-action').value.trim()); });
setInterval(() => { if (client) scheduleDraw(); }, 1000); // ages tick

const saved = loadLogin();
if (saved) connect(saved); else showLogin();
