export * from './version.ts';
export * from './kit.ts';
export * from './envelope.ts';
export * from './validate.ts';
export * from './topics.ts';
export * from './role-spec.ts';
export * from './config.ts';
export * from './messages.ts';
export { ROLE_SPECS, roleSpec } from './roles/index.ts';
