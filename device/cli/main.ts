#!/usr/bin/env node
// `hearth`: the one entry point — the device runtime (`run`), the broker (`hub`), and the
// controller commands (provision, cmd, monitor, image, flash). Every command has --help.
import { readFileSync } from 'node:fs';
import { resolve, join, dirname } from 'node:path';
import { Command, Option } from 'commander';
import { topics as topicsFor, normalizeConfig, ProtocolError, parseStrictJson } from '../../protocol/index.ts';
import { createLogger, type LogLevel } from '../core/log.ts';
import { RUNTIME_VERSION } from '../core/version.ts';
import { addBrokerOptions, connectBroker, CliError, type BrokerOpts } from '../tools/broker-options.ts';
import { request, formatReplyError, commandTimeoutMs } from './request.ts';
import { registerHouseCommand } from './house.ts';
import { registerExtraCommands } from './extra-commands.ts';
import { BUILT_IN_ROLES } from './roles.ts';
import { parseProvisioning, PROVISIONING_FILE } from '../../protocol/provisioning.ts';

const program = new Command('hearth')
  .description('hearth: multi-room audio, antenna tuner, Wake-on-LAN and more for a house of Raspberry Pis, over MQTT')
  .version(RUNTIME_VERSION)
  .showHelpAfterError('(add --help for usage)');

const logFor = (level?: string) => createLogger({ level: (level as LogLevel) ?? undefined });

