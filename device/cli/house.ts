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
import { houseDevices, DEMO_STREAM_RATE, ROOMS, type HouseSim, type LoudRoom } from './house-devices.ts';
import { PlayerOutput } from '../../protocol/roles/player.ts';
import { check } from '../../protocol/validate.ts';
import { NTP_FALLBACK_PORT } from '../../protocol/clock.ts';
import { CliError } from '../tools/broker-options.ts';
import { demoMusicWav } from '../house/music.ts';
import { syncOver } from '../house/sync-meter.ts';
import { BUILT_IN_ROLES } from './roles.ts';

/** Resolves when `port` on `host` can be listened on; rejects with a readable reason otherwise. */
export function checkPortFree(host: string, port: number, what: string): Promise<void> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => {
      reject(
        new CliError(
          e.code === 'EADDRINUSE'
            ? `the ${what} port ${host}:${port} is taken (another broker or house running?); stop it or pick another with --${what === 'MQTT' ? 'port' : 'ws-port'}`
            : `cannot listen on ${host}:${port} for the ${what}: ${e.message}`,
          2,
        ),
      );
    });
    s.listen(port, host, () => s.close(() => resolvePort()));
  });
}

/**
 * The rooms' sync as their simulated DACs played it over the last `windowS` seconds of true time
 * (what `hearth house` prints): each room's median offset from the first, and the median and worst
 * spread across rooms over instants 100 ms apart, and the DACs' underruns since the last call
 * (`counted` keeps the totals seen).
 */
export function syncLine(sim: HouseSim, windowS: number, counted: Map<string, number>): string {
  let dry = 0;
  for (const [room, dac] of sim.dacs) {
    dry += dac.underruns() - (counted.get(room) ?? 0);
    counted.set(room, dac.underruns());
  }
  const to = sim.trueClock.wall() - 50; // blocks are written ahead: the last 50 ms may not be yet
  const w = syncOver(
    [...sim.dacs].map(([room, dac]) => ({ room, records: dac.records })),
    DEMO_STREAM_RATE,
    to - windowS * 1000,
    to,
  );
  if (!w) return `rooms measured at their DACs: fewer than two rooms played stream audio in the last ${windowS} s`;
  const sign = (x: number) => `${x >= 0 ? '+' : ''}${x}`;
  // A DAC that ran dry (its FIFO empty when a block came: the one shared event loop stalled) plays
  // that block late until its player catches up: the worst moments, said from the DACs' records.
  return `rooms measured at their DACs (true time, last ${windowS} s): ${w.rooms.map((x) => `${x.room} ${sign(x.offsetUs)} µs`).join(', ')}; spread median ${w.medianSpreadUs} µs, worst ${w.maxSpreadUs} µs, over 1 ms ${w.overMsPct} % of the time; DAC underruns since the last line ${dry}`;
}

/** The room --output plays out loud, checked as the player's config would check it; none without --output. */
export function loudRoom(output: string | undefined, room: string): LoudRoom | undefined {
  if (!ROOMS.some((r) => r.id === room))
    throw new CliError(`--output-room must be one of ${ROOMS.map((r) => r.id).join(', ')}, not "${room}"`, 2);
  if (output === undefined) return undefined;
  const c = check(PlayerOutput, { kind: 'speaker', device: output });
  if (!c.ok)
    throw new CliError(
      `--output "${output}" is not an ALSA device name: ${c.errors.map((e) => `${e.path.replace('/device', '') || 'device'} ${e.message}`).join('; ')}`,
      2,
    );
  return { room, device: output };
}

/**
 * A house started before keeps its configs (changes made in the console stay), but each room's
 * output follows this start's flags: the room played out loud gets the speaker on its device, the
 * others (and that room, once started without --output) their simulated DAC with the demo's FIFO
 * (kind, device and bufferMs as the demo sets them; other output fields kept).
 */
export function keepRoomOutput(configFile: string, roles: Record<string, unknown>): void {
  const want = (roles.player as { output?: { kind: string; device?: string } } | undefined)?.output;
  if (!want) return;
  const raw = JSON.parse(readFileSync(configFile, 'utf8')) as {
    config?: { roles?: Record<string, unknown> };
    roles?: Record<string, unknown>;
  };
  const player = ((raw.config ?? raw).roles?.player ?? undefined) as { output?: Record<string, unknown> } | undefined;
  if (!player) return;
  const { device: _old, ...rest } = player.output ?? {};
  const next = { ...rest, ...want };
  if (JSON.stringify(next) === JSON.stringify(player.output ?? {})) return;
  player.output = next;
  writeFileSync(configFile, JSON.stringify(raw, null, 2));
}

