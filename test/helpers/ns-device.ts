// A device inside a network namespace, as a user runs it: `hearth run --config <file>` (the real
// CLI) with a config that names only its id and broker, so every role arrives over MQTT later.
// With `mirror`, the process is mirror-device.ts instead (the same runtime with its player's
// simulated DAC mirrored into an ALSA device, for checking what it played).
import { fileURLToPath } from 'node:url';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Netns } from './netns.ts';
import { CLI, stopChild } from './ns-hub.ts';
import { tree } from './proc-stats.ts';

const MIRROR = fileURLToPath(new URL('./mirror-device.ts', import.meta.url));

export interface NsDeviceOptions {
  id: string;
  brokerUrl: string;
  /** A folder of its own is made in here (config + state). */
  dir: string;
  mirror?: { alsaDevice: string; env: Record<string, string>; ppm?: number };
}

export interface NsDevice {
  readonly id: string;
  readonly proc: ChildProcess;
  /** Its log (stdout + stderr) so far. */
  output(): string;
  /** The process and its children (e.g. the speaker sink's child). */
  pids(): number[];
  stop(): Promise<void>;
}

/** The broker settings a device starts with; provision with the same ones (a change makes it reconnect). */
export function deviceMqtt(brokerUrl: string) {
  return { url: brokerUrl, reconnectMinMs: 100, reconnectMaxMs: 1000 };
}

export function startNsDevice(ns: Netns, o: NsDeviceOptions): NsDevice {
  const stateDir = join(o.dir, o.id);
  mkdirSync(stateDir, { recursive: true });
  const config = join(stateDir, 'config.json');
  writeFileSync(config, JSON.stringify({ v: 2, id: o.id, mqtt: deviceMqtt(o.brokerUrl), roles: {} }));
  const argv = o.mirror
    ? ['--import', 'tsx', MIRROR, config, o.mirror.alsaDevice, String(o.mirror.ppm ?? 0)]
    : ['--import', 'tsx', CLI, 'run', '--config', config];
  const proc = ns.spawn(process.execPath, argv, {
    env: { ...process.env, HEARTH_LOG_LEVEL: process.env.HEARTH_TEST_LOG || 'warn', ...(o.mirror?.env ?? {}) },
  });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d).slice(-30_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  return {
    id: o.id,
    proc,
    output: () => out,
    pids: () => (proc.pid ? tree(proc.pid) : []),
    stop: () => stopChild(proc),
  };
}
