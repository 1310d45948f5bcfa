// A house-clock peer for the integration tests and the clock bench, as its own process (run under
// libfaketime to shift its OS clock from outside). Prints JSON lines on stdout.
//   serve PORT [FILE]     hearth's NTP server (FILE: its timescale kept there across restarts);
//                         prints {houseAtMono0}: house ms at CLOCK_MONOTONIC 0
//   client HOST PORT MS   a HouseClock; prints {started} (CLOCK_MONOTONIC ms as it starts), then
//                         every MS {mono, house, os, state, unc, offsetMs, queries}
// `mono` is CLOCK_MONOTONIC in ms (process.hrtime), shared by every process on the machine and
// not shifted by DONT_FAKE_MONOTONIC=1 libfaketime: an observer compares house times through it.
import { RealClock } from '../../../device/core/clock.ts';
import { RealUdpStack } from '../../../device/hal/udp.real.ts';
import { ClockServer } from '../../../device/clock/server.ts';
import { HouseClock } from '../../../device/clock/house-clock.ts';

const monoMs = () => Number(process.hrtime.bigint()) / 1e6;
/**
 * CLOCK_MONOTONIC ms at performance.now() = 0: the median of paired reads. The first read of a
 * process can be off by milliseconds (measured here: 11 ms; lazy initialisation between the
 * reads), so one read is not enough.
 */
const originMs = () => {
  const v: number[] = [];
  for (let i = 0; i < 9; i++) {
    const a = monoMs(),
      p = performance.now(),
      b = monoMs();
    v.push((a + b) / 2 - p);
  }
  return v.sort((x, y) => x - y)[4]!;
};
const clock = new RealClock();
const stack = new RealUdpStack(clock);
const [cmd, a, b, c] = process.argv.slice(2);
const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');

if (cmd === 'serve') {
  const server = new ClockServer({ stack, clock, port: Number(a), address: '0.0.0.0', ...(b ? { persist: { file: b } } : {}) });
  await server.start();
  out({ houseAtMono0: server.houseAt(0) - originMs(), port: server.port, anchoredFrom: server.anchoredFrom });
  setInterval(() => out({ served: server.served }), 5000);
} else if (cmd === 'client') {
  const hc = new HouseClock(clock, {
    stack,
    server: a!,
    port: Number(b),
    osWall: () => Date.now(),
    onEvent: (type, message) => out({ event: type, message }),
  });
  const origin = originMs();
  out({ started: origin + performance.now(), origin });
  await hc.start();
  // CLOCK_PEER_RECORD=1: every exchange the estimator is fed ({x: [t1, t2, t3, t4]}, local ms on
  // performance.now(), reference ms), for replaying real exchanges offline against true time.
  if (process.env.CLOCK_PEER_RECORD) {
    const est = hc.client.estimator;
    const add = est.add.bind(est);
    est.add = (x) => {
      out({ x: [x.t1, x.t2, x.t3, x.t4] });
      return add(x);
    };
  }
  setInterval(
    () => {
      const { now, wall } = hc.both();
      const s = hc.sync();
      out({
        mono: origin + now,
        house: hc.synced ? wall : null,
        os: Date.now(),
        state: s.state,
        unc: s.uncertaintyUs ?? null,
        offsetMs: s.offsetMs ?? null,
        queries: s.queries,
        delayUs: hc.client.estimator.estimate(now)?.delayUs ?? null,
      });
    },
    Number(c ?? 100),
  );
} else {
  process.stderr.write('usage: clock-peer.run.ts serve PORT | client HOST PORT [MS]\n');
  process.exit(2);
}
