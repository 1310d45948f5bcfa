// The composition root: which roles this program has. Each is its protocol spec (protocol/roles/)
// and a loader of its factory, loaded lazily so a device pays only for the roles it runs (native
// audio modules are not even loaded on a tuner-only device). The runtime (device/core) is handed
// this set and names no role itself; adding a role adds one line here.
import { ROLE_SPECS } from '../../protocol/index.ts';
import type { RoleSet } from '../core/runtime.ts';

export const BUILT_IN_ROLES: RoleSet = {
  specs: ROLE_SPECS,
  loaders: {
    hub: async () => (await import('../hub/role.ts')).createHubRole,
    waker: async () => (await import('../waker/role.ts')).createWakerRole,
    tuner: async () => (await import('../tuner/role.ts')).createTunerRole,
    player: async () => (await import('../audio/player/role.ts')).createPlayerRole,
    source: async () => (await import('../audio/source/role.ts')).createSourceRole,
  },
};
