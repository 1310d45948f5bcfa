// What protocol/ knows about a role: its config slice, its commands (arguments and result), its
// retained state and its events. The runtime validates against these; the README reference is
// generated from them.
import type { TSchema, TObject } from '@sinclair/typebox';
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

export interface RoleSpec {
  name: string;
  description: string;
  config: TObject;
  /**
   * Checks the schema cannot express (a schema-valid slice in, problems with paths under
   * /roles/<name> out): run wherever a config is validated, so the device and check-config agree.
   */
  problems?: (config: any) => ErrorDetail[];
  commands: Record<string, CommandSpec>;
  state: TSchema;
  event: TSchema;
}

export function defineRole<S extends RoleSpec>(spec: S): S {
  return spec;
}
