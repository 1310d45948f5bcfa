// The dashboard as text: fleet model + now + terminal width → lines with ANSI colour. Pure, so
// snapshots with a fixed time are exact. One block per device: status and for how long, board and
// versions, last telemetry, one line per role (state, for how long, its own detail in short),
// streams, latest events, and errors (bad messages, refused requests). Healthy is green, degraded
// yellow, failed red; the symbol in front says the same for terminals without colour.
import { roleSummary } from './roles.ts';
import {
  deviceHealth,
  roleHealth,
  roleNames,
  eventLevel,
  telemetryIntervalMs,
  STALE_PERIODS,
  type FleetModel,
  type DeviceView,
  type Health,
  type Change,
} from './model.ts';

export interface RenderOptions {
  /** Wall-clock milliseconds "now" (ages and durations are relative to it). */
  now: number;
  /** Terminal columns; every line is cut to fit. */
  width: number;
  colour: boolean;
  device?: string;
  role?: string;
  /** Events shown per device (default 5). */
  events?: number;
  /** Broker and connection line for the header, e.g. "mqtt://hub:1883 connected". */
  connection?: string;
  /** Formats a wall time for the header (default: ISO time of day, UTC). */
  formatTime?: (t: number) => string;
  /** Live mode: the device the keys act on (its title is marked "›" and shown inverse). */
  selected?: string;
  /** Devices shown with every role's full state and figures. */
  expanded?: ReadonlySet<string>;
  /** A key help line at the bottom (live mode). */
  help?: boolean;
}

const SGR = {
  reset: '\x1b[0m',
  bold: '\x1b[1m',
  dim: '\x1b[2m',
  inverse: '\x1b[7m',
  red: '\x1b[31m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  cyan: '\x1b[36m',
};
const HEALTH_COLOUR: Record<Health, string> = { healthy: SGR.green, degraded: SGR.yellow, failed: SGR.red, unknown: SGR.dim };
const HEALTH_MARK: Record<Health, string> = { healthy: '●', degraded: '▲', failed: '✖', unknown: '·' };

/** "0s", "12s", "3m12s", "2h05m", "3d04h". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/y;

/** Visible length of a string that may hold ANSI colour codes. */
export function visibleLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length;) {
    ANSI.lastIndex = i;
    const m = ANSI.exec(s);
    if (m) {
      i += m[0].length;
      continue;
    }
    const cp = s.codePointAt(i)!;
    i += cp > 0xffff ? 2 : 1;
    n++;
  }
  return n;
}

/** Cuts a line to `width` visible columns ("…" marks the cut), keeping colour codes balanced. */
export function fit(s: string, width: number): string {
  if (width <= 0 || visibleLength(s) <= width) return s;
  let out = '';
  let n = 0;
  let coloured = false;
  for (let i = 0; i < s.length;) {
    ANSI.lastIndex = i;
    const m = ANSI.exec(s);
    if (m) {
      out += m[0];
      coloured = m[0] !== SGR.reset;
      i += m[0].length;
      continue;
    }
    const cp = s.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    i += ch.length;
    if (n === width - 1) {
      out += '…';
      break;
    }
    out += ch;
    n++;
  }
  return coloured ? out + SGR.reset : out;
}

function fmtNumber(x: number): string {
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2);
}

function scalar(v: unknown): string | undefined {
  if (v === null) return 'null';
  if (typeof v === 'number') return fmtNumber(v);
  if (typeof v === 'string') return v.length > 40 ? v.slice(0, 39) + '…' : v;
  if (typeof v === 'boolean') return String(v);
  return undefined;
}

/**
 * A role's own detail in one short line: scalars as k=v (one level of nesting flattened), lists
 * of named things as "name state" (e.g. a waker's hosts), other lists by their length.
 */
export function summarizeDetail(detail: unknown): string {
  const s = scalar(detail);
  if (s !== undefined) return s;
  if (!detail || typeof detail !== 'object') return '';
  if (Array.isArray(detail)) return `${detail.length} items`;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(detail)) {
    if (k === 'clock' && v && typeof v === 'object') {
      parts.push(clockBrief(v as ClockBrief));
      continue;
    }
    const sv = scalar(v);
    if (sv !== undefined) {
      parts.push(`${k}=${sv}`);
      continue;
    }
    if (Array.isArray(v)) {
      const named = v.filter(
        (x): x is Record<string, unknown> => !!x && typeof x === 'object' && typeof (x as { name?: unknown }).name === 'string',
      );
      if (named.length && named.length === v.length) {
        parts.push(
          `${k}: ` +
            named
              .map((x) => {
                const st = scalar(x.state ?? x.status);
                return st !== undefined ? `${x.name} ${st}` : String(x.name);
              })
              .join(', '),
        );
      } else if (v.length) parts.push(`${k}: ${v.length}`);
      continue;
    }
    if (v && typeof v === 'object') {
      for (const [k2, v2] of Object.entries(v)) {
        const s2 = scalar(v2);
        if (s2 !== undefined) parts.push(`${k}.${k2}=${s2}`);
      }
    }
  }
  return parts.join(' ');
}

