// `hearth house` (what `npm start` runs): a whole house in one process, for trying hearth on a
// machine with no Pi. A hub device runs the embedded broker with real logins; more devices run
// the other roles on simulated hardware (sim GPIO + scripted tuner, sim DAC through ALSA's
// file device, ...). It prints where to look and how to log in, and runs until Ctrl-C.
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { createLogger } from '../core/log.ts';
import { ROLE_LOADERS } from '../core/registry.ts';
import { houseDevices } from './house-devices.ts';
import { NTP_FALLBACK_PORT } from '../../protocol/clock.ts';

export function registerHouseCommand(program: Command): void {
  program
    .command('house')
    .description('run a demo house in one process: a hub (broker + console) and devices on simulated hardware')
    .option('--state-dir <dir>', 'where the house keeps configs and logins', '.house')
    .option('--port <n>', 'MQTT port', '1883')
    .option('--ws-port <n>', 'console + MQTT-over-WebSocket port', '8080')
    .option('--host <addr>', 'listen address of the broker', '127.0.0.1')
    .action(async (o: { stateDir: string; port: string; wsPort: string; host: string }) => {
      const { startRuntime } = await import('../core/runtime.ts');
      const { addLogin, readCredentials } = await import('../hub/credentials.ts');
      const dir = resolve(o.stateDir);
      mkdirSync(dir, { recursive: true });
      const credentialsFile = join(dir, 'credentials.json');
      const passwordsFile = join(dir, 'passwords.json');
      const url = `mqtt://${o.host === '0.0.0.0' ? '127.0.0.1' : o.host}:${o.port}`;
      const log = createLogger();

      // Logins are made once and kept (passwords in a 0600 file beside them, for this demo only).
      const passwords: Record<string, string> = existsSync(passwordsFile) ? JSON.parse(readFileSync(passwordsFile, 'utf8')) : {};
      const creds = await readCredentials(credentialsFile);
      const devices = houseDevices({ url, host: o.host, port: Number(o.port), wsPort: Number(o.wsPort), credentialsFile, available: Object.keys(ROLE_LOADERS) });
      for (const user of ['admin', ...devices.map((d) => d.id)]) {
        if (!creds.logins[user] || !passwords[user]) passwords[user] = await addLogin(credentialsFile, user, user === 'admin' ? 'controller' : 'device', devices.find((d) => d.id === user)?.grants);
      }
      writeFileSync(passwordsFile, JSON.stringify(passwords, null, 2), { mode: 0o600 });

      const runtimes: Array<{ stop(): Promise<void> }> = [];
      for (const d of devices) {
        const stateDir = join(dir, d.id);
        mkdirSync(stateDir, { recursive: true });
        const config = { v: 2, id: d.id, name: d.name, mqtt: { url, password: passwords[d.id] }, clock: { port: NTP_FALLBACK_PORT }, telemetry: { intervalS: 10 }, roles: d.roles };
        const configFile = join(stateDir, 'config.json');
        if (!existsSync(configFile)) writeFileSync(configFile, JSON.stringify(config, null, 2));
        runtimes.push(await startRuntime({ stateDir, configFile, log, hal: d.hal?.() }));
      }

      const bar = '─'.repeat(72);
      console.log(`\n${bar}\n hearth house is running (${devices.length} devices: ${devices.map((d) => `${d.id} [${Object.keys(d.roles).join(', ')}]`).join('; ')})\n${bar}`);
      console.log(` broker     ${url}   (MQTT 3.1.1, logins required)`);
      console.log(` console    http://${o.host === '0.0.0.0' ? 'localhost' : o.host}:${o.wsPort}/   user admin, password ${passwords.admin}`);
      console.log(` monitor    npx hearth monitor --broker ${url} --user admin --password ${passwords.admin}`);
      console.log(` a command  npx hearth cmd ${devices[0]!.id} device ping --broker ${url} --user admin --password ${passwords.admin}`);
      for (const d of devices) for (const hint of d.hints ?? []) console.log(` try        npx hearth ${hint} --broker ${url} --user admin --password ${passwords.admin}`);
      console.log(` state      ${dir}  (configs, logins; passwords in passwords.json)\n${bar}\n Ctrl-C stops the house.\n`);

      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        for (const r of runtimes.reverse()) await r.stop();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());
    });
}
