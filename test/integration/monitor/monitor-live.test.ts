// `hearth monitor` as a person uses it, in tmux (a real terminal): the live view, arrows to select
// a device, Enter to expand it, q to quit; and `--json` as a program reads it (NDJSON).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { startAedes, type TestBroker } from '../../helpers/broker.ts';
import { startTestDevice, type TestDevice } from '../../helpers/device.ts';
import { connectController, type Controller } from '../../helpers/controller.ts';
import { probe } from '../../helpers/test-roles.ts';
import { runMonitor, type MonitorOutput } from '../../../device/monitor/monitor.ts';
import { createLogger } from '../../../device/core/log.ts';
import { topics } from '../../../protocol/index.ts';
import { waitUntil } from '../../helpers/wait.ts';

const root = new URL('../../../', import.meta.url).pathname;
const t = topics('hearth');
const session = `hearth-mon-${process.pid}`;
let broker: TestBroker;
let devices: TestDevice[] = [];
let ctl: Controller;

const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-t', session);
const until = (cond: () => boolean, timeoutMs: number, what: string) =>
  waitUntil(what, cond, { timeoutMs, everyMs: 100, seen: () => `screen:\n${screen()}` });

test.before(async () => {
  broker = await startAedes();
  devices = [
    await startTestDevice({
      id: 'alpha',
      brokerUrl: broker.url,
      roles: { probe: { label: 'first' } },
      extraRoles: [probe],
      telemetryIntervalS: 1,
    }),
    await startTestDevice({
      id: 'beta',
      brokerUrl: broker.url,
      roles: { probe: { label: 'second' } },
      extraRoles: [probe],
      telemetryIntervalS: 1,
    }),
  ];
  ctl = await connectController(broker.url);
  await ctl.waitFor(t.state('beta', 'probe'), (p) => p?.status === 'running');
});

test.after(async () => {
  try {
    tmux('kill-session', '-t', session);
  } catch {
    /* already gone */
  }
  await ctl?.close();
  for (const d of devices) await d.stop();
  await broker?.stop();
});

test('in a terminal: ↓ selects a device, Enter expands it, q quits', async () => {
  tmux(
    'new-session',
    '-d',
    '-s',
    session,
    '-x',
    '110',
    '-y',
    '40',
    '-c',
    root,
    `${process.execPath} --import tsx device/cli/main.ts monitor --broker ${broker.url}; sleep 30`,
  );
  await until(() => screen().includes('2 devices'), 60_000, 'the dashboard');
  assert.ok(screen().includes('q quit'), 'the key help line');
  tmux('send-keys', '-t', session, 'Down', 'Down');
  await until(() => /› . +beta/.test(screen()), 5000, 'beta selected');
  tmux('send-keys', '-t', session, 'Enter');
  await until(() => /beta +\(expanded\)/.test(screen()), 5000, 'beta expanded');
  assert.ok(screen().includes('label=second'), 'the expanded device shows its role detail');
  tmux('send-keys', '-t', session, 'Left');
  await until(() => !screen().includes('(expanded)'), 5000, 'collapsed');
  tmux('send-keys', '-t', session, 'q');
  // The monitor exits; the shell's `sleep` keeps the pane open, so the pane now runs sleep.
  await until(() => tmux('list-panes', '-t', session, '-F', '#{pane_current_command}').trim() === 'sleep', 10_000, 'the monitor to quit');
});

test('--json: one JSON object per line for every status, state and event', async () => {
  const out: MonitorOutput & { text: string } = {
    text: '',
    isTTY: false,
    write(s: string) {
      out.text += s;
      return true;
    },
  };
  const ac = new AbortController();
  const running = runMonitor({ broker: broker.url, json: true, out, log: createLogger({ level: 'error' }), signal: ac.signal });
  const lines = () =>
    out.text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  await until(() => lines().some((l) => l.kind === 'state' && l.device === 'beta'), 5000, 'the retained states');
  const mark = lines().length;
  await ctl.configSet('alpha', { patch: { roles: { probe: { label: 'changed' } } } });
  await until(
    () =>
      lines()
        .slice(mark)
        .some((l) => l.kind === 'state' && l.device === 'alpha' && l.state.detail?.label === 'changed'),
    5000,
    'the live state',
  );
  ac.abort();
  assert.is((await running).code, 0);
  const all = lines();
  const status = all.find((l) => l.kind === 'status' && l.device === 'alpha');
  assert.equal({ ...status, at: undefined }, { at: undefined, device: 'alpha', kind: 'status', retained: true, status: 'online' });
  const st = all.find((l) => l.kind === 'state' && l.device === 'beta')!;
  assert.is(st.role, 'probe');
  assert.is(st.state.status, 'running');
  assert.ok(Number.isFinite(Date.parse(st.at)));
  assert.not.ok(
    all.some((l) => l.kind === 'telemetry'),
    'telemetry is left out',
  );
});

test.run();
