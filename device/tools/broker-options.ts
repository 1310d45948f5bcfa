// The options every controller command shares (how to reach the broker), and a connected client.
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { Option, type Command } from 'commander';

export interface BrokerOpts {
  broker: string;
  user?: string;
  password?: string;
  passwordFile?: string;
  base: string;
  ca?: string;
}

export function addBrokerOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--broker <url>', 'broker URL').env('HEARTH_BROKER').default('mqtt://localhost:1883'))
    .addOption(new Option('--user <name>', 'login').env('HEARTH_USER'))
    .addOption(new Option('--password <secret>', 'password (prefer HEARTH_PASSWORD or --password-file)').env('HEARTH_PASSWORD'))
    .option('--password-file <file>', 'read the password from a file')
    .addOption(
      new Option('--ca <file>', 'CA certificate (PEM) to trust for an mqtts:// broker, e.g. the house CA from "hearth hub init-tls"').env(
        'HEARTH_CA',
      ),
    )
    .option('--base <topic>', 'base topic', 'hearth');
}

export async function connectBroker(o: BrokerOpts, what = 'hearth-cli'): Promise<MqttClient> {
  const password = o.passwordFile ? readFileSync(o.passwordFile, 'utf8').trim() : o.password;
  try {
    const client = await mqtt.connectAsync(o.broker, {
      username: o.user,
      password,
      clientId: `${what}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      protocolVersion: 4,
      ...(o.ca ? { ca: readFileSync(o.ca), rejectUnauthorized: true } : {}),
    });
    (client.stream as unknown as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
    return client;
  } catch (e) {
    throw new CliError(`cannot connect to ${o.broker}: ${(e as Error).message}${explainRefusal((e as Error).message, o.user)}`);
  }
}

/** What a CONNACK refusal means for a controller command, in words (the broker says only "Identifier rejected"). */
export function explainRefusal(message: string, user: string | undefined): string {
  if (/identifier rejected/i.test(message)) {
    return (
      `\n  the login "${user ?? ''}" has device rights: a device login may only connect with its own id as client id, and only for that device's topics. ` +
      'Controller commands (provision, cmd, monitor) need a controller login: on the hub, "hearth hub add-device <name> --controller" creates one.'
    );
  }
  if (/bad username or password/i.test(message))
    return `\n  the broker does not know the login "${user ?? ''}" or its password (check --user and --password / HEARTH_PASSWORD / --password-file).`;
  if (/not authori[sz]ed/i.test(message))
    return '\n  the broker wants a login: give --user and a password (or HEARTH_USER / HEARTH_PASSWORD).';
  return '';
}

/** An error the CLI prints as one line (no stack) before exiting non-zero. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
