// The provisioning file `hearth.json` on an SD card's boot partition (FAT). A person writes it on
// their PC (or `hearth image provision` / `hearth flash --config` writes it); on first boot the
// device imports it into /var/lib/hearth and rewrites it without secrets, because anyone who holds
// the card can read its FAT. The rewritten file carries `imported`, so it is not imported twice;
// a person who wants to re-provision writes a fresh file (without `imported`).
import { Type, Obj, type Static } from './kit.ts';
import { PROTOCOL_VERSION } from './version.ts';
import { normalizeConfig, redact, secretValues, type DeviceConfig } from './config.ts';
import { ProtocolError, type ErrorDetail } from './envelope.ts';
import { check } from './validate.ts';

/** The file name on the boot partition. */
export const PROVISIONING_FILE = 'hearth.json';

/** An OpenSSH public key line: type, base64 body, optional comment; one line. */
export const SshPublicKey = Type.String({
  pattern:
    '^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\\.com|sk-ecdsa-sha2-nistp256@openssh\\.com) [A-Za-z0-9+/]+={0,3}( [^\\r\\n]*)?$',
  maxLength: 16384,
  description: 'an OpenSSH public key line (e.g. the content of ~/.ssh/id_ed25519.pub)',
});

export const WifiSettings = Obj(
  {
    ssid: Type.String({
      minLength: 1,
      maxLength: 32,
      pattern: '^[^\\r\\n"]+$',
      description: 'network name (1–32 characters, no quotes or line breaks)',
    }),
    psk: Type.Optional(
      Type.String({
        pattern: '^([\\x20-\\x7e]{8,63}|[0-9A-Fa-f]{64})$',
        description:
          'secret: WPA passphrase (8–63 printable ASCII characters) or the 64-hex-digit PSK; required to import, removed from the card after import',
      }),
    ),
    country: Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166 country code for the radio regulations, e.g. "DE"' }),
  },
  { description: 'Wi-Fi (WPA2/WPA3-personal) for the onboard radio; leave out on a wired device' },
);
export type WifiSettings = Static<typeof WifiSettings>;

/** A host name or an IP address (v4 or v6), as chrony's `server` takes it. */
const HostOrAddress = Type.String({ pattern: '^[A-Za-z0-9]([A-Za-z0-9.:-]{0,251}[A-Za-z0-9])?$', description: 'host name or IP address' });

export const TimeSettings = Obj(
  {
    servers: Type.Optional(
      Type.Array(HostOrAddress, {
        minItems: 1,
        maxItems: 8,
        description:
          "NTP servers the OS clock follows (chrony); default: the MQTT broker's host, or Debian's public pool on a device that serves time",
      }),
    ),
    serve: Type.Optional(
      Type.Boolean({
        description:
          'serve time to the LAN (chrony `local stratum 10` + `allow` the private ranges), so the house agrees without internet; default: true on a device that runs the hub role',
      }),
    ),
  },
  { description: "the OS clock: chrony, set up on first boot; every Pi follows the house's time server (the hub)" },
);
export type TimeSettings = Static<typeof TimeSettings>;

export const UpdateSettings = Obj(
  {
    security: Type.Optional(
      Type.Boolean({ description: 'install security updates automatically (unattended-upgrades, the -security suite only); default true' }),
    ),
    rebootAt: Type.Optional(
      Type.String({
        pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$',
        description:
          'the reboot window: when an update needs a reboot, reboot at this time of day (HH:MM, local time); leave out to never reboot by itself',
      }),
    ),
  },
  { description: 'automatic security updates' },
);
export type UpdateSettings = Static<typeof UpdateSettings>;

