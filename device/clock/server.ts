// hearth's own NTP server, for houses without chrony: house time = a fixed anchor + this process's
// monotonic clock. An OS clock step never moves it; its rate is this machine's crystal (the house
// follows the hub's crystal, which is all rooms need: they agree with each other, not with UTC).
//
// Rules:
// - Answers mode-3 (client) requests of version 1–4 with a mode-4 reply of the same version,
//   echoing the request's transmit timestamp as origin (RFC 5905 §8); anything else is counted
//   (`ignored`) and not answered. Stratum `stratum` (default 10, as chrony's `local stratum 10`),
//   reference id 127.127.1.1 (a local clock), leap 0.
// - t2 is the UDP stack's receive time of the request (udp.ts `at`: read when the event loop
//   gets to it, so late by the loop's lag); t3 is read immediately before the reply is sent.
//   Lateness on either side only lengthens the round trip clients see, which their minimum-delay
//   weighting discounts; what remains is the least lag, a constant every client shares.
// - The anchor is the house time at this process's monotonic zero: by default the OS wall
//   clock at start (so house time starts near UTC when the OS clock is right), or `anchorMs`.
//   With `persist` (the hub role, `hearth hub`), a restart within the same boot continues the
//   saved timescale instead (anchor-file.ts): clients see no jump. After a reboot, or without
//   persist, a restart moves house time by however far the OS clock was from it (stepped
//   meanwhile, or never the anchor); clients detect that as a reference jump and step once.
import type { Clock } from '../core/clock.ts';
import type { UdpSocket, UdpStack } from '../hal/udp.ts';
import { buildNtp, Mode, parseNtp, toNtp } from './ntp-packet.ts';
import { currentBootId, loadAnchor, saveAnchor, type AnchorPersist } from './anchor-file.ts';

export interface ClockServerOptions {
  stack: UdpStack;
  clock: Clock;
  port: number;
  /** Address to bind (default 0.0.0.0: every interface). */
  address?: string;
  stratum?: number;
  /** House ms at clock.now() = 0 (default: clock.wall() − clock.now() at construction). */
  anchorMs?: number;
  /** Keep the timescale across restarts within one boot (needs a monotonic origin: a real clock). */
  persist?: AnchorPersist;
}

export class ClockServer {
  served = 0;
  ignored = 0;
  private sock: UdpSocket | undefined;
  private readonly anchor: number;
  private readonly startedHouse: number;
  /** Where the anchor came from: 'os-clock', 'given', or 'saved' (a restart continuing its timescale). */
  readonly anchoredFrom: 'os-clock' | 'given' | 'saved';
  /** Why the saved timescale was used or not (with persist). */
  readonly anchorNote: string | undefined;
  private readonly persisted: { file: string; bootId: string; origin: number } | undefined;
  /** Why the timescale could not be saved, if it could not. */
  saveError: string | undefined;

  constructor(private readonly o: ClockServerOptions) {
    const b = o.clock.both();
    const origin = o.persist ? (o.persist.monoOriginMs ?? o.clock.monotonicOriginMs?.()) : undefined;
    const bootId = o.persist?.bootId ?? (o.persist ? currentBootId() : '');
    const saved = o.persist && origin !== undefined && o.anchorMs === undefined ? loadAnchor(o.persist.file, bootId) : undefined;
    if (o.anchorMs !== undefined) this.anchoredFrom = 'given';
    else this.anchoredFrom = saved?.houseMinusMonotonicMs !== undefined ? 'saved' : 'os-clock';
    this.anchor = o.anchorMs ?? (saved?.houseMinusMonotonicMs !== undefined ? saved.houseMinusMonotonicMs + origin! : b.wall - b.now);
    this.startedHouse = this.anchor + b.now;
    this.anchorNote = o.persist ? (origin === undefined ? 'not kept: the clock has no monotonic origin' : saved?.why) : undefined;
    this.persisted = o.persist && origin !== undefined ? { file: o.persist.file, bootId, origin } : undefined;
  }

  /** House time (Unix ms) at this process's monotonic `now`. */
  houseAt(now: number): number {
    return this.anchor + now;
  }

  get port(): number {
    return this.sock?.port ?? this.o.port;
  }

  async start(): Promise<void> {
    this.sock = await this.o.stack.open({ address: this.o.address ?? '0.0.0.0', port: this.o.port });
    // Saved once bound (a server that cannot bind serves no timescale to keep).
    if (this.persisted)
      await saveAnchor(this.persisted.file, this.persisted.bootId, this.anchor - this.persisted.origin).catch((e: Error) => {
        this.saveError = e.message; // serving goes on; the next start anchors on the OS clock
      });
    const sock = this.sock;
    sock.onMessage((m) => {
      const t2 = this.houseAt(m.at);
      let req;
      try {
        req = parseNtp(m.data);
      } catch {
        this.ignored++;
        return;
      }
      if (req.mode !== Mode.Client) {
        this.ignored++;
        return;
      }
      const reply = buildNtp({
        leap: 0,
        version: req.version,
        mode: Mode.Server,
        stratum: this.o.stratum ?? 10,
        poll: req.poll,
        precision: -20,
        rootDelayMs: 0,
        rootDispersionMs: 0.01,
        refId: '127.127.1.1',
        referenceMs: this.startedHouse,
        origin: req.transmit,
        receive: toNtp(t2),
      });
      const t3 = this.houseAt(this.o.clock.now());
      reply.writeBigUInt64BE(toNtp(t3), 40);
      sock.send(reply, m.port, m.address);
      this.served++;
    });
  }

  async stop(): Promise<void> {
    await this.sock?.close();
    this.sock = undefined;
  }
}
