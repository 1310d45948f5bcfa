// The two brokers as separate processes, so their CPU and memory can be read from /proc: the
// project's own hub (`hearth hub`, embedded Aedes, from the bench bundle) and a real Mosquitto.
// Both listen on 127.0.0.1 only, anonymous, and can be restarted on the same port.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnChild, waitForPort, tempDir, removeDir, cpuSeconds, type Child } from './procs.ts';

export type BrokerKind = 'aedes' | 'mosquitto';

export interface BrokerProc {
  kind: BrokerKind;
  port: number;
  url: string;
  /** Pid of the running broker process. */
  pid(): number;
  /** Its CPU seconds so far (utime + stime). */
  cpuS(): number;
  /** Starts the process (resolves once the port accepts connections). */
  start(): Promise<void>;
  /** SIGTERM (a clean broker shutdown); resolves when the process is gone. */
  stop(): Promise<void>;
  /** Stops and removes its files; the object is unusable after. */
  dispose(): Promise<void>;
}

/** The hub: `node <cli> hub --host 127.0.0.1 --port P --ws-port 0 --allow-anonymous`. */
export function hubBroker(cli: string, port: number): BrokerProc {
  const dir = tempDir('hearth-bench-hub-');
  const args = [
    cli,
    'hub',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--ws-port',
    '0',
    '--allow-anonymous',
    '--credentials',
    join(dir, 'credentials.json'),
  ];
  return processBroker(
    'aedes',
    port,
    () => spawnChild(process.execPath, args, { env: { ...process.env, HEARTH_LOG_LEVEL: 'error' } }),
    () => removeDir(dir),
  );
}

/**
 * A real Mosquitto with a config file of its own. TCP_NODELAY on, as a broker carrying
 * request/reply traffic should run (Mosquitto's default is off, which adds Nagle delays).
 */
export function mosquittoBroker(port: number): BrokerProc {
  const dir = tempDir('hearth-bench-mosq-');
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'set_tcp_nodelay true',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      '',
    ].join('\n'),
  );
  return processBroker(
    'mosquitto',
    port,
    () => spawnChild('mosquitto', ['-c', conf]),
    () => removeDir(dir),
  );
}

function processBroker(kind: BrokerKind, port: number, launch: () => Child, removeFiles: () => void): BrokerProc {
  let child: Child | undefined;
  const running = () => {
    if (!child || child.exited()) throw new Error(`${kind} is not running${child ? `: ${child.stderr().slice(-500)}` : ''}`);
    return child;
  };
  return {
    kind,
    port,
    url: `mqtt://127.0.0.1:${port}`,
    pid: () => running().pid,
    cpuS: () => cpuSeconds(running().pid),
    async start() {
      if (child && !child.exited()) throw new Error(`${kind} is already running`);
      const c = launch();
      child = c;
      try {
        await waitForPort(port, 15_000, 5, () => !c.exited());
      } catch (e) {
        await c.stop(500);
        throw new Error(`${kind} did not start on port ${port}: ${(e as Error).message} ${c.stderr().slice(-500)}`);
      }
    },
    async stop() {
      await child?.stop();
    },
    async dispose() {
      await child?.stop();
      removeFiles();
    },
  };
}
