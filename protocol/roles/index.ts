// Every role's protocol spec, in the order the reference lists them. A role is added here once.
import type { RoleSpec } from '../role-spec.ts';
import { hubSpec } from './hub.ts';
import { wakerSpec } from './waker.ts';

export const ROLE_SPECS: readonly RoleSpec[] = [hubSpec, wakerSpec];

export function roleSpec(name: string): RoleSpec | undefined {
  return ROLE_SPECS.find((s) => s.name === name);
}
