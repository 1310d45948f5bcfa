// What the runtime needs of its MQTT link. MqttLink (mqtt-link.ts) is the real one; a test hands the
// runtime a fake (test/helpers/fake-link.ts) and drives the whole config/set and command path in
// virtual time, with no broker.
export interface LinkError {
  message: string;
  code?: number | string;
}
export interface ConflictReport {
  streak: number;
  livedMs: number;
  nextTryMs: number;
  message: string;
}

export type MessageHandler = (topic: string, payload: Buffer) => void;

export interface DeviceLink {
  readonly connected: boolean;
  /** The last error the client reported, for broker trials. */
  readonly lastError: LinkError | undefined;
  /** Connections made so far (tests and status). */
  readonly connects: number;
  start(): void;
  stop(): Promise<void>;
  subscribe(filter: string, handler: MessageHandler): () => void;
  publish(topic: string, payload: string | Buffer, opts?: { retain?: boolean; qos?: 0 | 1 }): void;
  /** Takes over another link's retained messages (re-published on every connect here). */
  adoptRetained(from: DeviceLink): void;
  onConnectionChange(fn: (connected: boolean) => void): () => void;
  onError(fn: (e: LinkError) => void): () => void;
  onConflict(fn: (c: ConflictReport) => void): () => void;
}
