// Requester lists live beside the waker's config schema (the config checks use it).
export * from '../../protocol/roles/waker-requesters.ts';
