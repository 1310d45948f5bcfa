// What protocol/ knows about a role: its config slice, its commands (arguments and result), its
// retained state and its events. The runtime validates against these; the README reference is
// generated from them.
import type { TSchema, TObject } from '@sinclair/typebox';

export interface CommandSpec {
  description: string;
  /** Arguments beyond the envelope's `v` and `id`; a closed object. */
  args: TObject;
  result?: TSchema;
}

export interface RoleSpec {
  name: string;
  description: string;
  config: TObject;
  commands: Record<string, CommandSpec>;
  state: TSchema;
  event: TSchema;
}

export function defineRole<S extends RoleSpec>(spec: S): S {
  return spec;
}
