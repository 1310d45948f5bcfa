// One outgoing stream: input → L16 RTP packets paced on the injected clock, RTCP sender reports
// (RTP time ↔ wall time) on port + 1 every `srIntervalFor(format)` (250 ms for 48 kHz stereo), and
// SAP/SDP announcements every 5 s to the SAP group and to the stream's group on port 9875, with a
// SAP deletion and an RTCP BYE on stop.
//
// SR interval rule: RFC 3550's reduced minimum (§6.2: 360 s divided by the session bandwidth in
// kbit/s; 0.234 s for L16 48 kHz stereo, 1536 kbit/s), at least 250 ms. Why not every second: a
// joining player plays on arrivals (ms off the other rooms) until the first SR it trusts, then
// extrapolates that one SR at the nominal rate until the next gives the sender's rate; with an SR
// a second that took 1.06–1.96 s of a join (virtual time, `simulateLoop`, sender −130 ppm, six
// seeds), 0.09 s with one every 250 ms, the steady p99 unchanged (0.5–1.0 µs).
//
// Pacing rule: packet k leaves when now() ≥ t0 + k·frames/rate; a late timer sends every packet
// that fell due (catch-up), so RTP time tracks this device's clock exactly over days. RTP time
// therefore runs at this device's (NTP-disciplined) clock rate, and every SR pairs one RTP instant
// with the wall clock at that same instant.
import { randomInt } from 'node:crypto';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import type { Logger } from '../../core/log.ts';
import type { AudioInput } from '../../hal/audio-in.ts';
import type { StreamFormat } from '../types.ts';
import { buildRtp } from '../packets/rtp.ts';
import { buildSenderReport, buildBye } from '../packets/rtcp.ts';
import { buildSap, sapHash, SAP_GROUP, SAP_PORT } from '../packets/sap.ts';
import { buildSdp } from '../packets/sdp.ts';
import type { MulticastSender } from '../net.ts';
import { houseTimeServed } from '../../clock/role-clock.ts';

export interface OutStreamOptions {
  id: string;
  name: string;
  group: string;
  port: number;
  ttl: number;
  format: StreamFormat;
  framesPerPacket: number;
  sap: boolean;
  rtcp: boolean;
  input: AudioInput;
  sender: MulticastSender;
  clock: Clock;
  log: Logger;
  /** RTCP CNAME (user@host). */
  cname: string;
  sapIntervalMs?: number;
  srIntervalMs?: number;
  /** SSRC, first sequence number and RTP time origin (default random, RFC 3550; a simulation seeds them). */
  ids?: { ssrc: number; seq: number; rtp0: number };
}

/** The SR interval of a stream (ms): see the rule above. L16: 16 bits a sample. */
export function srIntervalFor(format: StreamFormat): number {
  const kbps = (format.rate * format.channels * 16) / 1000;
  return Math.max(250, Math.ceil(360_000 / kbps));
}

export interface OutStreamStats {
  packets: number;
  octets: number;
  ssrc: number;
}

export class OutStream {
  readonly ssrc: number;
  private seq: number;
  private readonly rtp0: number;
  private t0 = 0;
  private sentFrames = 0;
  private packets = 0;
  private octets = 0;
  private tick: TimerHandle | undefined;
  private sapTimer: TimerHandle | undefined;
  private srTimer: TimerHandle | undefined;
  private sdpText = '';
  private hash = 0;
  private running = false;

  constructor(private readonly o: OutStreamOptions) {
    this.ssrc = o.ids?.ssrc ?? randomInt(1, 0xffffffff);
    this.seq = o.ids?.seq ?? randomInt(0, 0x10000);
    this.rtp0 = o.ids?.rtp0 ?? randomInt(0, 0x100000000);
  }