interface ClockBrief {
  state?: string;
  reason?: string;
  offsetMs?: number;
  uncertaintyUs?: number;
  reference?: string;
  lastReachedS?: number;
  sufficient?: boolean;
}

/** The house clock in a few words: "clock locked ±12µs" (+ "unsure" when a player says it is not enough). */
export function clockBrief(c: ClockBrief): string {
  return `clock=${c.state ?? '?'}${c.uncertaintyUs !== undefined ? ` ±${fmtNumber(c.uncertaintyUs)}µs` : ''}${c.sufficient === false ? ' unsure' : ''}`;
}

/** The telemetry's house clock: state, offset from the OS clock, uncertainty, reference and when it last answered. */
export function clockLine(c: ClockBrief): string {
  if (c.state === 'off') return `clock off${c.reason ? ` (${c.reason})` : ''}`;
  const parts = [`clock ${c.state ?? '?'}`];
  if (c.offsetMs !== undefined) parts.push(`${c.offsetMs >= 0 ? '+' : ''}${fmtNumber(c.offsetMs)} ms vs OS`);
  if (c.uncertaintyUs !== undefined) parts.push(`±${fmtNumber(c.uncertaintyUs)} µs`);
  if (c.reference) parts.push(`ref ${c.reference}${c.lastReachedS !== undefined ? ` ${fmtNumber(c.lastReachedS)} s ago` : ''}`);
  return parts.join(' ');
}

export interface Painter {
  (code: keyof typeof SGR, s: string): string;
  health(h: Health, s: string): string;
}

export function painter(colour: boolean): Painter {
  const p = ((code: keyof typeof SGR, s: string) => (colour && s ? SGR[code] + s + SGR.reset : s)) as Painter;
  p.health = (h, s) => (colour && s ? HEALTH_COLOUR[h] + s + SGR.reset : s);
  return p;
}

function ago(now: number, t: number): string {
  return `${formatDuration(now - t)} ago`;
}

function statusText(d: DeviceView, now: number): string {
  if (!d.status) return d.lastSeenAt !== undefined ? `status unknown, last seen ${ago(now, d.lastSeenAt)}` : 'status unknown';
  if (d.statusSince !== undefined && (d.statusExact || d.status === 'online')) return `${d.status} ${formatDuration(now - d.statusSince)}`;
  if (d.status === 'offline' && d.lastSeenAt !== undefined) return `offline, last seen ${ago(now, d.lastSeenAt)}`;
  return d.status;
}

function telemetryLine(d: DeviceView, now: number, p: Painter): string {
  if (!d.telemetry) return p('dim', d.status === 'offline' ? 'no telemetry' : 'no telemetry yet');
  const t = d.telemetry.value;
  const parts = [
    `cpu ${t.cpuPct.toFixed(1)}%`,
    `rss ${t.rssMb.toFixed(1)} MB`,
    `heap ${t.heapMb.toFixed(1)} MB`,
    `load ${t.load1.toFixed(2)}`,
    ...(t.temperatureC !== undefined ? [`${t.temperatureC.toFixed(1)}°C`] : []),
    `up ${formatDuration(t.uptimeS * 1000)}`,
    ...(t.clock ? [clockLine(t.clock)] : []),
  ];
  const age = now - d.telemetry.at;
  const stale = d.status === 'online' && age > STALE_PERIODS * telemetryIntervalMs(d);
  const when = `telemetry ${ago(now, d.telemetry.at)}`;
  return parts.join('  ') + '  ' + (stale ? p('yellow', when + ' (stale)') : p('dim', when));
}

/** Cuts a long text into lines of at most `width` columns, at spaces where it can. */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = '';
    }
    line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

