// The player's DAC: the adapter its config names (output.kind: speaker through ALSA, or the
// simulated DAC), or the one a test injects (hal.audioOut). Adapters are loaded when a player
// starts, so a device without a player never loads them.
import type { RoleDeps } from '../../core/role.ts';
import type { PlayerConfig, playerSpec } from '../../../protocol/roles/player.ts';
import type { AudioSink } from '../../hal/audio-out.ts';

export async function openPlayerSink(config: PlayerConfig, deps: Pick<RoleDeps<typeof playerSpec>, 'clock' | 'log' | 'hal'>): Promise<AudioSink> {
  const out = config.output ?? {};
  const opts = { device: out.device ?? 'default', clock: deps.clock, log: deps.log, bufferMs: out.bufferMs };
  if (deps.hal.audioOut) return deps.hal.audioOut(opts);
  if (out.kind === 'sim') {
    const { createSimDac } = await import('../../hal/audio-out.sim.ts');
    return createSimDac({ ...opts, ppm: out.simPpm ?? 0 });
  }
  const { createSpeakerSink } = await import('../../hal/audio-out.speaker.ts');
  return createSpeakerSink(opts);
}
