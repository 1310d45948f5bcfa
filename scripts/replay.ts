// Replays kept interop tries through the shipped playout engine, offline and deterministic:
// `node --import tsx scripts/replay.ts [--latency MS] [--queue MS] DIR...`, each DIR one try kept
// by HEARTH_TEST_ARTEFACTS (its tap.jsonl: the sender's datagrams with their arrival times).
//
// Rules:
// - The packets go into device/audio/engine/playout.ts at their tapped arrival times; an ideal DAC
//   (exactly 48 kHz, `--queue` ms ahead, 240-frame blocks as the output loop writes) renders.
//   No machine, scheduler or DAC clock is in the way: what is left is the engine's own doing.
// - The output is judged as the interop tests judge a player (test/helpers/sender-health.ts):
//   every 0.68 s window from 2 s after the first frame of the tone, 1 kHz ± 1 Hz, THD+N under the
//   test's limit (−80 dB for PipeWire, −60 for the others); a bad window where the sender was clean
//   and on time is the engine's ("spoilt").
// - One line per try: windows judged, clean, spoilt, the worst, the served ratio's range after 1 s
//   (ppm beside nominal), re-anchors, and the timing source. Exit code 1 if any try has a spoilt window.
import { existsSync } from 'node:fs';
import { join, basename } from 'node:path';
import { Playout } from '../device/audio/engine/playout.ts';
import { arrivalStepMs } from '../device/audio/engine/timing.ts';
import type { Clock } from '../device/core/clock.ts';
import type { SimBlockRecord } from '../device/hal/audio-out.sim.ts';
import { judgePlayed, playerBudgetMs, readKeptTap, senderHealth, sentAudio } from '../test/helpers/sender-health.ts';

const RATE = 48000;
const BLOCK = 240;

function usage(msg: string): never {
  console.error(`${msg}\nusage: node --import tsx scripts/replay.ts [--latency MS] [--queue MS] DIR...`);
  process.exit(2);
}

function parseArgs(argv: string[]): { latencyMs: number; queueMs: number; dirs: string[] } {
  let latencyMs = 100,
    queueMs = 60;
  const dirs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--latency' || a === '--queue') {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 1 || v > 5000) usage(`${a} wants a number of ms (1-5000), got "${argv[i] ?? ''}"`);
      if (a === '--latency') latencyMs = v;
      else queueMs = v;
    } else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else if (!existsSync(join(a, 'tap.jsonl'))) usage(`${a}: no tap.jsonl there (a directory HEARTH_TEST_ARTEFACTS kept)`);
    else dirs.push(a);
  }
  if (!dirs.length) usage('no directory given');
  return { latencyMs, queueMs, dirs };
}

function replay(dir: string, latencyMs: number, queueMs: number): { line: string; spoilt: number } {
  const dgrams = readKeptTap(dir);
  // The stream's RTP port: the even port that is not SAP's.
  const port = [...new Set(dgrams.map((d) => d.port))].find((p) => p !== 9875 && p % 2 === 0);
  if (port === undefined) return { line: `${basename(dir)}: no RTP in the tap`, spoilt: 0 };
  const rtp = dgrams.filter((d) => d.port === port && d.data.length > 12);
  const sent = sentAudio(rtp, { port, rate: RATE, channels: 2 });
  const playout = new Playout({
    clock: undefined as unknown as Clock, // the engine reads no clock: every instant is passed in
    latencyMs,
    outputRate: RATE,
    outputChannels: 2,
    format: { encoding: 'L16', rate: RATE, channels: 2, payloadType: rtp[0]!.data[1]! & 0x7f },
  });
  const w0 = rtp[0]!.wallMs,
    end = rtp.at(-1)!.wallMs;
  const out = new Int16Array(Math.ceil(((end - w0) / 1000 + 1) * RATE) * 2);
  const records: SimBlockRecord[] = [];
  const ratios: number[] = [];
  let i = 0,
    written = 0,
    firstPlayed = -1;
  const buf = new Int16Array(BLOCK * 2);
  for (let t = w0; t < end && (written + BLOCK) * 2 <= out.length; t += (BLOCK * 1000) / RATE) {
    while (i < rtp.length && rtp[i]!.wallMs <= t) playout.pushRtp(rtp[i]!.data, rtp[i++]!.wallMs);
    const r = playout.render(buf, t + queueMs, RATE);
    if (r.rtpTimeAtStart !== null && firstPlayed < 0) firstPlayed = written;
    records.push({ epoch: 0, frame: written, frames: BLOCK, wallMs: t + queueMs, rtpTimeAtStart: r.rtpTimeAtStart });
    out.set(buf, written * 2);
    written += BLOCK;
    if (firstPlayed >= 0 && written - firstPlayed > RATE) ratios.push(playout.stats().driftPpm);
  }
  const health = senderHealth(sent, { budgetMs: playerBudgetMs(sent, latencyMs, queueMs), stepMs: arrivalStepMs(latencyMs) });
  const j = judgePlayed(out.subarray(0, written * 2), records, health, { fromS: 2 });
  const limit = /PipeWire/i.test(dir) ? -80 : -60;
  const clean = j.windows.filter((w) => w.faults.length === 0);
  const spoilt = clean.filter((w) => !(Math.abs(w.tone.hz - 1000) < 1 && w.tone.thdnDb < limit));
  const worstHz = clean.reduce((a, w) => Math.max(a, Math.abs(w.tone.hz - 1000)), 0);
  const worstDb = clean.reduce((a, w) => Math.max(a, w.tone.thdnDb), -Infinity);
  const st = playout.stats();
  const range = ratios.length ? `[${Math.min(...ratios).toFixed(0)}, ${Math.max(...ratios).toFixed(0)}]` : '[]';
  const where = spoilt.length
    ? ` at ${spoilt
        .map((w) => `${w.atS.toFixed(2)} s ${w.tone.hz.toFixed(2)} Hz ${w.tone.thdnDb.toFixed(1)} dB`)
        .slice(0, 4)
        .join(', ')}`
    : '';
  return {
    spoilt: spoilt.length,
    line: `${basename(dir)}: ${j.windows.length} windows, ${clean.length} clean, ${spoilt.length} spoilt${where}; worst clean ${clean.length ? `|Δf| ${worstHz.toFixed(2)} Hz, THD+N ${worstDb.toFixed(1)} dB` : '—'}; ratio after 1 s ${range} ppm; re-anchors ${st.reanchors}; timing ${st.timingSource}`,
  };
}

const { latencyMs, queueMs, dirs } = parseArgs(process.argv.slice(2));
let spoilt = 0;
for (const dir of dirs) {
  const r = replay(dir, latencyMs, queueMs);
  spoilt += r.spoilt;
  console.log(r.line);
}
process.exitCode = spoilt ? 1 : 0;
