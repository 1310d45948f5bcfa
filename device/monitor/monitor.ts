// `hearth monitor`: an MQTT client on `<base>/#` feeding the fleet model, drawn three ways:
// - live (a terminal): the alternate screen, redrawn as messages arrive (at most every
//   `redrawMs`) and once a second so ages tick; the normal screen comes back on exit.
// - append (not a terminal, or --plain): one snapshot once the retained messages are in, then one
//   line per change (status, role state, event, refused request, bad message).
// - once (--once): one snapshot once the retained messages are in, then exit.
// Works against any MQTT 3.1.1/5 broker; needs a login that may read the whole base topic.
import mqtt, { type MqttClient } from 'mqtt';
import { FleetModel } from './model.ts';
import { renderFleet, renderChange } from './render.ts';
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

const ALT_ON = '\x1b[?1049h\x1b[?25l';
const ALT_OFF = '\x1b[?25h\x1b[?1049l';

/** The broker URL without any user:password part, for display. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = ''; u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch { return url; }
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
  const mode: 'once' | 'append' | 'live' = o.once ? 'once' : o.plain || !out.isTTY ? 'append' : 'live';
  const colour = o.colour ?? (!!out.isTTY && !process.env.NO_COLOR);
  const width = () => (out.columns && out.columns > 0 ? out.columns : 100);
  const shown = displayUrl(o.broker);
  let connection = `${shown} connecting`;
  const render = () => renderFleet(model, {
    now: clock.wall(), width: width(), colour, device: o.device, role: o.role, connection,
    formatTime: (t) => new Date(t).toLocaleTimeString(),
  });

  const client: MqttClient = mqtt.connect(o.broker, {
    username: o.username, password: o.password, clean: true, reconnectPeriod: 1000,
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
      if (lines.length > rows) lines = [...lines.slice(0, rows - 1), `… ${lines.length - rows + 1} more lines (make the terminal taller, or use --device / --role)`];
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
      out.off?.('resize', onResize);
      out.off?.('error', onOutError);
      if (o.handleSignals) { process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal); }
      o.signal?.removeEventListener('abort', onAbort);
      if (message) log.debug(message);
      client.end(true, {}, () => resolve(message ? { code, error: message } : { code }));
    };
    const onSignal = () => finish(0);
    const onAbort = () => finish(0);
    // A closed pipe (`hearth monitor | head`) ends the monitor quietly.
    const onOutError = () => finish(0);

    const settle = () => {
      if (settled || done) return;
      settled = true;
      clock.clearTimeout(settleTimer);
      clock.clearTimeout(maxSettleTimer);
      if (mode === 'once') { out.write(render() + '\n'); finish(0); return; }
      if (mode === 'append') {
        out.write(render() + '\n\n');
        return;
      }
      out.write(ALT_ON);
      inAlt = true;
      draw();
      tickTimer = clock.setInterval(() => scheduleDraw(), 1000);
    };
    const bumpSettle = () => {
      if (settled) return;
      clock.clearTimeout(settleTimer);
      settleTimer = clock.setTimeout(settle, o.settleMs ?? 300);
    };

    if (o.handleSignals) { process.once('SIGINT', onSignal); process.once('SIGTERM', onSignal); }
    o.signal?.addEventListener('abort', onAbort);
    if (o.signal?.aborted) { finish(0); return; }
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
        if (refused) { finish(1, `the broker refused the subscription to ${filter}${err ? `: ${err.message}` : ''} (this login may not read the whole fleet)`); return; }
        bumpSettle();
        if (!maxSettleTimer && !settled) maxSettleTimer = clock.setTimeout(settle, o.maxSettleMs ?? 3000);
      });
      if (mode === 'append' && settled) out.write(renderChange({ at: clock.wall(), level: 'healthy', text: `connected to ${shown}` }, { colour, width: width() }) + '\n');
      scheduleDraw();
    });
    client.on('reconnect', () => { connection = `${shown} reconnecting`; scheduleDraw(); });
    client.on('close', () => {
      if (done) return;
      if (everConnected && !connection.endsWith('reconnecting')) {
        connection = `${shown} disconnected, reconnecting`;
        if (mode === 'append' && settled) out.write(renderChange({ at: clock.wall(), level: 'failed', text: `lost the broker ${shown}; reconnecting` }, { colour, width: width() }) + '\n');
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
      const changes = model.apply({ topic, payload, at: clock.wall(), retained: packet.retain });
      if (!settled) { bumpSettle(); return; }
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
