// Requests from this device to any device (itself included) and their replies: one subscription
// per target's reply topic, each request waiting for the reply with its id or a timeout.
import { PROTOCOL_VERSION, type Reply, type Topics } from '../../protocol/index.ts';
import type { Clock } from './clock.ts';
import type { DeviceLink } from './device-link.ts';

export class CommandClient {
  private seq = 0;
  private readonly pending = new Map<string, (r: Reply) => void>();
  private readonly replySubs = new Map<string, () => void>();

  constructor(private readonly d: { id: string; topics: Topics; clock: Clock; link(): DeviceLink }) {}

  private watch(device: string): void {
    if (this.replySubs.has(device)) return;
    this.replySubs.set(
      device,
      this.d.link().subscribe(this.d.topics.reply(device), (_topic, payload) => {
        let r: Reply;
        try {
          r = JSON.parse(payload.toString()) as Reply;
        } catch {
          return;
        } // not ours
        const w = typeof r?.id === 'string' ? this.pending.get(r.id) : undefined;
        if (w) {
          this.pending.delete(r.id);
          w(r);
        }
      }),
    );
  }

  /** Re-subscribes every reply topic on a new link (after a broker switch). */
  rewire(): void {
    const devices = [...this.replySubs.keys()];
    this.replySubs.clear();
    for (const device of devices) this.watch(device);
  }

  send(device: string, role: string, action: string, args: Record<string, unknown>, timeoutMs = 5000): Promise<Reply> {
    const { clock, id, topics } = this.d;
    this.watch(device);
    const reqId = `${id}-${++this.seq}-${Math.random().toString(36).slice(2, 8)}`;
    return new Promise<Reply>((resolve) => {
      const timer = clock.setTimeout(() => {
        this.pending.delete(reqId);
        resolve({
          v: PROTOCOL_VERSION,
          id: reqId,
          ok: false,
          error: { code: 'timeout', message: `${device} did not answer ${role}/${action} within ${timeoutMs} ms` },
        });
      }, timeoutMs);
      this.pending.set(reqId, (r) => {
        clock.clearTimeout(timer);
        resolve(r);
      });
      this.d.link().publish(topics.cmd(device, role, action), JSON.stringify({ v: PROTOCOL_VERSION, id: reqId, ...args }), { qos: 1 });
    });
  }
}
