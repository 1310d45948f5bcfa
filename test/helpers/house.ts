// The demo house (`hearth house`) in a network namespace of its own (its multicast stays there),
// with a browser that runs in the same namespace: Debian's chromium started through
// `ip netns exec` by a wrapper script Playwright launches (it talks to it over a pipe).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetns, type Netns } from './netns.ts';
import { addLogin } from '../../device/hub/credentials.ts';

const root = new URL('../../', import.meta.url).pathname;

export interface RunningHouse {
  ns: Netns;
  dir: string;
  admin: string;
  url: string;
  consoleUrl: string;
  /** A wrapper that starts chromium inside the namespace (give it to Playwright as executablePath). */
  chromium: string;
  output(): string;
  /** Runs `hearth …` (from the source tree) inside the namespace and returns its stdout. */
  hearth(args: string[], timeoutMs?: number): string;
  /** The latest retained message on a topic, read with mosquitto_sub inside the namespace. */
  retained(topic: string): unknown;
  /** Publishes as the admin (a controller, like Home Assistant's login) inside the namespace. */
  publish(topic: string, payload: string): void;
  /** Starts another device process (`hearth run`) inside the namespace with its own login. */
  extraDevice(id: string, roles?: Record<string, unknown>): Promise<ChildProcess>;
  stop(): Promise<void>;
}

export async function startHouse(
  opts: { port?: number; wsPort?: number; /** More `hearth house` options. */ args?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<RunningHouse> {
  const ns = createNetns('hhouse');
  const dir = mkdtempSync(join(tmpdir(), 'hearth-house-'));
  const port = opts.port ?? 1883,
    wsPort = opts.wsPort ?? 8080;
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns.name,
      process.execPath,
      '--import',
      'tsx',
      'device/cli/main.ts',
      'house',
      '--state-dir',
      dir,
      '--port',
      String(port),
      '--ws-port',
      String(wsPort),
      ...(opts.args ?? []),
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}) },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const t0 = Date.now();
  while (!out.includes('hearth house is running')) {
    if (child.exitCode !== null || Date.now() - t0 > 60_000) {
      ns.delete();
      throw new Error(`the house did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const admin = JSON.parse(readFileSync(join(dir, 'passwords.json'), 'utf8')).admin as string;
  const chromium = join(dir, 'chromium-in-ns.sh');
  writeFileSync(chromium, `#!/bin/sh\nexec ip netns exec ${ns.name} /usr/bin/chromium "$@"\n`);
  chmodSync(chromium, 0o755);
  const url = `mqtt://127.0.0.1:${port}`;
  const extras: ChildProcess[] = [];
  const hearth = (args: string[], timeoutMs = 30_000) =>
    execFileSync('ip', ['netns', 'exec', ns.name, process.execPath, '--import', 'tsx', 'device/cli/main.ts', ...args], {
      cwd: root,
      encoding: 'utf8',
      timeout: timeoutMs,
    });
  return {
    ns,
    dir,
    admin,
    url,
    consoleUrl: `http://127.0.0.1:${wsPort}/`,
    chromium,
    output: () => out,
    hearth,
    retained(topic) {
      const text = execFileSync(
        'ip',
        [
          'netns',
          'exec',
          ns.name,
          'mosquitto_sub',
          '-h',
          '127.0.0.1',
          '-p',
          String(port),
          '-u',
          'admin',
          '-P',
          admin,
          '-t',
          topic,
          '-C',
          '1',
          '-W',
          '3',
        ],
        { encoding: 'utf8' },
      );
      return JSON.parse(text);
    },
    publish(topic, payload) {
      execFileSync('ip', [
        'netns',
        'exec',
        ns.name,
        'mosquitto_pub',
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-u',
        'admin',
        '-P',
        admin,
        '-t',
        topic,
        '-m',
        payload,
        '-q',
        '1',
      ]);
    },
    async extraDevice(id, roles = {}) {
      // The login goes straight into the house's credentials file (the hub re-reads it).
      const password = await addLogin(join(dir, 'credentials.json'), id, 'device');
      const cfgDir = mkdtempSync(join(dir, `${id}-`));
      writeFileSync(
        join(cfgDir, 'config.json'),
        JSON.stringify({ v: 2, id, name: id, mqtt: { url, password, keepaliveS: 5 }, telemetry: { intervalS: 2 }, roles }),
      );
      const c = spawn(
        'ip',
        [
          'netns',
          'exec',
          ns.name,
          process.execPath,
          '--import',
          'tsx',
          'device/cli/main.ts',
          'run',
          '--config',
          join(cfgDir, 'config.json'),
          '--log-level',
          'error',
        ],
        { cwd: root, stdio: 'ignore' },
      );
      extras.push(c);
      return c;
    },
    async stop() {
      for (const c of extras) c.kill('SIGKILL');
      child.kill('SIGTERM');
      await new Promise((r) => {
        const t = setTimeout(r, 5000);
        child.once('close', () => {
          clearTimeout(t);
          r(undefined);
        });
      });
      ns.delete();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