export function registerHouseCommand(program: Command): void {
  program
    .command('house')
    .description(
      'run a demo house in one process: a hub (broker + console), a source, three rooms, a waker and a tuner on simulated hardware',
    )
    .option('--state-dir <dir>', 'where the house keeps configs and logins', '.house')
    .option('--port <n>', 'MQTT port', '1883')
    .option('--ws-port <n>', 'console + MQTT-over-WebSocket port', '8080')
    .option('--host <addr>', 'listen address of the broker and console', '127.0.0.1')
    .option('--log-level <level>', 'log level of the devices (debug, info, warn, error)', 'warn')
    .option('--sync-every <s>', "print the rooms' sync, measured at their DACs, this often (s)", '30')
    .option('--output <alsa-device>', 'play one room out loud on this ALSA device (e.g. default, hw:CARD=Headphones, plughw:1,0)')
    .option('--output-room <room>', `the room --output plays (${ROOMS.map((r) => r.id).join(', ')})`, ROOMS[0]!.id)
    .action(
      async (o: {
        stateDir: string;
        port: string;
        wsPort: string;
        host: string;
        logLevel: string;
        syncEvery: string;
        output?: string;
        outputRoom: string;
      }) => {
        const syncEveryS = Number(o.syncEvery);
        if (!Number.isFinite(syncEveryS) || syncEveryS < 1 || syncEveryS > 3600)
          throw new CliError(`--sync-every must be 1–3600 seconds, not "${o.syncEvery}"`, 2);
        const loud = loudRoom(o.output, o.outputRoom);
        const { startRuntime } = await import('../core/runtime.ts');
        const { RealUdpStack } = await import('../hal/udp.real.ts');
        const { addLogin, readCredentials } = await import('../hub/credentials.ts');
        const port = Number(o.port),
          wsPort = Number(o.wsPort);
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
        const { devices, sim } = houseDevices({
          url,
          host: o.host,
          port,
          wsPort,
          credentialsFile,
          available: Object.keys(BUILT_IN_ROLES.loaders),
          musicFile,
          ...(loud ? { loud } : {}),
        });
        for (const user of ['admin', ...devices.map((d) => d.id)]) {
          if (!creds.logins[user] || !passwords[user])
            passwords[user] = await addLogin(
              credentialsFile,
              user,
              user === 'admin' ? 'controller' : 'device',
              devices.find((d) => d.id === user)?.grants,
            );
        }
        writeFileSync(passwordsFile, JSON.stringify(passwords, null, 2), { mode: 0o600 });

        const runtimes: Array<{ stop(): Promise<void> }> = [];
        for (const d of devices) {
          const stateDir = join(dir, d.id);
          mkdirSync(stateDir, { recursive: true });
          const config = {
            v: 2,
            id: d.id,
            name: d.name,
            mqtt: { url, password: passwords[d.id] },
            clock: { port: NTP_FALLBACK_PORT },
            telemetry: { intervalS: 5 },
            homeassistant: { enabled: true },
            roles: d.roles,
          };
          const configFile = join(stateDir, 'config.json');
          if (!existsSync(configFile)) writeFileSync(configFile, JSON.stringify(config, null, 2));
          else keepRoomOutput(configFile, d.roles);
          // One logger tree per device: a config/set of log.level changes that device only.
          const log = createLogger({ level: o.logLevel as 'warn' });
          // The device runs on its own clocks (OS offset, crystal rate), and so does its UDP stack
          // (the real one, on the clock it is opened with: this device's, or its house clock, whose
          // now() is the same): NTP exchanges are timed on this device's monotonic clock, as on a Pi.
          // The UDP stack given here is what makes the runtime start a house clock over an injected
          // clock (device/clock/runtime-clock.ts); without it the roles would play on the device's
          // own offset OS clock and the rooms would be as far apart as their offsets.
          runtimes.push(
            await startRuntime({
              roles: BUILT_IN_ROLES,
              stateDir,
              configFile,
              log,
              clock: d.clock,
              hal: { udp: (_c, e) => new RealUdpStack(e.clock), ...d.hal?.() },
            }),
          );
        }

        const bar = '─'.repeat(72);
        const login = `--broker ${url} --user admin --password ${passwords.admin}`;
        console.log(
          `\n${bar}\n hearth house is running: ${devices.map((d) => `${d.id} [${Object.keys(d.roles).join(', ')}]`).join('; ')}\n${bar}`,
        );
        console.log(` console    http://${local}:${wsPort}/   user admin, password ${passwords.admin}`);
        console.log(` broker     ${url}   (MQTT 3.1.1, logins required; Home Assistant discovery on)`);
        console.log(` monitor    npx hearth monitor ${login}`);
        for (const d of devices) for (const hint of d.hints ?? []) console.log(` try        npx hearth ${hint} ${login}`);
        console.log(` state      ${dir}  (configs, logins; passwords in passwords.json)`);
        console.log(` audio      every stream and wake packet stays on this machine (loopback, simulated LAN)`);
        console.log(
          loud
            ? ` out loud   ${loud.room} plays on ALSA device "${loud.device}" (its state says whether it opened: npx hearth monitor …)`
            : ` out loud   the rooms play on simulated DACs; --output default plays ${ROOMS[0]!.id} on the sound card`,
        );
        console.log(`${bar}\n Ctrl-C stops the house.\n`);

        const clocks = devices
          .filter((d) => ROOMS.some((r) => r.id === d.id))
          .map((d) => `${d.id} ${d.clock.offsetMs >= 0 ? '+' : ''}${d.clock.offsetMs} ms ${d.clock.ppm >= 0 ? '+' : ''}${d.clock.ppm} ppm`);
        console.log(` clocks     the rooms' OS clocks are off by ${clocks.join(', ')}; they play by the house clock the box serves\n`);

        // The rooms' true sync, from the DACs' own records in true time (outside the players).
        const underrunsCounted = new Map<string, number>();
        const meter = setInterval(() => console.log(syncLine(sim, syncEveryS, underrunsCounted)), syncEveryS * 1000);

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
      },
    );
}
