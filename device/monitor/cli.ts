// `hearth monitor`: the live fleet dashboard in a terminal (see monitor.ts for the three modes).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { addBrokerOptions, CliError, type BrokerOpts } from '../tools/broker-options.ts';
import type { CliContext } from '../tools/cli-context.ts';
import { runMonitor } from './monitor.ts';

interface MonitorCliOpts extends BrokerOpts {
  device?: string;
  role?: string;
  once?: boolean;
  plain?: boolean;
  json?: boolean;
  colour?: boolean;
}

export function registerMonitorCommands(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('monitor')
    .description(
      'live dashboard of every device: online/offline and for how long, roles and their state, telemetry, events and errors (keys: ↑/↓ select, Enter expand, q quit)',
    )
    .option('--device <id>', 'show only this device')
    .option('--role <name>', 'show only this role (and the devices that run it)')
    .option('--once', 'print one snapshot once the retained messages are in, then exit')
    .option('--plain', 'no full-screen view: one snapshot, then one line per change (the default when stdout is not a terminal)')
    .option('--json', 'one JSON object per line (NDJSON) for every status, state and event: the retained ones, then live')
    .option('--no-colour', 'no ANSI colour (also when NO_COLOR is set)');
  addBrokerOptions(cmd).action(async (o: MonitorCliOpts) => {
    const password = o.passwordFile ? readFileSync(o.passwordFile, 'utf8').trim() : o.password;
    const r = await runMonitor({
      broker: o.broker,
      username: o.user,
      password,
      base: o.base,
      device: o.device,
      role: o.role,
      once: o.once,
      plain: o.plain,
      json: o.json,
      colour: o.colour === false ? false : undefined,
      log: ctx.log,
      handleSignals: true,
    });
    if (r.code !== 0) throw new CliError(r.error ?? 'monitor stopped', r.code);
  });
}