export const Provisioning = Obj(
  {
    v: Type.Literal(PROTOCOL_VERSION, { description: 'provisioning file format version' }),
    config: Type.Unknown({ description: 'the device config (format 1 or 2, see the config reference)' }),
    hostname: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$',
        description: 'host name (default: the device id, lowercase, "_" as "-")',
      }),
    ),
    ssh: Type.Optional(
      Obj({
        authorizedKeys: Type.Array(SshPublicKey, {
          minItems: 1,
          maxItems: 32,
          description: 'keys allowed to log in as root; SSH takes no password',
        }),
      }),
    ),
    wifi: Type.Optional(WifiSettings),
    time: Type.Optional(TimeSettings),
    updates: Type.Optional(UpdateSettings),
    imported: Type.Optional(
      Obj(
        {
          at: Type.String({ description: 'ISO time the device imported this file' }),
          revision: Type.Integer({ minimum: 0, description: 'config revision the import saved' }),
        },
        { description: 'set by the device after import; a file carrying it is not imported again' },
      ),
    ),
  },
  { description: 'hearth.json on the boot partition: what a device needs to join its house on first boot' },
);
type ProvisioningRaw = Static<typeof Provisioning>;
export interface Provisioning extends Omit<ProvisioningRaw, 'config'> {
  config: DeviceConfig;
}

/**
 * Validates a provisioning file's parsed JSON, the embedded config included (format 1 configs are
 * upgraded). Every error of the file comes out in one pass — its own fields, Wi-Fi, SSH and the
 * device config together (config errors under /config/...) — because on a Pi each try is a reboot.
 * Throws a ProtocolError('invalid') whose details carry every error with its path.
 */
export function parseProvisioning(input: unknown): Provisioning {
  const details: ErrorDetail[] = [];
  const r = check(Provisioning, input);
  if (!r.ok) details.push(...r.errors);
  const obj = input && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : undefined;
  const wifi = obj?.wifi && typeof obj.wifi === 'object' ? (obj.wifi as Record<string, unknown>) : undefined;
  if (wifi && wifi.psk === undefined && obj?.imported === undefined) details.push({ path: '/wifi/psk', message: 'is required' });
  if (wifi && typeof wifi.ssid === 'string' && wifi.ssid.length <= 32 && Buffer.byteLength(wifi.ssid, 'utf8') > 32) {
    details.push({ path: '/wifi/ssid', message: 'must be at most 32 bytes (UTF-8)' });
  }
  let config: DeviceConfig | undefined;
  if (obj && 'config' in obj) {
    try {
      config = normalizeConfig(obj.config);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      details.push(...(e.details ?? [{ path: '', message: e.message }]).map((d) => ({ path: `/config${d.path}`, message: d.message })));
    }
  }
  if (details.length || !config) {
    throw new ProtocolError(
      'invalid',
      `${PROVISIONING_FILE} is invalid: ${details.map((d) => `${d.path || '/'} ${d.message}`).join('; ')}`,
      details,
    );
  }
  return { ...(input as ProvisioningRaw), config } as Provisioning;
}

/**
 * Every secret a provisioning file carries (the broker password and any other secret-named field,
 * the Wi-Fi passphrase), as the strings to search for on the card: each as written and, where
 * JSON escapes it, as escaped.
 */
export function provisioningSecrets(input: unknown): string[] {
  const out = new Set<string>();
  for (const s of secretValues(input)) {
    if (s.length < 3) continue; // too short to tell apart from other bytes; nothing to search for
    out.add(s);
    out.add(JSON.stringify(s).slice(1, -1));
  }
  return [...out];
}

/** The host name a device takes: the file's, else its id made a valid host name. */
export function hostnameFor(p: Pick<Provisioning, 'hostname' | 'config'>): string {
  if (p.hostname) return p.hostname.toLowerCase();
  const h = p.config.id
    .toLowerCase()
    .replace(/_/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return h || 'hearth';
}

/**
 * What stays on the FAT after import: secrets replaced by "***" (broker password and every other
 * secret-named config field), the Wi-Fi PSK removed, and the import marker set. SSH public keys
 * are not secret and stay, so a person can see which key the card was provisioned with.
 */
export function scrubbedProvisioning(p: Provisioning, imported: { at: string; revision: number }): Record<string, unknown> {
  const out: Record<string, unknown> = { v: p.v, config: redact(p.config) };
  if (p.hostname !== undefined) out.hostname = p.hostname;
  if (p.ssh) out.ssh = p.ssh;
  if (p.wifi) out.wifi = { ssid: p.wifi.ssid, country: p.wifi.country };
  if (p.time) out.time = p.time;
  if (p.updates) out.updates = p.updates;
  out.imported = imported;
  return out;
}
