// `hearth monitor`: an MQTT client on `<base>/#` feeding the fleet model, drawn three ways:
// - live (a terminal): the alternate screen, redrawn as messages arrive (at most every
//   `redrawMs`) and once a second so ages tick; the normal screen comes back on exit.
// - append (not a terminal, or --plain): one snapshot once the retained messages are in, then one
//   line per change (status, role state, event, refused request, bad message).
// - once (--once): one snapshot once the retained messages are in, then exit.
// - json (--json): one JSON object per line (NDJSON) for every status, state and event, the
//   retained ones first, then live; a message that fails its schema is a line of kind "problem".
// Live mode reads keys (keys.ts): arrows select a device, Enter expands it, q quits.
// Works against any MQTT 3.1.1/5 broker; needs a login that may read the whole base topic.
import mqtt, { type MqttClient } from 'mqtt';
import { FleetModel } from './model.ts';
import { renderFleet, renderChange } from './render.ts';
import { initialView, onKey, parseKeys, type ViewState } from './keys.ts';
import { RealClock, type Clock, type TimerHandle } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';

export interface MonitorOutput {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
  on?(event: 'resize' | 'error', fn: (...a: unknown[]) => void): unknown;
  off?(event: 'resize' | 'error', fn: (...a: unknown[]) => void): unknown;
}

export interface MonitorOptions {
  broker: string;
  username?: string;
  password?: string;
  base?: string;
  device?: string;
  role?: string;
  once?: boolean;
  plain?: boolean;
  json?: boolean;
  /** Keys in live mode (default: process.stdin when it is a terminal). */
  input?: MonitorInput;
  /** Default: on when the output is a terminal and NO_COLOR is not set. */
  colour?: boolean;
  out?: MonitorOutput;
  clock?: Clock;
  log: Logger;
  /** Retained messages are "in" once none arrived for this long after the subscription (default 300 ms). */
  settleMs?: number;
  /** …or after this long at most (default 3000 ms). */
  maxSettleMs?: number;
  /** --once and the first connection give up after this long (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Minimum time between two redraws in live mode (default 100 ms). */
  redrawMs?: number;
  /** Stops the monitor (tests); SIGINT/SIGTERM do the same when `handleSignals` is true. */
  signal?: AbortSignal;
  handleSignals?: boolean;
}

export interface MonitorInput {
  isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
  on(event: 'data', fn: (d: Buffer | string) => void): unknown;
  off(event: 'data', fn: (d: Buffer | string) => void): unknown;
  resume?(): unknown;
  pause?(): unknown;
}

const ALT_ON = '\x1b[?1049h\x1b[?25l';
const ALT_OFF = '\x1b[?25h\x1b[?1049l';

/** The broker URL without any user:password part, for display. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

export interface MonitorResult {
  /** 0 when stopped or done; 1 when the broker could not be reached or refused us. */
  code: number;
  /** Why it stopped with a non-zero code, as one readable line. */
  error?: string;
}

