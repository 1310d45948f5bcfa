// Role name → factory, loaded lazily so a device pays only for the roles it runs (and so native
// audio modules are not even loaded on a tuner-only device).
import type { AnyRoleFactory } from './role.ts';

export const ROLE_LOADERS: Record<string, () => Promise<AnyRoleFactory>> = {
  hub: async () => (await import('../hub/role.ts')).createHubRole,
  waker: async () => (await import('../waker/role.ts')).createWakerRole,
  tuner: async () => (await import('../tuner/role.ts')).createTunerRole,
  player: async () => (await import('../audio/player/role.ts')).createPlayerRole,
  source: async () => (await import('../audio/source/role.ts')).createSourceRole,
};
