// The whole path in virtual time on the simulated network: hearth's NTP server on the hub, a
// source stamping RTCP SRs in house time and sending RTP by multicast, two players mapping RTP →
// house time → their own monotonic clock (the shipped Playout, rendering DAC blocks). Every host's
// crystal and OS clock are off by its own amount. Sync is read in TRUE time: at the same instant
// of the simulation, the RTP frame each player's DAC block starts with.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VirtualClock, type Clock } from '../../../device/core/clock.ts';
import { SimNetwork, type SimHost } from '../../../device/hal/udp.sim.ts';
import { ClockServer } from '../../../device/clock/server.ts';
import { HouseClock } from '../../../device/clock/house-clock.ts';
import { houseTimeServed } from '../../../device/clock/role-clock.ts';
import { OutStream } from '../../../device/audio/source/stream.ts';
import { Playout } from '../../../device/audio/engine/playout.ts';
import { createToneInput } from '../../../device/hal/audio-in.tone.ts';
import { createLogger } from '../../../device/core/log.ts';

const GROUP = '239.77.0.1',
  PORT = 46000,
  RATE = 48000,
  BLOCK = 480;
const log = createLogger({ level: 'error', sink: { write: () => {} } });

async function house(o: { house: boolean }) {
  const base = new VirtualClock(0);
  const net = new SimNetwork(base, { seed: 11, defaultLink: { delayMs: 0.15, jitterMs: 0.2, loss: 0.005 } });
  const hub = net.addHost({ address: '10.0.0.1', ppm: 20 });
  await new ClockServer({ stack: hub.udp, clock: hub.clock, port: 123 }).start();
  const clockOf = async (h: SimHost): Promise<Clock> => {
    if (!o.house) return h.clock; // each device on its own OS wall clock (before the house clock)
    const hc = new HouseClock(h.clock, { stack: h.udp, server: '10.0.0.1', port: 123 });
    await hc.start();
    return hc;
  };
  // The source: 1 ms ahead and 150 ppm fast.
  const srcHost = net.addHost({ address: '10.0.0.2', ppm: 150, offsetMs: 1 });
  const srcClock = await clockOf(srcHost);
  const tx = await srcHost.udp.open({});
  const out = new OutStream({
    id: 'tv',
    name: 'tv',
    group: GROUP,
    port: PORT,
    ttl: 1,
    format: { encoding: 'L16', rate: RATE, channels: 2, payloadType: 96 },
    framesPerPacket: 240,
    sap: false,
    rtcp: true,
    input: createToneInput({ frequency: 1000 }),
    clock: srcClock,
    log,
    cname: 'src@sim',
    sender: { address: srcHost.address, send: (d, g, p) => tx.send(d, p, g), close: async () => tx.close(), errors: () => tx.errors() },
  });
  // Two players: 3 ms ahead / −200 ppm, and 12 ms ahead / +180 ppm (both within the SR trust
  // window of the source's clock: on their own clocks both would follow its SRs).
  const players = await Promise.all(
    [
      { a: '10.0.0.3', ppm: -200, off: 3 },
      { a: '10.0.0.4', ppm: 180, off: 12 },
    ].map(async (d) => {
      const h = net.addHost({ address: d.a, ppm: d.ppm, offsetMs: d.off });
      const clock = await clockOf(h);
      const p = new Playout({
        clock,
        latencyMs: 60,
        outputRate: RATE,
        outputChannels: 2,
        format: { encoding: 'L16', rate: RATE, channels: 2, payloadType: 96 },
      });
      const rtp = await h.udp.open({ address: GROUP, port: PORT, reuseAddr: true });
      const rtcp = await h.udp.open({ address: GROUP, port: PORT + 1, reuseAddr: true });
      rtp.addMembership(GROUP);
      rtcp.addMembership(GROUP);
      rtp.onMessage((m) => p.pushRtp(m.data, clock.wall()));
      rtcp.onMessage((m) => {
        if (houseTimeServed(clock)) p.pushRtcp(m.data, clock.wall());
      });
      return { h, clock, p, buf: new Int16Array(BLOCK * 2) };
    }),
  );
  base.advance(500); // house clocks lock before the source starts (they do within ~0.2 s)
  await Promise.resolve();
  out.start();
  return { base, players };
}

/** Runs `seconds`, rendering a 10 ms DAC block on each player every 10 ms of true time; returns |A − B| in µs from `fromS` on. */
async function rooms(o: { house: boolean; seconds: number; fromS: number }) {
  const { base, players } = await house(o);
  const diffs: number[] = [];
  const timing: string[] = [];
  for (let t = 0; t < o.seconds * 1000; t += 10) {
    base.advance(10);
    await Promise.resolve();
    const at = players.map((pl) => pl.p.render(pl.buf, pl.clock.wall(), RATE).rtpTimeAtStart);
    if (t >= o.fromS * 1000 && at[0] != null && at[1] != null) diffs.push((Math.abs(at[0] - at[1]) / RATE) * 1e6);
  }
  for (const pl of players) timing.push(String(pl.p.stats().timingSource));
  return { diffs, timing };
}
const p99 = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length * 0.99)]!;

test('on the house clock, two players whose clocks are ms and hundreds of ppm off play the same frame within tens of µs', async () => {
  const r = await rooms({ house: true, seconds: 40, fromS: 20 });
  assert.ok(r.diffs.length > 1500, `${r.diffs.length} blocks compared`);
  assert.equal(r.timing, ['rtcp', 'rtcp']);
  assert.ok(p99(r.diffs) < 100, `rooms apart p99 ${p99(r.diffs).toFixed(1)} µs`);
});

test('contrast: the same players on their own OS wall clocks are as far apart as their clocks', async () => {
  const r = await rooms({ house: false, seconds: 40, fromS: 20 });
  assert.ok(p99(r.diffs) > 1000, `rooms apart p99 ${p99(r.diffs).toFixed(1)} µs (timing ${r.timing.join(', ')})`);
  assert.ok(r.timing.includes('rtcp'), 'at least one player follows the SRs on its own clock');
});

test.run();