function roleLines(d: DeviceView, now: number, p: Painter, only: string | undefined, expanded: boolean, width: number): string[] {
  const names = roleNames(d).filter((n) => !only || n === only);
  const w = Math.max(6, ...names.map((n) => n.length));
  return names.flatMap((name) => {
    const r = d.roles.get(name) ?? { name };
    const h = roleHealth(r);
    const head = p.health(h, `${HEALTH_MARK[h]} ${name.padEnd(w)}`);
    const st = r.state;
    if (!st) return [`  ${head}  ${p('dim', 'no state yet')}`];
    const since = Date.parse(st.since);
    let text = `${st.status}${Number.isFinite(since) ? ' ' + formatDuration(now - since) : ''}`;
    if (st.restarts) text += `, restarts ${st.restarts}`;
    if (st.nextRestartInMs !== undefined && st.status !== 'running') text += `, next try in ${formatDuration(st.nextRestartInMs)}`;
    // A role with a summary leads with it (its figures first); others show their whole detail.
    const lead = r.detailProblem ? undefined : roleSummary(name, st.detail, now);
    let line = `  ${head}  ${lead !== undefined ? `${lead}  ${p('dim', text)}` : p.health(h, text)}`;
    if (st.error) line += p('red', `: ${st.error}`);
    if (r.detailProblem) line += ' ' + p('yellow', `[state does not match the ${name} spec: ${r.detailProblem}]`);
    const detail = summarizeDetail(st.detail);
    const figures = d.telemetry?.value.roles[name];
    const figureText =
      figures && Object.keys(figures).length
        ? Object.entries(figures)
            .map(([k, v]) => `${k}=${fmtNumber(v)}`)
            .join(' ')
        : '';
    if (lead === undefined && detail) line += '  ' + detail;
    if (lead === undefined && figureText && !expanded) line += '  ' + p('dim', figureText);
    if (!expanded) return [line];
    const pad = ' '.repeat(w + 6);
    const more = [
      ...(lead !== undefined ? wrap(detail, Math.max(20, width - pad.length)) : []),
      ...(figureText ? wrap(figureText, Math.max(20, width - pad.length)).map((l) => p('dim', l)) : []),
    ];
    return [line, ...more.map((l) => pad + l)];
  });
}

function deviceBlock(d: DeviceView, o: RenderOptions, p: Painter, base: string): string[] {
  const { now } = o;
  const verdict = deviceHealth(d, now);
  const lines: string[] = [];
  const info = d.info;
  const title = p('bold', d.id) + (info?.name && info.name !== d.id ? ` ${info.name}` : '');
  const facts = info
    ? [info.model, `hearth ${info.runtime}`, `protocol ${info.protocol}`, ...(info.addresses.length ? [info.addresses.join(' ')] : [])]
    : ['no info yet'];
  const statusHealth: Health = d.status === 'online' ? 'healthy' : d.status === 'offline' ? 'failed' : 'unknown';
  const selected = o.selected !== undefined ? (o.selected === d.id ? '› ' : '  ') : '';
  const shownTitle = o.selected === d.id ? p('inverse', ` ${d.id} `) + (info?.name && info.name !== d.id ? ` ${info.name}` : '') : title;
  const expanded = !!o.expanded?.has(d.id);
  lines.push(
    `${selected}${p.health(verdict.health, HEALTH_MARK[verdict.health])} ${shownTitle}${expanded ? p('dim', ' (expanded)') : ''}  ${p.health(statusHealth, statusText(d, now))}  ${p('dim', facts.join(' · '))}`,
  );
  if (verdict.health !== 'healthy' && verdict.reasons.length && !(verdict.reasons.length === 1 && verdict.reasons[0] === 'offline')) {
    lines.push(`  ${p.health(verdict.health, verdict.reasons.join(', '))}`);
  }
  if (!o.role) lines.push('  ' + telemetryLine(d, now, p));
  // An offline device's retained role states are its last words, not its present: dim them.
  const roles = roleLines(d, now, d.status === 'offline' ? painter(false) : p, o.role, expanded, o.width);
  lines.push(...(d.status === 'offline' ? roles.map((l) => p('dim', l + ' (last known)')) : roles));
  if (!o.role && d.streams.size) {
    const s = [...d.streams.values()].map(
      (a) => `${a.stream} ${a.group}:${a.port} ${a.encoding}/${a.rate}/${a.channels}${a.enabled ? '' : ' (disabled)'}`,
    );
    lines.push(`  ${p('cyan', 'streams')}  ${s.join(', ')}`);
  }
  const events = d.events
    .filter((e) => !o.role || e.role === o.role)
    .sort((a, b) => b.at - a.at)
    .slice(0, o.events ?? 5);
  for (const [i, e] of events.entries()) {
    const lvl = eventLevel(e.event.type);
    const label = i === 0 ? p('cyan', 'events ') : '       ';
    const colourOf = lvl === 'healthy' ? (s: string) => s : (s: string) => p.health(lvl, s);
    lines.push(`  ${label}  ${p('dim', ago(now, e.at).padEnd(8))} ${e.role} ${colourOf(e.event.type)}  ${colourOf(e.event.message)}`);
  }
  const prefix = `${base}/${d.id}/`;
  const errors = [
    ...d.problems.map((x) => ({ at: x.at, text: `${x.topic.startsWith(prefix) ? x.topic.slice(prefix.length) : x.topic}: ${x.message}` })),
    ...d.replies
      .filter((r) => !r.reply.ok)
      .map((r) => ({
        at: r.at,
        text: `request ${r.reply.id}${r.reply.topic ? ` (${r.reply.topic.startsWith(prefix) ? r.reply.topic.slice(prefix.length) : r.reply.topic})` : ''} refused: ${r.reply.error?.code ?? 'error'} — ${r.reply.error?.message ?? ''}`,
      })),
  ]
    .filter((x) => !o.role || x.text.includes(o.role))
    .sort((a, b) => b.at - a.at)
    .slice(0, 3);
  for (const [i, e] of errors.entries()) {
    lines.push(`  ${i === 0 ? p('red', 'errors ') : '       '}  ${p('dim', ago(now, e.at).padEnd(8))} ${p('red', e.text)}`);
  }
  return lines;
}

