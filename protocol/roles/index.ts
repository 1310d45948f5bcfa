// Every role's protocol spec, in the order the reference lists them. A role is added here once.
import type { RoleSpec } from '../role-spec.ts';
import { hubSpec } from './hub.ts';
import { wakerSpec } from './waker.ts';
import { playerSpec } from './player.ts';
import { sourceSpec } from './source.ts';
import { tunerSpec } from './tuner.ts';

export const ROLE_SPECS: readonly RoleSpec[] = [hubSpec, wakerSpec, playerSpec, sourceSpec, tunerSpec];

export function roleSpec(name: string): RoleSpec | undefined {
  return ROLE_SPECS.find((s) => s.name === name);
}
