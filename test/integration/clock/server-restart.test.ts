// hearth's NTP server restarted as a real process, with the hub's OS clock stepped between the two
// runs (libfaketime, realtime only): with its timescale file it serves the same house time to the
// µs, measured over the wire against this machine's CLOCK_MONOTONIC; without it (as before), house
// time moves by the step and every client sees a reference jump.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { buildRequest, checkReply } from '../../../device/clock/ntp-packet.ts';
import { LIBFAKETIME } from '../../../bench/lib/rooms-net.ts';
import { freePort } from '../../helpers/broker.ts';

const PEER = fileURLToPath(new URL('./clock-peer.run.ts', import.meta.url));
const monoMs = () => Number(process.hrtime.bigint()) / 1e6;
const dir = mkdtempSync(join(tmpdir(), 'hearth-ntp-restart-'));
const procs: ChildProcess[] = [];
test.after(() => {
  for (const p of procs) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the server process; resolves once it prints where it anchored. */
async function serve(
  port: number,
  file: string | undefined,
  stepS: number,
): Promise<{ proc: ChildProcess; anchoredFrom: string; houseAtMono0: number }> {
  const env = { ...process.env, ...(stepS ? { LD_PRELOAD: LIBFAKETIME, FAKETIME: `+${stepS}`, DONT_FAKE_MONOTONIC: '1' } : {}) };
  const proc = spawn(process.execPath, ['--import', 'tsx', PEER, 'serve', String(port), ...(file ? [file] : [])], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  procs.push(proc);
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) resolve(buf.slice(0, buf.indexOf('\n')));
    });
    proc.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  return { proc, ...(JSON.parse(line) as { anchoredFrom: string; houseAtMono0: number }) };
}

async function stop(p: ChildProcess): Promise<void> {
  await new Promise((r) => {
    p.once('exit', r);
    p.kill('SIGTERM');
  });
}

/**
 * House time minus CLOCK_MONOTONIC (ms) as served, from the least-delayed of 20 exchanges over
 * loopback: good to ~0.2 ms at load 7 (hearth's server reads t2 when its event loop gets to it).
 */
async function houseMinusMono(port: number): Promise<number> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  let best = { delay: Infinity, offset: NaN };
  try {
    for (let i = 0; i < 20; i++) {
      const cookie = BigInt(1000 + i);
      const reply = new Promise<{ buf: Buffer; t4: number }>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no reply')), 1000);
        sock.once('message', (buf) => {
          clearTimeout(t);
          resolve({ buf, t4: monoMs() });
        });
      });
      const t1 = monoMs();
      sock.send(buildRequest(cookie), port, '127.0.0.1');
      const { buf, t4 } = await reply;
      const r = checkReply(buf, cookie);
      assert.ok(r.ok, JSON.stringify(r));
      if (!r.ok) continue;
      const delay = t4 - t1 - (r.t3 - r.t2);
      if (delay < best.delay) best = { delay, offset: (r.t2 - t1 + (r.t3 - t4)) / 2 };
    }
  } finally {
    sock.close();
  }
  return best.offset;
}

test('restarted with its timescale file after a +2 s OS clock step: the same house time; without the file: 2 s off', async () => {
  const file = join(dir, 'ntp-anchor.json');
  const port = await freePort();
  let s = await serve(port, file, 0);
  assert.is(s.anchoredFrom, 'os-clock');
  const before = await houseMinusMono(port);
  const anchor0 = s.houseAtMono0;
  await stop(s.proc);
  s = await serve(port, file, 2);
  assert.is(s.anchoredFrom, 'saved');
  // What it serves, from outside (to the wire's noise), and where it anchored (to the µs).
  const kept = await houseMinusMono(port);
  assert.ok(Math.abs(kept - before) < 1, `house − monotonic moved ${((kept - before) * 1000).toFixed(1)} µs across the restart`);
  assert.ok(Math.abs(s.houseAtMono0 - anchor0) < 0.02, `anchor moved ${((s.houseAtMono0 - anchor0) * 1000).toFixed(2)} µs`);
  await stop(s.proc);
  // The same restart without the file (the server as it was): house time follows the stepped OS clock.
  s = await serve(port, undefined, 2);
  const moved = await houseMinusMono(port);
  assert.ok(Math.abs(moved - before - 2000) < 5, `without the file it moved ${(moved - before).toFixed(3)} ms`);
  await stop(s.proc);
});

test.run();
