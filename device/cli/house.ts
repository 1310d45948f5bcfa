// `hearth house` (what `npm start` runs): a whole house in one process, for trying hearth on a
// machine with no Pi. A hub device runs the embedded broker with real logins and the console; a
// source sends a synthesised music loop and a tone; three rooms play it on simulated DACs whose
// clocks differ; a waker watches a simulated LAN with a sleeping NAS; a tuner drives a scripted
// AT-7000. Home Assistant discovery is on. It prints where to look and how to log in, prints the
// rooms' true sync (measured at their DACs) every 30 s, and runs until Ctrl-C.
//
// Its ports must be free: a broker or console already listening there is reported and the house
// exits with code 2 instead of running without them.
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { createLogger } from '../core/log.ts';
import { houseDevices, DEMO_STREAM_RATE } from './house-devices.ts';
import { NTP_FALLBACK_PORT } from '../../protocol/clock.ts';
import { CliError } from '../tools/broker-options.ts';
import { demoMusicWav } from '../house/music.ts';
import { roomOffsets } from '../house/sync-meter.ts';
import { BUILT_IN_ROLES } from './roles.ts';

/** Resolves when `port` on `host` can be listened on; rejects with a readable reason otherwise. */
export function checkPortFree(host: string, port: number, what: string): Promise<void> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => {
      reject(new CliError(e.code === 'EADDRINUSE'
        ? `the ${what} port ${host}:${port} is taken (another broker or house running?); stop it or pick another with --${what === 'MQTT' ? 'port' : 'ws-port'}`
        : `cannot listen on ${host}:${port} for the ${what}: ${e.message}`, 2));
    });
    s.listen(port, host, () => s.close(() => resolvePort()));
  });
}

export function registerHouseCommand(program: Command): void {
  program
    .command('house')
    .description('run a demo house in one process: a hub (broker + console), a source, three rooms, a waker and a tuner on simulated hardware')
    .option('--state-dir <dir>', 'where the house keeps configs and logins', '.house')
    .option('--port <n>', 'MQTT port', '1883')
    .option('--ws-port <n>', 'console + MQTT-over-WebSocket port', '8080')
    .option('--host <addr>', 'listen address of the broker and console', '127.0.0.1')
    .option('--log-level <level>', 'log level of the devices (debug, info, warn, error)', 'warn')
    .action(async (o: { stateDir: string; port: string; wsPort: string; host: string; logLevel: string }) => {
      const { startRuntime } = await import('../core/runtime.ts');
      const { addLogin, readCredentials } = await import('../hub/credentials.ts');
      const port = Number(o.port), wsPort = Number(o.wsPort);
      await checkPortFree(o.host, port, 'MQTT');
      await checkPortFree(o.host, wsPort, 'console');
      const dir = resolve(o.stateDir);
      mkdirSync(dir, { recursive: true });
      const credentialsFile = join(dir, 'credentials.json');
      const passwordsFile = join(dir, 'passwords.json');
      const musicFile = join(dir, 'demo-music.wav');
      if (!existsSync(musicFile)) writeFileSync(musicFile, demoMusicWav());
      const local = o.host === '0.0.0.0' ? '127.0.0.1' : o.host;
      const url = `mqtt://${local}:${port}`;

      // Logins are made once and kept (passwords in a 0600 file beside them, for this demo only).
      const passwords: Record<string, string> = existsSync(passwordsFile) ? JSON.parse(readFileSync(passwordsFile, 'utf8')) : {};
      const creds = await readCredentials(credentialsFile);
      const { devices, sim } = houseDevices({ url, host: o.host, port, wsPort, credentialsFile, available: Object.keys(BUILT_IN_ROLES.loaders), musicFile });
      for (const user of ['admin', ...devices.map((d) => d.id)]) {
        if (!creds.logins[user] || !passwords[user]) passwords[user] = await addLogin(credentialsFile, user, user === 'admin' ? 'controller' : 'device', devices.find((d) => d.id === user)?.grants);
      }
      writeFileSync(passwordsFile, JSON.stringify(passwords, null, 2), { mode: 0o600 });

      const runtimes: Array<{ stop(): Promise<void> }> = [];
      for (const d of devices) {
        const stateDir = join(dir, d.id);
        mkdirSync(stateDir, { recursive: true });
        const config = {
          v: 2, id: d.id, name: d.name, mqtt: { url, password: passwords[d.id] }, clock: { port: NTP_FALLBACK_PORT }, telemetry: { intervalS: 5 },
          homeassistant: { enabled: true }, roles: d.roles,
        };
        const configFile = join(stateDir, 'config.json');
        if (!existsSync(configFile)) writeFileSync(configFile, JSON.stringify(config, null, 2));
        // One logger tree per device: a config/set of log.level changes that device only.
        const log = createLogger({ level: o.logLevel as 'warn' });
        runtimes.push(await startRuntime({ roles: BUILT_IN_ROLES, stateDir, configFile, log, hal: d.hal?.() }));
      }

      const bar = '─'.repeat(72);
      const login = `--broker ${url} --user admin --password ${passwords.admin}`;
      console.log(`\n${bar}\n hearth house is running: ${devices.map((d) => `${d.id} [${Object.keys(d.roles).join(', ')}]`).join('; ')}\n${bar}`);
      console.log(` console    http://${local}:${wsPort}/   user admin, password ${passwords.admin}`);
      console.log(` broker     ${url}   (MQTT 3.1.1, logins required; Home Assistant discovery on)`);
      console.log(` monitor    npx hearth monitor ${login}`);
      for (const d of devices) for (const hint of d.hints ?? []) console.log(` try        npx hearth ${hint} ${login}`);
      console.log(` state      ${dir}  (configs, logins; passwords in passwords.json)`);
      console.log(` audio      every stream and wake packet stays on this machine (loopback, simulated LAN)\n${bar}\n Ctrl-C stops the house.\n`);

      // The rooms' true sync, from the DACs' own records (outside the players).
      const meter = setInterval(() => {
        const offsets = roomOffsets([...sim.dacs].map(([room, dac]) => ({ room, records: dac.records })), DEMO_STREAM_RATE);
        if (offsets.length < 2) return;
        const spread = Math.max(...offsets.map((x) => x.offsetUs)) - Math.min(...offsets.map((x) => x.offsetUs));
        console.log(`rooms measured at their DACs: ${offsets.map((x) => `${x.room} ${x.offsetUs >= 0 ? '+' : ''}${x.offsetUs} µs`).join(', ')} (spread ${spread} µs)`);
      }, 30_000);

      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        clearInterval(meter);
        for (const r of runtimes.reverse()) await r.stop();
        sim.stop();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());
    });
}
