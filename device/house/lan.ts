// The demo house's simulated LAN for the waker: a sleeping host (a NAS) and a client (a laptop)
// on a simulated wire. The host answers ARP only while awake, wakes a few seconds after a valid
// magic packet, and falls asleep again after a quiet spell; the laptop ARPs for it now and then
// (someone opens a share), which is what the waker turns into a wake.
import type { Clock, TimerHandle } from '../core/clock.ts';
import { SimWire } from '../hal/arp-capture.sim.ts';
import { SimUdpBroadcast } from '../hal/udp-broadcast.sim.ts';
import { buildArpFrame, parseArpFrame, ARP_REPLY, ARP_REQUEST } from '../waker/arp.ts';
import { checkMagicPacket, wolPayloadOfFrame } from '../waker/magic.ts';

export const NAS = { name: 'nas', ip: '10.77.0.20', mac: '02:00:00:00:00:20', interface: 'sim0' };
export const LAPTOP = { ip: '10.77.0.58', mac: '02:00:00:00:00:58' };
export const WAKER_NIC = { mac: '02:00:00:00:00:01', address: '10.77.0.2', netmask: '255.255.255.0' };

export interface DemoLanOptions {
  clock: Clock;
  /** Magic packet → up (default 4 s). */
  bootMs?: number;
  /** Awake with no demand this long → asleep (default 120 s). */
  idleMs?: number;
  /** The laptop ARPs for the NAS this often (default 90 s; 0 = never by itself). */
  demandEveryMs?: number;
}

export class DemoLan {
  readonly wire = new SimWire();
  readonly udp = new SimUdpBroadcast();
  awake = false;
  wakes = 0;
  private booting: TimerHandle | undefined;
  private idle: TimerHandle | undefined;
  private demand: TimerHandle | undefined;

  constructor(private readonly o: DemoLanOptions) {
    this.udp.onSend((payload) => this.onMagic(payload));
    this.wire.onSent((frame) => {
      const wol = wolPayloadOfFrame(frame);
      if (wol) {
        this.onMagic(wol);
        return;
      }
      const p = parseArpFrame(frame);
      if (this.awake && p && p.op === ARP_REQUEST && p.targetIp === NAS.ip) {
        this.wire.inject(
          buildArpFrame({
            op: ARP_REPLY,
            ethSrc: NAS.mac,
            ethDst: p.senderMac,
            senderIp: NAS.ip,
            targetMac: p.senderMac,
            targetIp: p.senderIp,
          }),
        );
      }
    });
    const every = o.demandEveryMs ?? 90_000;
    if (every > 0) this.demand = o.clock.setInterval(() => this.laptopWantsNas(), every);
  }

  /** The laptop ARPs for the NAS (what `ls /mnt/nas` does first). */
  laptopWantsNas(): void {
    this.wire.inject(buildArpFrame({ op: ARP_REQUEST, ethSrc: LAPTOP.mac, senderIp: LAPTOP.ip, targetIp: NAS.ip }));
    if (this.awake) this.keepAwake();
  }

  /** The NAS goes to sleep now (as after its idle timer). */
  sleep(): void {
    this.awake = false;
    this.o.clock.clearTimeout(this.idle);
  }

  private onMagic(payload: Buffer): void {
    if (!checkMagicPacket(payload, { mac: NAS.mac }).ok || this.awake || this.booting) return;
    this.booting = this.o.clock.setTimeout(() => {
      this.booting = undefined;
      this.awake = true;
      this.wakes++;
      this.keepAwake();
    }, this.o.bootMs ?? 4000);
  }

  private keepAwake(): void {
    this.o.clock.clearTimeout(this.idle);
    this.idle = this.o.clock.setTimeout(() => this.sleep(), this.o.idleMs ?? 120_000);
  }

  stop(): void {
    for (const h of [this.booting, this.idle]) this.o.clock.clearTimeout(h);
    this.o.clock.clearInterval(this.demand);
  }
}
