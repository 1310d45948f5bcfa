// Sends one host's magic packet by every configured way. The payload and the raw frame are built
// once at start, so a wake on the hot path is a raw send plus a UDP send, no allocation.
// The raw frame goes first: it is a synchronous pcap send, the UDP datagram goes through the
// event loop.
import type { ArpCapture } from '../hal/arp-capture.ts';
import type { UdpBroadcast } from '../hal/udp-broadcast.ts';
import { buildMagicPacket, buildWolFrame } from './magic.ts';
import { parseSecureOn } from './addr.ts';

export interface MagicTarget {
  mac: string;
  secureOn?: string;
  port?: 9 | 7;
  udp?: boolean;
  rawEthernet?: boolean;
}

export class MagicSender {
  readonly payload: Buffer;
  private readonly frame: Buffer | undefined;
  private readonly port: number;

  constructor(
    target: MagicTarget,
    private readonly capture: ArpCapture,
    private readonly udp: UdpBroadcast | undefined,
    /** UDP destination; undefined when UDP is off. */
    private readonly broadcast: string | undefined,
  ) {
    this.payload = buildMagicPacket(target.mac, target.secureOn !== undefined ? parseSecureOn(target.secureOn) : undefined);
    this.frame = target.rawEthernet ? buildWolFrame(capture.mac, this.payload) : undefined;
    this.port = target.port ?? 9;
    if (target.udp !== false && (!udp || !broadcast)) throw new Error('UDP wake needs a socket and a broadcast address');
  }

  /** Describes the ways this sender uses ("ethernet 0x0842 eth0", "udp 10.0.0.255:9"). */
  get via(): string[] {
    const v: string[] = [];
    if (this.frame) v.push(`ethernet 0x0842 ${this.capture.iface}`);
    if (this.broadcast) v.push(`udp ${this.broadcast}:${this.port}`);
    return v;
  }

  /** Sends; resolves with the ways that worked, rejects only when every way failed. */
  async send(): Promise<{ via: string[]; errors: string[] }> {
    const via: string[] = [];
    const errors: string[] = [];
    if (this.frame) {
      try {
        this.capture.send(this.frame);
        via.push(`ethernet 0x0842 ${this.capture.iface}`);
      } catch (e) {
        errors.push(`ethernet: ${(e as Error).message}`);
      }
    }
    if (this.broadcast && this.udp) {
      try {
        await this.udp.send(this.payload, this.broadcast, this.port);
        via.push(`udp ${this.broadcast}:${this.port}`);
      } catch (e) {
        errors.push(`udp ${this.broadcast}:${this.port}: ${(e as Error).message}`);
      }
    }
    if (via.length === 0) throw new Error(errors.join('; ') || 'no way to send');
    return { via, errors };
  }
}