/** Runs the monitor until stopped (or, with `once`, until the snapshot is printed). */
export async function runMonitor(o: MonitorOptions): Promise<MonitorResult> {
  const out: MonitorOutput = o.out ?? process.stdout;
  const clock = o.clock ?? new RealClock();
  const log = o.log;
  const base = o.base ?? 'hearth';
  const model = new FleetModel({ base });
  const mode: 'once' | 'append' | 'live' | 'json' = o.json ? 'json' : o.once ? 'once' : o.plain || !out.isTTY ? 'append' : 'live';
  const input: MonitorInput | undefined = mode === 'live' ? (o.input ?? (process.stdin.isTTY ? process.stdin : undefined)) : undefined;
  let view: ViewState = initialView();
  const colour = o.colour ?? (!!out.isTTY && !process.env.NO_COLOR);
  const width = () => (out.columns && out.columns > 0 ? out.columns : 100);
  const shown = displayUrl(o.broker);
  let connection = `${shown} connecting`;
  const render = () =>
    renderFleet(model, {
      now: clock.wall(),
      width: width(),
      colour,
      device: o.device,
      role: o.role,
      connection,
      formatTime: (t) => new Date(t).toLocaleTimeString(),
      ...(mode === 'live' && input ? { selected: view.selected ?? '', expanded: view.expanded, help: true } : {}),
    });
  /** The devices shown, in the order drawn (for the keys). */
  const shownIds = () =>
    [...model.devices.keys()]
      .sort()
      .filter((id) => !o.device || id === o.device)
      .filter((id) => !o.role || model.devices.get(id)!.roles.has(o.role) || model.devices.get(id)!.info?.roles.includes(o.role));

  const client: MqttClient = mqtt.connect(o.broker, {
    username: o.username,
    password: o.password,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: o.connectTimeoutMs ?? 5000,
    clientId: `hearth-monitor-${Math.random().toString(16).slice(2, 10)}`,
  });

  return new Promise<MonitorResult>((resolve) => {
    let done = false;
    let everConnected = false;
    let settled = false;
    let inAlt = false;
    let lastDraw = -Infinity;
    let drawTimer: TimerHandle | undefined, tickTimer: TimerHandle | undefined, settleTimer: TimerHandle | undefined;
    let maxSettleTimer: TimerHandle | undefined, connectTimer: TimerHandle | undefined;

    const draw = () => {
      drawTimer = undefined;
      lastDraw = clock.now();
      const rows = out.rows && out.rows > 1 ? out.rows : Infinity;
      let lines = render().split('\n');
      if (lines.length > rows) {
        // Scroll so the selected device's block starts on screen.
        const at = lines.findIndex((l) => l.startsWith('› '));
        const from = at > rows - 4 ? Math.min(at - 1, lines.length - rows + 1) : 0;
        lines = [...lines.slice(from, from + rows - 1), `… ${lines.length - rows + 1} more lines (↑/↓ to move, or use --device / --role)`];
      }
      out.write('\x1b[H' + lines.map((l) => l + '\x1b[K').join('\n') + '\x1b[J');
    };
    const scheduleDraw = () => {
      if (mode !== 'live' || drawTimer || done) return;
      const wait = Math.max(0, (o.redrawMs ?? 100) - (clock.now() - lastDraw));
      drawTimer = clock.setTimeout(draw, wait);
    };
    const onResize = () => scheduleDraw();

    const finish = (code: number, message?: string) => {
      if (done) return;
      done = true;
      for (const h of [drawTimer, settleTimer, maxSettleTimer, connectTimer]) clock.clearTimeout(h);
      clock.clearInterval(tickTimer);
      if (inAlt) out.write(ALT_OFF);
      if (input) {
        input.off('data', onInput);
        input.setRawMode?.(false);
        input.pause?.();
      }
      out.off?.('resize', onResize);
      out.off?.('error', onOutError);
      if (o.handleSignals) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      o.signal?.removeEventListener('abort', onAbort);
      if (message) log.debug(message);
      client.end(true, {}, () => resolve(message ? { code, error: message } : { code }));
    };
    const onSignal = () => finish(0);
    const onInput = (d: Buffer | string) => {
      for (const key of parseKeys(d.toString())) {
        view = onKey(view, key, shownIds());
        if (view.quit) {
          finish(0);
          return;
        }
      }
      scheduleDraw();
    };
    const onAbort = () => finish(0);
    // A closed pipe (`hearth monitor | head`) ends the monitor quietly.
    const onOutError = () => finish(0);

    const settle = () => {
      if (settled || done) return;
      settled = true;
      clock.clearTimeout(settleTimer);
      clock.clearTimeout(maxSettleTimer);
      if (mode === 'once') {
        out.write(render() + '\n');
        finish(0);
        return;
      }
      if (mode === 'json') return;
      if (mode === 'append') {
        out.write(render() + '\n\n');
        return;
      }
      out.write(ALT_ON);
      inAlt = true;
      if (input) {
        input.setRawMode?.(true);
        input.resume?.();
        input.on('data', onInput);
      }
      draw();
      tickTimer = clock.setInterval(() => scheduleDraw(), 1000);
    };
    const bumpSettle = () => {
      if (settled) return;
      clock.clearTimeout(settleTimer);
      settleTimer = clock.setTimeout(settle, o.settleMs ?? 300);
    };

    if (o.handleSignals) {
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    }
    o.signal?.addEventListener('abort', onAbort);
    if (o.signal?.aborted) {
      finish(0);
      return;
    }
    out.on?.('resize', onResize);
    out.on?.('error', onOutError);
    connectTimer = clock.setTimeout(() => {
      if (!everConnected) finish(1, `could not connect to ${shown} within ${o.connectTimeoutMs ?? 5000} ms (${connection})`);
    }, o.connectTimeoutMs ?? 5000);

    client.on('connect', () => {
      everConnected = true;
      clock.clearTimeout(connectTimer);
      connection = `${shown} connected`;
      const filter = model.topics.allDevicesFilter();
      client.subscribe(filter, { qos: 1 }, (err, granted) => {
        if (done) return;
        const refused = err || !granted || granted.some((g) => g.qos === 128);
        if (refused) {
          finish(
            1,
            `the broker refused the subscription to ${filter}${err ? `: ${err.message}` : ''} (this login may not read the whole fleet)`,
          );
          return;
        }
        bumpSettle();
        if (!maxSettleTimer && !settled) maxSettleTimer = clock.setTimeout(settle, o.maxSettleMs ?? 3000);
      });
      if (mode === 'append' && settled)
        out.write(renderChange({ at: clock.wall(), level: 'healthy', text: `connected to ${shown}` }, { colour, width: width() }) + '\n');
      scheduleDraw();
    });
    client.on('reconnect', () => {
      connection = `${shown} reconnecting`;
      scheduleDraw();
    });
    client.on('close', () => {
      if (done) return;
      if (everConnected && !connection.endsWith('reconnecting')) {
        connection = `${shown} disconnected, reconnecting`;
        if (mode === 'append' && settled)
          out.write(
            renderChange(
              { at: clock.wall(), level: 'failed', text: `lost the broker ${shown}; reconnecting` },
              { colour, width: width() },
            ) + '\n',
          );
      }
      scheduleDraw();
    });
    client.on('error', (e) => {
      connection = `${shown} error: ${e.message}`;
      // A refused login will not get better by retrying.
      if (/not authori[sz]ed|bad user ?name or password|Connection refused/i.test(e.message)) finish(1, `${shown}: ${e.message}`);
      else scheduleDraw();
    });
    client.on('message', (topic, payload, packet) => {
      if (done) return;
      const at = clock.wall();
      const changes = model.apply({ topic, payload, at, retained: packet.retain });
      if (mode === 'json') {
        const line = jsonLine(model, topic, at, packet.retain, o);
        if (line) out.write(line + '\n');
        if (!settled) bumpSettle();
        return;
      }
      if (!settled) {
        bumpSettle();
        return;
      }
      if (mode === 'append') {
        for (const c of changes) {
          if (o.device && c.device !== o.device) continue;
          if (o.role && !c.text.startsWith(o.role + ' ')) continue;
          out.write(renderChange(c, { colour, width: width(), formatTime: (t) => new Date(t).toLocaleTimeString() }) + '\n');
        }
      } else scheduleDraw();
    });
  });
}

