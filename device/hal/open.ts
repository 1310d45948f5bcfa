// The one way a role opens a hardware edge: `open<Edge>(config, deps)`, one function per edge.
// Each picks the adapter the way it always is picked:
// 1. an adapter injected for this edge (deps.hal.<edge>: tests, the house in a box), called with
//    the same (config, deps) as the real one would be, so an injected adapter sees what the role
//    asked for;
// 2. else the adapter the config names (audio out: speaker or sim; audio in: alsa, file or tone;
//    GPIO: rpio, chardev, sim or auto), loaded only now, so a device without that role never
//    loads it (nor its native addon).
// Every adapter comes back behind its edge's interface (hal/<edge>.ts, with its rules); what is
// opened further (an audio stream's format, a GPIO line) goes through that interface.
// Adding an edge: its interface file declares its `HalOverrides` field as an `EdgeFactory`, and
// its opener goes here (see docs/architecture.md).
import type { EdgeDeps } from '../core/hal-overrides.ts';
import type { AudioInput, AudioInputConfig } from './audio-in.ts';
import type { AudioSink, AudioOutConfig } from './audio-out.ts';
import type { Gpio, GpioConfig } from './gpio.ts';
import type { UdpStack } from './udp.ts';
import type { UdpBroadcast } from './udp-broadcast.ts';
import type { ArpCapture, ArpCaptureOptions } from './arp-capture.ts';
import { chooseGpio } from './gpio-select.ts';

/** A source's audio input: the configured kind (ALSA capture in a child process, a file, a tone). */
export async function openAudioIn(config: AudioInputConfig, deps: EdgeDeps): Promise<AudioInput> {
  if (deps.hal.audioIn) return deps.hal.audioIn(config, deps);
  if (config.kind === 'tone') return (await import('./audio-in.tone.ts')).createToneInput(config);
  if (config.kind === 'file') return (await import('./audio-in.file.ts')).createFileInput(config);
  return (await import('./audio-in.alsa.ts')).createAlsaInput(config, deps);
}

/** A player's DAC: speaker (ALSA through the `speaker` addon, in a child process) or the simulated DAC. */
export async function openAudioOut(config: AudioOutConfig, deps: EdgeDeps): Promise<AudioSink> {
  if (deps.hal.audioOut) return deps.hal.audioOut(config, deps);
  const opts = { device: config.device ?? 'default', clock: deps.clock, log: deps.log, bufferMs: config.bufferMs };
  if (config.kind === 'sim') return (await import('./audio-out.sim.ts')).createSimDac({ ...opts, ppm: config.simPpm ?? 0 });
  return (await import('./audio-out.speaker.ts')).createSpeakerSink(opts);
}

/** The GPIO lines: the adapter the config names, or (auto) the one the board needs. */
export async function openGpio(config: GpioConfig, deps: EdgeDeps): Promise<Gpio> {
  if (deps.hal.gpio) return deps.hal.gpio(config, deps);
  const kind = chooseGpio(config.adapter, deps.log);
  // Real lines live in a line-holder process that releases them if this one dies (gpio.held.ts).
  if (kind === 'rpio' || kind === 'chardev')
    return (await import('./gpio.held.ts')).HeldGpio.open({ adapter: kind, ...(config.chip ? { chip: config.chip } : {}) });
  const { SimGpio } = await import('./gpio.sim.ts');
  return new SimGpio({ clock: deps.clock });
}

/** This host's UDP stack (node:dgram, on the runtime's clock). */
export async function openUdp(config: Record<string, never>, deps: EdgeDeps): Promise<UdpStack> {
  if (deps.hal.udp) return deps.hal.udp(config, deps);
  return new (await import('./udp.real.ts')).RealUdpStack(deps.clock);
}

/** A UDP broadcast socket (magic packets). */
export async function openUdpBroadcast(config: Record<string, never>, deps: EdgeDeps): Promise<UdpBroadcast> {
  if (deps.hal.udpBroadcast) return deps.hal.udpBroadcast(config, deps);
  return (await import('./udp-broadcast.real.ts')).openRealUdpBroadcast();
}

/** Raw Ethernet capture and send on one interface (libpcap through the `cap` addon). */
export async function openArpCapture(config: ArpCaptureOptions, deps: EdgeDeps): Promise<ArpCapture> {
  if (deps.hal.arpCapture) return deps.hal.arpCapture(config, deps);
  return (await import('./arp-capture.real.ts')).openRealArpCapture(config);
}
