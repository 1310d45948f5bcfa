// The hub (`hearth hub`, the real CLI) inside a network namespace, on the namespace's loopback,
// plus a Unix-socket bridge (unix-bridge.ts) so the test process outside the namespace reaches it
// too: devices in the namespace use `deviceUrl`, the test's controller uses `controllerUrl`
// (mqtt+unix://, which mqtt.js speaks).
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Netns } from './netns.ts';

export const CLI = fileURLToPath(new URL('../../device/cli/main.ts', import.meta.url));
const BRIDGE = fileURLToPath(new URL('./unix-bridge.ts', import.meta.url));

export interface NsHub {
  /** For devices inside the namespace. */
  deviceUrl: string;
  /** For clients outside the namespace (the test process). */
  controllerUrl: string;
  /** The hub's and the bridge's output so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

/** Stops a child: SIGTERM, then SIGKILL after `graceMs`. */
export function stopChild(p: ChildProcess, graceMs = 3000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), graceMs);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill('SIGTERM');
  });
}

/** Starts the hub on 127.0.0.1:`port` inside `ns`, anonymous, its files in `dir`. */
export async function startNsHub(ns: Netns, dir: string, port = 1883): Promise<NsHub> {
  let out = '';
  const keep = (p: ChildProcess, tag: string) => {
    p.stdout?.on('data', (d) => {
      out = (out + `[${tag}] ${d}`).slice(-20_000);
    });
    p.stderr?.on('data', (d) => {
      out = (out + `[${tag}] ${d}`).slice(-20_000);
    });
  };
  const hub = ns.spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      CLI,
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
    ],
    { env: { ...process.env, HEARTH_LOG_LEVEL: process.env.HEARTH_TEST_LOG || 'warn' } },
  );
  keep(hub, 'hub');
  const socket = join(dir, 'mqtt.sock');
  const bridge = ns.node(BRIDGE, [socket, String(port)]);
  keep(bridge, 'bridge');
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      if (String(d).includes('ready')) {
        bridge.stdout!.off('data', onData);
        resolve();
      }
    };
    bridge.stdout!.on('data', onData);
    bridge.once('exit', (code) => reject(new Error(`the bridge exited (${code}) before the hub was reachable:\n${out}`)));
    hub.once('exit', (code) => reject(new Error(`hearth hub exited (${code}):\n${out}`)));
  });
  return {
    deviceUrl: `mqtt://127.0.0.1:${port}`,
    controllerUrl: `mqtt+unix://${socket}`,
    output: () => out,
    async stop() {
      await Promise.all([stopChild(bridge), stopChild(hub)]);
    },
  };
}