  get sdp(): string {
    return this.sdpText;
  }
  stats(): OutStreamStats {
    return { packets: this.packets, octets: this.octets, ssrc: this.ssrc };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const { o } = this;
    this.sdpText = buildSdp({
      name: o.name,
      originAddress: o.sender.address,
      sessionId: this.ssrc,
      sessionVersion: Math.floor(o.clock.wall() / 1000),
      group: o.group,
      port: o.port,
      ttl: o.ttl,
      format: o.format,
      ptime: (o.framesPerPacket * 1000) / o.format.rate,
      info: `hearth stream ${o.id}`,
    }).replace(/\r\n/g, '\n'); // PulseAudio's SDP parser insists on "v=0\n" (LF), as PulseAudio and PipeWire send it
    this.hash = sapHash(this.sdpText);
    this.t0 = o.clock.now();
    this.sentFrames = 0;
    const packetMs = (o.framesPerPacket * 1000) / o.format.rate;
    this.tick = o.clock.setInterval(() => this.pump(), Math.max(1, packetMs / 2));
    this.pump();
    if (o.rtcp) {
      this.sendSr();
      this.srTimer = o.clock.setInterval(() => this.sendSr(), o.srIntervalMs ?? srIntervalFor(o.format));
    }
    if (o.sap) {
      this.announce('announce');
      this.sapTimer = o.clock.setInterval(() => this.announce('announce'), o.sapIntervalMs ?? 5000);
    }
  }

  /** RTP timestamp (unwrapped) of the frame due at monotonic time `nowMs`. */
  private rtpAt(nowMs: number): number {
    return this.rtp0 + ((nowMs - this.t0) * this.o.format.rate) / 1000;
  }

  private pump(): void {
    if (!this.running) return;
    const { o } = this;
    const due = Math.floor(((o.clock.now() - this.t0) * o.format.rate) / 1000);
    // After a long stall (suspend, debugger) skip ahead rather than burst seconds of audio.
    if (due - this.sentFrames > o.format.rate) this.sentFrames = due - o.framesPerPacket;
    while (this.sentFrames + o.framesPerPacket <= due) {
      const pcm = o.input.read(o.framesPerPacket);
      const payload = Buffer.allocUnsafe(pcm.length * 2);
      for (let i = 0; i < pcm.length; i++) payload.writeInt16BE(pcm[i]!, i * 2);
      const pkt = buildRtp(
        {
          payloadType: o.format.payloadType,
          sequence: this.seq,
          timestamp: (this.rtp0 + this.sentFrames) >>> 0,
          ssrc: this.ssrc,
          marker: this.packets === 0,
        },
        payload,
      );
      o.sender.send(pkt, o.group, o.port);
      this.seq = (this.seq + 1) & 0xffff;
      this.sentFrames += o.framesPerPacket;
      this.packets++;
      this.octets += payload.length;
    }
  }

  private sendSr(): void {
    // No SR before house time is served: it would carry this device's own OS clock.
    if (!this.running || !houseTimeServed(this.o.clock)) return;
    this.o.sender.send(buildSenderReport({ ...this.srFields(), cname: this.o.cname }), this.o.group, this.o.port + 1);
  }

  /**
   * The SR fields of this instant. An SR pairs a whole RTP frame with its exact wall instant
   * (NTP carries 0.23 ns): the frame now playing and the wall instant it began, both from one
   * clock sample. Rounding the fractional RTP time put up to ±½ frame (±10 µs) of noise in every
   * SR, and reading now() and wall() apart up to 80 µs more (a VM's vCPU descheduled between the
   * reads): a player fitting its first few SRs (one that just joined) turned that into a slope
   * error of 10-20 ppm and tens of µs against its neighbours.
   */
  private srFields(): { ssrc: number; wallMs: number; rtpTimestamp: number; packetCount: number; octetCount: number } {
    const { now, wall } = this.o.clock.both();
    const r = this.rtpAt(now);
    const whole = Math.floor(r);
    const wallOfWhole = wall - ((r - whole) * 1000) / this.o.format.rate;
    return { ssrc: this.ssrc, wallMs: wallOfWhole, rtpTimestamp: whole >>> 0, packetCount: this.packets, octetCount: this.octets };
  }

  private announce(type: 'announce' | 'delete'): void {
    const msg = buildSap({ type, origin: this.o.sender.address, sdp: this.sdpText, hash: this.hash });
    this.o.sender.send(msg, SAP_GROUP, SAP_PORT);
    if (this.o.group !== SAP_GROUP) this.o.sender.send(msg, this.o.group, SAP_PORT);
  }

  /** Stops sending; says goodbye (RTCP BYE, SAP deletion). Safe to call twice. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.o.clock.clearInterval(this.tick);
    this.o.clock.clearInterval(this.srTimer);
    this.o.clock.clearInterval(this.sapTimer);
    if (this.o.rtcp) {
      this.o.sender.send(buildBye(this.srFields()), this.o.group, this.o.port + 1);
    }
    if (this.o.sap) this.announce('delete');
  }
}
