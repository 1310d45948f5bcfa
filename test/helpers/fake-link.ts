// A DeviceLink with no broker: publishes are recorded, a test delivers messages to the
// subscriptions as a broker would (topic filters matched by protocol/topic-match.ts), and the
// connection state is set by the test. For driving the runtime's request paths in virtual time.
import type { DeviceLink, MessageHandler, LinkError, ConflictReport } from '../../device/core/device-link.ts';
import { topicMatches } from '../../protocol/topic-match.ts';

export class FakeLink implements DeviceLink {
  readonly published: Array<{ topic: string; payload: string; retain: boolean }> = [];
  private readonly subs = new Set<{ filter: string; handler: MessageHandler }>();
  private up = false;
  lastError: LinkError | undefined;
  connects = 0;
  started = false;
  stopped = false;

  get connected(): boolean {
    return this.up;
  }
  start(): void {
    this.started = true;
    this.up = true;
    this.connects++;
  }
  async stop(): Promise<void> {
    this.stopped = true;
    this.up = false;
  }
  subscribe(filter: string, handler: MessageHandler): () => void {
    const s = { filter, handler };
    this.subs.add(s);
    return () => this.subs.delete(s);
  }
  publish(topic: string, payload: string | Buffer, opts: { retain?: boolean } = {}): void {
    this.published.push({ topic, payload: payload.toString(), retain: opts.retain ?? false });
  }
  adoptRetained(): void {}
  onConnectionChange(): () => void {
    return () => {};
  }
  onError(_fn: (e: LinkError) => void): () => void {
    return () => {};
  }
  onConflict(_fn: (c: ConflictReport) => void): () => void {
    return () => {};
  }

  /** Delivers a message to every matching subscription, as the broker would. */
  deliver(topic: string, payload: string | object): void {
    const buf = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
    for (const s of [...this.subs]) if (topicMatches(s.filter, topic)) s.handler(topic, buf);
  }

  /** JSON payloads published on `topic`, oldest first. */
  on(topic: string): unknown[] {
    return this.published.filter((p) => p.topic === topic && p.payload !== '').map((p) => JSON.parse(p.payload) as unknown);
  }
}
