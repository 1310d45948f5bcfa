// The shape of a role. A role's factory only stores its deps; `start()` does the work, `stop()`
// undoes it and is safe to call twice; after every `await` a role checks whether it was stopped.
// The supervisor owns start/apply/stop and wraps each in its own try/catch, so a role that throws
// is isolated, reported and restarted with backoff while the rest of the device runs on.
import type { Clock } from './clock.ts';
import type { Logger } from './log.ts';
import type {
  Reply,
  StreamAnnouncement,
  RoleSpec,
  RoleConfigOf,
  RoleStateOf,
  CommandHandlers,
  EventType,
  EventData,
} from '../../protocol/index.ts';
import type { HalOverrides } from './hal-overrides.ts';

export interface DeviceIdentity {
  id: string;
  /** The base topic ("hearth" unless configured). */
  baseTopic: string;
  /** Directory for this device's persistent state (config, credentials, caches). */
  stateDir: string;
  /** The Home Assistant discovery prefix this device is configured with (the hub's ACL follows it). */
  haPrefix?: string;
}

/**
 * What a role may do on MQTT, typed from its protocol spec S (its state, its event types and their
 * data). Topics are built by protocol/topics.ts behind these calls.
 */
export interface RoleLink<S extends RoleSpec = RoleSpec> {
  /** Publishes the role's own state (retained, wrapped in the supervisor's state envelope). */
  publishState(detail: RoleStateOf<S>): void;
  /** Publishes an event on hearth/<id>/event/<role>; `message` is one readable line (also logged). */
  publishEvent<K extends EventType<S>>(type: K, message: string, data?: EventData<S, K>): void;
  /** Announces (retained) or withdraws (null) one of this device's streams. */
  publishStream(stream: string, announcement: StreamAnnouncement | null): void;
  /** Follows every device's stream announcements; returns an unsubscribe function. */
  watchStreams(handler: (device: string, stream: string, announcement: StreamAnnouncement | null) => void): () => void;
  /** Sends a command to any device (itself included) and resolves with its reply (ok or not). */
  sendCommand(device: string, role: string, action: string, args: Record<string, unknown>, timeoutMs?: number): Promise<Reply>;
  /** True while connected to the broker. */
  readonly connected: boolean;
}

export interface RoleDeps<S extends RoleSpec = RoleSpec> {
  device: DeviceIdentity;
  /** This role's validated config slice (its spec's checks passed too). */
  config: RoleConfigOf<S>;
  clock: Clock;
  log: Logger;
  link: RoleLink<S>;
  /** Adapters injected by tests or the house-in-a-box (simulated hardware); empty in production. */
  hal: HalOverrides;
  /**
   * Call when the role can no longer do its work (a socket died, a device vanished for good):
   * the supervisor stops this instance, reports the failure and starts a new one with backoff.
   */
  fail(error: Error): void;
}

export interface Role<C = unknown> {
  start(): Promise<void>;
  /**
   * Takes a new config slice while running. Return 'applied' when done in place, or 'restart' to
   * have the supervisor stop this instance and start a fresh one with the new slice. Throwing
   * rejects the new config (the device keeps the last good one).
   */
  apply(config: C): Promise<'applied' | 'restart'>;
  stop(): Promise<void>;
  /**
   * One handler per command of the role's spec, looked up by name for `cmd/<role>/<action>` and
   * called with the arguments already validated against the spec. Resolve with the result; throw a
   * ProtocolError ('busy', 'failed', …) to refuse.
   */
  readonly commands: CommandMap;
  /** Counters and gauges for the periodic telemetry message. */
  telemetry?(): Record<string, number>;
}

/** The erased command map the runtime dispatches on (a typed role has CommandHandlers<S>). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- method bivariance: each handler takes its own validated args
export type CommandMap = { readonly [action: string]: { bivarianceHack(args: any): Promise<unknown> }['bivarianceHack'] };

/** A role typed from its spec: its config slice, and exactly the commands the spec names. */
export interface RoleOf<S extends RoleSpec> extends Role<RoleConfigOf<S>> {
  readonly commands: CommandHandlers<S>;
}

export type RoleFactory<S extends RoleSpec = RoleSpec> = (deps: RoleDeps<S>) => RoleOf<S>;

/** Any role's factory, as the supervisor holds it (it knows no role's types). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- erased: the supervisor passes each role its own validated slice
export type AnyRoleFactory = (deps: RoleDeps<any>) => Role<any>;
