// Real brokers for tests: the embedded Aedes hub (the project's own broker code, anonymous on
// loopback unless a credentials file is given) and a real Mosquitto process. Both can be
// restarted on the same port, for reconnect tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, waitForPort } from '../../bench/lib/procs.ts';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../device/hub/broker.ts';
import { createLogger } from '../../device/core/log.ts';

export interface TestBroker {
  kind: 'aedes' | 'mosquitto';
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Stops the broker (optionally waits `downMs`) and starts it again on the same port. */
  restart(downMs?: number): Promise<void>;
}

// One implementation of the port helpers, shared with the benchmarks.
export { freePort } from '../../bench/lib/procs.ts';
const quiet = () => createLogger({ level: (process.env.HEARTH_TEST_LOG as 'debug') ?? 'error' });

export async function startAedes(
  opts: { credentialsFile?: string; allowAnonymous?: boolean; wsPort?: number | null } = {},
): Promise<TestBroker> {
  let broker: RunningBroker = await startBroker({
    host: '127.0.0.1',
    port: 0,
    log: quiet(),
    allowAnonymous: opts.allowAnonymous ?? !opts.credentialsFile,
    credentialsFile: opts.credentialsFile,
    wsPort: opts.wsPort,
  });
  const port = broker.port;
  const start = async () => {
    broker = await startBroker({
      host: '127.0.0.1',
      port,
      log: quiet(),
      allowAnonymous: opts.allowAnonymous ?? !opts.credentialsFile,
      credentialsFile: opts.credentialsFile,
      wsPort: opts.wsPort,
    });
  };
  return {
    kind: 'aedes',
    port,
    url: `mqtt://127.0.0.1:${port}`,
    stop: () => broker.close(),
    async restart(downMs = 0) {
      await broker.close();
      if (downMs) await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
  };
}

export interface MosquittoOptions {
  /** Extra lines for mosquitto.conf (e.g. password_file / acl_file); anonymous when not given. */
  extraConfig?: string[];
  allowAnonymous?: boolean;
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<TestBroker & { dir: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'hearth-mosq-'));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      `allow_anonymous ${(opts.allowAnonymous ?? !opts.extraConfig) ? 'true' : 'false'}`,
      ...(opts.extraConfig ?? []),
      '',
    ].join('\n'),
  );
  let proc: ChildProcess;
  let stderr = '';
  const start = async () => {
    proc = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr!.on('data', (d) => {
      stderr += d;
    });
    const died = new Promise<never>((_, reject) => proc.once('exit', (code) => reject(new Error(`mosquitto exited (${code}): ${stderr}`))));
    await Promise.race([waitForPort(port), died]);
    died.catch(() => {});
  };
  const stopProc = () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode) {
        resolve();
        return;
      }
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  await start();
  return {
    kind: 'mosquitto',
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    async stop() {
      await stopProc();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart(downMs = 0) {
      await stopProc();
      if (downMs) await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
  };
}

/** Both brokers, for suites that run against each. */
export const BROKERS: Array<{ kind: 'aedes' | 'mosquitto'; start: () => Promise<TestBroker> }> = [
  { kind: 'aedes', start: () => startAedes() },
  { kind: 'mosquitto', start: () => startMosquitto() },
];
