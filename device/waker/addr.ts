// MAC/IP parsing lives beside the waker's config schema (the config checks use it).
export * from '../../protocol/roles/waker-addr.ts';
