// Protocol versions. Every message carries `v`. A device accepts its own version and the one
// before (upgrading older payloads on the way in), so a fleet can be upgraded one device at a time.
export const PROTOCOL_VERSION = 2 as const;
export const ACCEPTED_VERSIONS: readonly number[] = [1, 2];
/** Largest MQTT payload any hearth endpoint accepts, in bytes. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
