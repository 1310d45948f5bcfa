// What protocol/ knows about a role: its config slice with its semantic checks and defaults, its
// commands (arguments and result), its retained state, its events (one data schema per event
// type) and how a controller (Home Assistant) presents it. The runtime validates against these,
// `hearth check-config` and any UI run the same checks, and the README reference is generated
// from them. Types for a role's code come from here too (RoleConfigOf, CommandHandlers,
// EventData…), so a role cannot drift from its spec without the type checker saying so.
import type { TSchema, TObject, Static } from '@sinclair/typebox';
import type { ErrorDetail } from './envelope.ts';

export interface CommandSpec {
  description: string;
  /** Arguments beyond the envelope's `v` and `id`; a closed object. */
  args: TObject;
  result?: TSchema;
  /**
   * The longest this command can take before its reply, given the role's config slice (as
   * published, possibly without defaults): controllers wait this long (plus a margin) instead of
   * a fixed timeout. Absent: a quick command.
   */
  maxMs?: (roleConfig: unknown) => number;
}

/** What a role's Home Assistant entities are built from (see homeassistant.ts in device/core). */
export interface HaContext<C = unknown> {
  /** The device id. */
  device: string;
  /** The role's applied config slice. */
  config: C;
  /** Command topic of this role's action on this device (for a component publishing a complete request). */
  commandTopic(action: string): string;
  /**
   * Command topic of an entity taking Home Assistant's plain payloads (`<base>/<id>/cmd/ha/<key>`):
   * the entity's `command` says what a payload runs.
   */
  haCommandTopic(key: string): string;
  /** State topic of this role on this device (the state envelope; the role's detail is `detail`). */
  stateTopic: string;
  /** Event topic of this role on this device. */
  eventTopic: string;
  /** A complete request payload (v, id, args) for a button or a command template. */
  request(action: string, args: Record<string, unknown>): string;
  /** First IPv4 address of the device, when it has one. */
  address?: string;
  /** Streams announced on MQTT ("<device>/<stream>"), e.g. a player's stream options. */
  streams: readonly string[];
}

/** A hearth command a Home Assistant payload runs (role "device" for the device's own commands). */
export interface HaCommand {
  role: string;
  action: string;
  args: Record<string, unknown>;
}

/** One Home Assistant entity (component) a role offers: `key` is unique within the device. */
export interface HaEntity {
  key: string;
  component: Record<string, unknown> & { p: string };
  /** Plain payload on `haCommandTopic(key)` → the commands it runs (in order), or a readable refusal. */
  command?: (payload: string) => HaCommand[] | string;
}

export interface RoleSpec {
  name: string;
  description: string;
  config: TObject;
  /**
   * Rules the schema cannot say (fields that go together, one value below another, defaults taken
   * into account): paths relative to the slice. Run by normalizeConfig, so check-config, config/set
   * and a UI give the same answer.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each spec narrows it to its own slice
  check?(config: any): ErrorDetail[];
  commands: Record<string, CommandSpec>;
  state: TSchema;
  /** Event type → the schema of its `data` (an empty object schema when it carries none). */
  events: Record<string, TObject>;
  /**
   * Start order: lower starts earlier and stops later (default 0). The hub is -1: a device whose
   * own link goes through its embedded broker needs the broker up first and down last.
   */
  order?: number;
  /** The role's Home Assistant entities beyond the generic state sensor every role gets. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each spec narrows it to its own slice
  homeassistant?(ctx: HaContext<any>): HaEntity[];
  /**
   * Extra link in the Home Assistant device page (e.g. the hub's console), from the role's config
   * and the device's address.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each spec narrows it to its own slice
  configurationUrl?(config: any, address: string | undefined): string | undefined;
}

/** Keeps the literal command and event names of a spec in its type. */
export function defineRole<S extends RoleSpec>(spec: S): S {
  return spec;
}

export type RoleConfigOf<S extends RoleSpec> = Static<S['config']>;
export type RoleStateOf<S extends RoleSpec> = Static<S['state']>;
export type CommandArgs<S extends RoleSpec, K extends keyof S['commands']> = Static<S['commands'][K]['args']>;
export type CommandResult<S extends RoleSpec, K extends keyof S['commands']> = S['commands'][K] extends { result: infer R extends TSchema }
  ? Static<R>
  : unknown;
/** One handler per command, named as in the spec, taking the validated arguments. */
export type CommandHandlers<S extends RoleSpec> = {
  [K in keyof S['commands'] & string]: (args: CommandArgs<S, K>) => Promise<CommandResult<S, K>>;
};
export type EventType<S extends RoleSpec> = keyof S['events'] & string;
export type EventData<S extends RoleSpec, K extends EventType<S>> = Static<S['events'][K]>;
