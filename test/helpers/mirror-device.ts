// A device runtime in its own process whose player DAC is the simulated one mirrored through the
// real `speaker` sink into an ALSA device (the file-backed one of docs/testing.md), so a test can check
// what the device played. Everything else is `hearth run`: same runtime, config file, MQTT.
// (No config can ask for this: a "sim" output has no mirror, so the DAC is injected as a HAL
// override, the way tests inject hardware.)
// Usage: node --import tsx test/helpers/mirror-device.ts <config.json> <alsaDevice> [ppm]
// Set ALSA_CONFIG_PATH in the environment for the speaker child. Logs go to stdout (JSON).
import { dirname } from 'node:path';
import { startRuntime } from '../../device/core/runtime.ts';
import { createLogger, type LogLevel } from '../../device/core/log.ts';
import { RealClock } from '../../device/core/clock.ts';
import { createSimDac } from '../../device/hal/audio-out.sim.ts';
import { createSpeakerSink } from '../../device/hal/audio-out.speaker.ts';
import { BUILT_IN_ROLES } from '../../device/cli/roles.ts';

const [configFile, alsaDevice, ppmArg] = process.argv.slice(2);
if (!configFile || !alsaDevice) {
  process.stderr.write('usage: mirror-device.ts <config.json> <alsaDevice> [ppm]\n');
  process.exit(2);
}
const clock = new RealClock();
const log = createLogger({ level: (process.env.HEARTH_LOG_LEVEL as LogLevel) || 'warn', format: 'json' });
const runtime = await startRuntime({
  roles: BUILT_IN_ROLES,
  stateDir: dirname(configFile),
  configFile,
  clock,
  log,
  hal: {
    audioOut: (out, d) =>
      createSimDac({
        device: out.device ?? 'default',
        bufferMs: out.bufferMs,
        clock: d.clock,
        log: d.log,
        ppm: Number(ppmArg ?? 0),
        mirror: createSpeakerSink({ device: alsaDevice, clock, log, bufferMs: 100, spare: false }), // a mirror, not the DAC under test: no warm spare
      }),
  },
});
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await runtime.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