program
  .command('run')
  .description('run the device runtime with the roles its config enables (what the SD image starts)')
  .requiredOption('--config <file>', 'device config file (plain config or the stored form the runtime writes)')
  .option('--state-dir <dir>', "persistent state (credentials, caches); default: the config file's folder")
  .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']).env('HEARTH_LOG_LEVEL'))
  .action(async (o: { config: string; stateDir?: string; logLevel?: string }) => {
    const { startRuntime } = await import('../core/runtime.ts');
    const configFile = resolve(o.config);
    const stateDir = resolve(o.stateDir ?? join(configFile, '..'));
    const log = logFor(o.logLevel);
    let runtime;
    try {
      runtime = await startRuntime({ roles: BUILT_IN_ROLES, stateDir, configFile, log, fixedLogLevel: o.logLevel !== undefined });
    } catch (e) {
      throw new CliError((e as Error).message, 2);
    }
    await notifySystemd('READY=1');
    const watchdog = startWatchdog();
    let stopping = false;
    const stop = async (sig: string) => {
      if (stopping) return;
      stopping = true;
      log.info(`${sig}: stopping`);
      clearInterval(watchdog);
      await runtime.stop();
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
  });

const hub = program
  .command('hub')
  .description('run the embedded MQTT broker on its own (TCP + WebSocket + web console), or manage its logins')
  .option('--host <addr>', 'listen address', '0.0.0.0')
  .option('--port <n>', 'MQTT TCP port', (v) => parsePort(v, '--port'), 1883)
  .option(
    '--ws-port <n>',
    'HTTP port for MQTT over WebSocket (/mqtt) and the console; 0 turns it off',
    (v) => parsePort(v, '--ws-port', true),
    8080,
  )
  .option('--credentials <file>', 'credentials + ACL file', '/var/lib/hearth/credentials.json')
  .option('--allow-anonymous', 'let clients without a login in with full rights (local development only)', false)
  .option('--tls-dir <dir>', 'also listen with TLS (mqtts), with hub.pem and hub.key from this folder ("hearth hub init-tls" makes them)')
  .option('--tls-port <n>', 'mqtts port', (v) => parsePort(v, '--tls-port'), 8883)
  .option(
    '--max-packet-bytes <n>',
    'largest MQTT packet accepted (a bigger one closes the connection)',
    (v) => parsePositive(v, '--max-packet-bytes'),
    256 * 1024,
  )
  .option('--ntp-port <n>', 'UDP port serving house time (NTP; default 123, or 10123 without the right to bind it); 0 turns it off', (v) =>
    parsePort(v, '--ntp-port', true),
  )
  .action(
    async (o: {
      host: string;
      port: number;
      wsPort: number;
      credentials: string;
      allowAnonymous: boolean;
      tlsDir?: string;
      tlsPort: number;
      maxPacketBytes: number;
      ntpPort?: number;
    }) => {
      const { startBroker } = await import('../hub/broker.ts');
      const { tlsFiles } = await import('../hub/tls.ts');
      const log = logFor();
      const tls = o.tlsDir
        ? { port: o.tlsPort, certFile: tlsFiles(resolve(o.tlsDir)).cert, keyFile: tlsFiles(resolve(o.tlsDir)).key }
        : undefined;
      const b = await startBroker({
        host: o.host,
        port: o.port,
        wsPort: o.wsPort === 0 ? null : o.wsPort,
        credentialsFile: resolve(o.credentials),
        allowAnonymous: o.allowAnonymous,
        log,
        tls,
        limits: { maxPacketBytes: o.maxPacketBytes },
      });
      let ntp: import('../clock/serve.ts').Served | undefined;
      if (o.ntpPort !== 0) {
        const { serveHouseTime } = await import('../clock/serve.ts');
        const { openUdp } = await import('../hal/open.ts');
        const { RealClock } = await import('../core/clock.ts');
        const clock = new RealClock();
        ntp = await serveHouseTime({
          stack: await openUdp({}, { clock, log, hal: {} }),
          clock,
          host: o.host,
          port: o.ntpPort,
          // Its timescale is kept beside the credentials file, across restarts within one boot.
          persist: { file: join(dirname(resolve(o.credentials)), 'ntp-anchor.json') },
        });
        log.info(
          `house time: ${ntp.where}${ntp.server ? `; timescale ${ntp.server.anchoredFrom === 'saved' ? 'continued' : 'anchored on the OS clock'} (${ntp.server.anchorNote})` : ''}`,
        );
      }
      await notifySystemd('READY=1');
      const stop = async () => {
        await b.close();
        await ntp?.server?.stop();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());
    },
  );

hub
  .command('add-device <id>')
  .description('create (or replace) a login and print its new password once')
  .option('--credentials <file>', 'credentials file', '/var/lib/hearth/credentials.json')
  .option('--controller', 'controller rights (all topics) instead of device rights', false)
  .action(async (id: string, o: { credentials: string; controller: boolean }, cmd: Command) => {
    const { addLogin } = await import('../hub/credentials.ts');
    const file = credentialsOption(cmd);
    const password = await addLogin(file, id, o.controller ? 'controller' : 'device');
    console.log(`login ${id} (${o.controller ? 'controller' : 'device'} rights) added to ${file}`);
    console.log(`password: ${password}`);
    console.log("This password is shown once; put it in the device's config (mqtt.password) or provisioning file.");
  });

hub
  .command('init-tls')
  .description('create the house CA (once) and a TLS certificate for this hub, for "hearth hub --tls-dir" and devices\' mqtt.tls')
  .option('--dir <dir>', 'where ca.pem, ca.key, hub.pem, hub.key go', '/var/lib/hearth/tls')
  .option('--name <host...>', 'host names devices use to reach the hub (e.g. hub.local)', [])
  .option('--ip <addr...>', 'addresses devices use to reach the hub', [])
  .action(async (o: { dir: string; name: string[]; ip: string[] }) => {
    const { initTls } = await import('../hub/tls.ts');
    let r;
    try {
      r = await initTls(resolve(o.dir), o.name, o.ip);
    } catch (e) {
      throw new CliError(`init-tls: ${(e as Error).message}`);
    }
    console.log(r.createdCa ? `created the house CA: ${r.caCert} (its key ${r.caKey} stays on this box)` : `kept the house CA ${r.caCert}`);
    console.log(`hub certificate ${r.cert} for ${[...o.name, ...o.ip].join(', ')}, SHA-256 ${r.fingerprint256}`);
    console.log(
      `Run the hub with --tls-dir ${o.dir} (or the hub role's tls.certFile/keyFile), and give devices the CA: mqtt.url "mqtts://<hub>:8883", mqtt.tls.ca (the text of ca.pem) or mqtt.tls.caFile.`,
    );
  });

hub
  .command('remove-device <id>')
  .description('remove a login (a running hub drops its connections within a second)')
  .option('--credentials <file>', 'credentials file', '/var/lib/hearth/credentials.json')
  .action(async (id: string, _o: { credentials: string }, cmd: Command) => {
    const { removeLogin } = await import('../hub/credentials.ts');
    const file = credentialsOption(cmd);
    if (!(await removeLogin(file, id))) throw new CliError(`there is no login ${id} in ${file}`);
    console.log(`login ${id} removed`);
  });

addBrokerOptions(
  program
    .command('provision <device>')
    .description('send a config to a device, wait for its reply, print the applied revision or every validation error')
    .requiredOption('--config <file>', 'config file (a whole config; with --patch, a JSON merge patch)')
    .option('--patch', 'send the file as a merge patch over the applied config', false)
    .option(
      '--timeout <s>',
      'seconds to wait for the reply (default 60: a config/set stops and starts every changed role)',
      (v) => parsePositive(v, '--timeout'),
      60,
    ),
).action(async (device: string, o: BrokerOpts & { config: string; patch: boolean; timeout: number }) => {
  const body = readJsonFile(o.config);
  if (!o.patch) {
    // Check locally first, so a typo is reported without a round trip (the device checks again).
    try {
      normalizeConfig(body);
    } catch (e) {
      if (e instanceof ProtocolError)
        throw new CliError(
          `${o.config} is not a valid config:\n${(e.details ?? []).map((d) => `  ${d.path || '/'}: ${d.message}`).join('\n')}`,
        );
      throw e;
    }
  }
  const t = topicsFor(o.base);
  const client = await connectBroker(o, 'hearth-provision');
  try {
    const r = await request(client, t.configSet(device), t.reply(device), o.patch ? { patch: body } : { config: body }, o.timeout * 1000);
    if (!r.ok) throw new CliError(formatReplyError(r));
    const res = r.result as { revision: number; unchanged?: boolean };
    console.log(
      res.unchanged ? `unchanged: ${device} already runs revision ${res.revision}` : `applied revision ${res.revision} on ${device}`,
    );
  } finally {
    await client.endAsync();
  }
});

addBrokerOptions(
  program
    .command('cmd <device> <role> <action> [json]')
    .description('send any command to a device and print its reply (e.g. hearth cmd shack tuner tune \'{"mode":"full"}\')')
    .option(
      '--timeout <s>',
      "seconds to wait for the reply (default: as long as the command can take, e.g. a full tune with the device's keyMaxMs, plus 10 s)",
      (v) => parsePositive(v, '--timeout'),
    ),
).action(async (device: string, role: string, action: string, json: string | undefined, o: BrokerOpts & { timeout?: number }) => {
  let args: Record<string, unknown> = {};
  if (json !== undefined) {
    try {
      args = parseStrictJson(json, { what: 'the arguments' }) as Record<string, unknown>;
    } catch (e) {
      throw new CliError(describeJsonError(e));
    }
    if (!args || typeof args !== 'object' || Array.isArray(args)) throw new CliError('the arguments must be a JSON object');
  }
  const t = topicsFor(o.base);
  let topic: string;
  try {
    topic = t.cmd(device, role, action);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const client = await connectBroker(o, 'hearth-cmd');
  try {
    const timeoutMs = o.timeout !== undefined ? o.timeout * 1000 : await commandTimeoutMs(client, t.config(device), role, action);
    const r = await request(client, topic, t.reply(device), args, timeoutMs);
    if (!r.ok) throw new CliError(formatReplyError(r));
    console.log(r.result === undefined ? 'ok' : JSON.stringify(r.result, null, 2));
  } finally {
    await client.endAsync();
  }
});

program
  .command('check-config <file>')
  .description("validate a config file or a card's hearth.json offline and print every error with its JSON path")
  .action((file: string) => {
    const body = readJsonFile(file);
    const stored = body && typeof body === 'object' && 'config' in body && 'revision' in body;
    // A provisioning file (hearth.json for a card): every error of it at once, the config's included.
    if (body && typeof body === 'object' && 'config' in body && !stored) {
      try {
        const p = parseProvisioning(body);
        console.log(
          `${file}: valid ${PROVISIONING_FILE} for device ${p.config.id} (roles: ${Object.keys(p.config.roles).join(', ') || 'none'}${p.wifi ? `, Wi-Fi "${p.wifi.ssid}"` : ''}${p.ssh ? `, ${p.ssh.authorizedKeys.length} SSH key(s)` : ''})`,
        );
        return;
      } catch (e) {
        if (e instanceof ProtocolError)
          throw new CliError(
            `${file} is not a valid ${PROVISIONING_FILE}:\n${(e.details ?? [{ path: '', message: e.message }]).map((d) => `  ${d.path || '/'}: ${d.message}`).join('\n')}`,
          );
        throw e;
      }
    }
    try {
      const c = normalizeConfig(stored ? (body as { config: unknown }).config : body);
      console.log(`${file}: valid config for device ${c.id} (roles: ${Object.keys(c.roles).join(', ') || 'none'})`);
    } catch (e) {
      if (e instanceof ProtocolError)
        throw new CliError(
          `${file} is not valid:\n${(e.details ?? [{ path: '', message: e.message }]).map((d) => `  ${d.path || '/'}: ${d.message}`).join('\n')}`,
        );
      throw e;
    }
  });

registerHouseCommand(program);
registerExtraCommands(program, { log: logFor() });

/**
 * The credentials file of `hub add-device` / `hub remove-device`. Both they and `hub` take
 * --credentials, and commander hands an option written after the subcommand to the parent, so
 * the one a person wrote wins wherever it stands (the subcommand's default never overrides it).
 */
function credentialsOption(cmd: Command): string {
  for (const c of [cmd, cmd.parent])
    if (c && c.getOptionValueSource('credentials') === 'cli') return resolve(c.opts().credentials as string);
  return resolve(cmd.opts().credentials as string);
}

/** Reads a JSON file strictly (protocol/json.ts: no BOM, UTF-8, no repeated keys, bounded nesting). */
function readJsonFile(file: string): unknown {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return parseStrictJson(bytes, { what: file });
  } catch (e) {
    throw new CliError(describeJsonError(e));
  }
}
function describeJsonError(e: unknown): string {
  if (!(e instanceof ProtocolError)) return (e as Error).message;
  const d = e.details?.[0];
  return d?.path ? `${e.message}\n  ${d.path}: ${d.message}` : e.message;
}

function parsePort(v: string, name: string, allowZero = false): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1) || n > 65535)
    throw new CliError(`${name} must be a port number${allowZero ? ' (0 = off)' : ''}, got "${v}"`);
  return n;
}
function parsePositive(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`${name} must be a positive number, got "${v}"`);
  return n;
}

/** sd_notify without a native module: a datagram to $NOTIFY_SOCKET (only when systemd gave one). */
async function notifySystemd(state: string): Promise<void> {
  const path = process.env.NOTIFY_SOCKET;
  if (!path) return;
  const { execFile } = await import('node:child_process');
  await new Promise<void>((r) => execFile('systemd-notify', [state], () => r()));
}
function startWatchdog(): NodeJS.Timeout | undefined {
  const usec = Number(process.env.WATCHDOG_USEC);
  if (!process.env.NOTIFY_SOCKET || !usec) return undefined;
  return setInterval(() => void notifySystemd('WATCHDOG=1'), Math.max(1000, usec / 2000));
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CliError) {
    console.error(e.message);
    process.exit(e.exitCode);
  }
  console.error(e);
  process.exit(1);
}
