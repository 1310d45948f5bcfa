// The virtual-time part of `npm run bench -- audio`: the standard scenarios of issue 3 run through
// simulateLoop, reported under the bench's figure names. The real-time part (UDP multicast in a
// namespace, CPU, RSS, PulseAudio side by side) is the bench's own (bench/audio.ts).
//
// Scenarios (seeded, deterministic):
// - control: sender +50 ppm with RTCP SRs every second, 5 ms jitter and 1 % loss, 100 ms latency;
//   players with DACs at +80, −120 (joining after 60 s), +1000 and −1000 ppm. 30 minutes of audio
//   (3 in quick mode). → sync_error_p99_us, sync_error_max_us, join_to_sync_s, drift_residual_ppm,
//   underruns_100ms_impaired.
// - tight: 20 ms latency, no impairment, PulseAudio-sized packets (317 frames), a 5 ms DAC queue in
//   2.5 ms blocks; DACs +80/−120; 5 minutes (1 in quick). → underruns_20ms.
// - tone: 1 kHz at −1 dBFS, no impairment, DAC +300 ppm; THD+N over 1.4 s after 30 s. → thdn_db.
import { simulateLoop, type SimLoopResult } from './loop.ts';

export interface ScenarioFigures {
  sync_error_p99_us: number;
  sync_error_max_us: number;
  join_to_sync_s: number;
  drift_residual_ppm: number;
  underruns_100ms_impaired: number;
  underruns_20ms: number;
  thdn_db: number;
  /** Playout.render CPU per player, % of one core per second of audio (virtual run, this machine). */
  render_cpu_pct: number;
  /** Minutes of audio simulated in the control scenario. */
  virtual_minutes: number;
}

export async function runControlScenario(minutes: number): Promise<SimLoopResult> {
  return await simulateLoop({
    seconds: minutes * 60,
    seed: 20240603,
    settleS: 30,
    sender: { ppm: 50, rtcpIntervalMs: 1000 },
    network: { jitterMs: 5, lossPct: 1 },
    players: [{ dacPpm: 80 }, { dacPpm: -120, joinAtS: 60 }, { dacPpm: 1000 }, { dacPpm: -1000 }],
  });
}

export async function virtualAudioFigures(opts: { quick: boolean }): Promise<ScenarioFigures> {
  const minutes = opts.quick ? 3 : 30;
  const control = await runControlScenario(minutes);
  const small = { latencyMs: 20, blockFrames: 120, fifoFrames: 240, tickMs: 1.25 };
  const tight = await simulateLoop({
    seconds: (opts.quick ? 1 : 5) * 60,
    seed: 7,
    sender: { ppm: -30, rtcpIntervalMs: 1000, framesPerPacket: 317 },
    players: [
      { dacPpm: 80, ...small },
      { dacPpm: -120, ...small },
    ],
  });
  const tone = await simulateLoop({
    seconds: 40,
    seed: 3,
    sender: { ppm: 0, rtcpIntervalMs: 1000 },
    players: [{ dacPpm: 300, captureFromS: 30 }],
  });
  return {
    sync_error_p99_us: control.figures.sync_error_p99_us,
    sync_error_max_us: control.figures.sync_error_max_us,
    join_to_sync_s: control.figures.join_to_sync_s,
    drift_residual_ppm: control.figures.drift_residual_ppm,
    underruns_100ms_impaired: control.figures.underruns,
    underruns_20ms: tight.figures.underruns,
    thdn_db: tone.figures.thdn_db ?? NaN,
    render_cpu_pct: control.figures.render_cpu_pct,
    virtual_minutes: minutes,
  };
}