function defaultTime(t: number): string {
  return new Date(t).toISOString().slice(11, 19) + 'Z';
}

/** The whole dashboard as one string (lines joined by "\n", no trailing newline). */
export function renderFleet(model: FleetModel, o: RenderOptions): string {
  const p = painter(o.colour);
  const all = [...model.devices.values()].sort((a, b) => a.id.localeCompare(b.id));
  const shown = all.filter((d) => (!o.device || d.id === o.device) && (!o.role || roleNames(d).includes(o.role)));
  const counts: Record<Health, number> = { healthy: 0, degraded: 0, failed: 0, unknown: 0 };
  for (const d of shown) counts[deviceHealth(d, o.now).health]++;
  const summary = [
    `${shown.length} device${shown.length === 1 ? '' : 's'}`,
    ...(['healthy', 'degraded', 'failed'] as const).filter((h) => counts[h]).map((h) => p.health(h, `${counts[h]} ${h}`)),
  ].join('  ');
  const filters = [o.device ? `device ${o.device}` : '', o.role ? `role ${o.role}` : ''].filter(Boolean).join(', ');
  const lines = [
    `${p('bold', 'hearth monitor')}  ${o.connection ?? ''}  ${p('dim', (o.formatTime ?? defaultTime)(o.now))}`.replace(/ {3,}/g, '  '),
    summary + (filters ? p('dim', `  (only ${filters})`) : ''),
  ];
  if (shown.length === 0) {
    lines.push(
      '',
      p(
        'dim',
        o.device
          ? `no device "${o.device}" seen yet`
          : o.role
            ? `no device with role "${o.role}" seen yet`
            : `waiting for devices on ${model.topics.allDevicesFilter()} …`,
      ),
    );
  }
  for (const d of shown) lines.push('', ...deviceBlock(d, o, p, model.topics.base));
  if (o.help) lines.push('', p('dim', '↑/↓ select a device · Enter/→ expand · ← collapse · a expand all · q quit'));
  if (!o.device && model.problems.length) {
    const last = model.problems[model.problems.length - 1]!;
    lines.push(
      '',
      `${p('yellow', `${model.problems.length} message${model.problems.length === 1 ? '' : 's'} on unknown topics`)}  ${p('dim', `latest ${last.topic}`)}`,
    );
  }
  return lines.map((l) => fit(l, o.width)).join('\n');
}

/** One change as an appended line: "12:00:01Z kitchen tuner failed: GPIO busy". */
export function renderChange(c: Change, o: Pick<RenderOptions, 'colour' | 'width' | 'formatTime'>): string {
  const p = painter(o.colour);
  const text = c.level === 'healthy' || c.level === 'unknown' ? c.text : p.health(c.level, c.text);
  return fit(`${p('dim', (o.formatTime ?? defaultTime)(c.at))} ${c.device ? p('bold', c.device) + ' ' : ''}${text}`, o.width);
}