/**
 * One NDJSON line for a status, state or event message just folded into the model (what the
 * model decoded and checked, not the raw payload), or a problem line; undefined for other topics
 * or ones filtered out.
 */
export function jsonLine(
  model: FleetModel,
  topic: string,
  at: number,
  retained: boolean,
  f: { device?: string; role?: string } = {},
): string | undefined {
  const p = model.topics.parse(topic);
  if (!p || (p.kind !== 'status' && p.kind !== 'state' && p.kind !== 'event')) return undefined;
  if (f.device && p.device !== f.device) return undefined;
  const role = 'role' in p ? p.role : undefined;
  if (f.role && role !== f.role) return undefined;
  const d = model.devices.get(p.device);
  const base = { at: new Date(at).toISOString(), device: p.device, kind: p.kind as string, ...(role ? { role } : {}), retained };
  const problem = d?.problems.at(-1);
  if (problem && problem.at === at && problem.topic === topic)
    return JSON.stringify({ ...base, kind: 'problem', topic, message: problem.message });
  if (p.kind === 'status') return JSON.stringify({ ...base, status: d?.status ?? null });
  if (p.kind === 'state') {
    const r = d?.roles.get(p.role);
    return JSON.stringify({ ...base, state: r?.state ?? null, ...(r?.detailProblem ? { detailProblem: r.detailProblem } : {}) });
  }
  const e = d?.events.at(-1);
  return e && e.at === at ? JSON.stringify({ ...base, event: e.event }) : undefined;
}
