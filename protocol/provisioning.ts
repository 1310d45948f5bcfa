// The provisioning file `hearth.json` on an SD card's boot partition (FAT). A person writes it on
// their PC (or `hearth image provision` / `hearth flash --config` writes it); on first boot the
// device imports it into /var/lib/hearth and rewrites it without secrets, because anyone who holds
// the card can read its FAT. The rewritten file carries `imported`, so it is not imported twice;
// a person who wants to re-provision writes a fresh file (without `imported`).
import { Type, Obj, type Static } from './kit.ts';
import { PROTOCOL_VERSION } from './version.ts';
import { normalizeConfig, redact, type DeviceConfig } from './config.ts';
import { ProtocolError, type ErrorDetail } from './envelope.ts';
import { assertValid } from './validate.ts';

/** The file name on the boot partition. */
export const PROVISIONING_FILE = 'hearth.json';

/** An OpenSSH public key line: type, base64 body, optional comment; one line. */
export const SshPublicKey = Type.String({
  pattern: '^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\\.com|sk-ecdsa-sha2-nistp256@openssh\\.com) [A-Za-z0-9+/]+={0,3}( [^\\r\\n]*)?$',
  maxLength: 16384,
  description: 'an OpenSSH public key line (e.g. the content of ~/.ssh/id_ed25519.pub)',
});

export const WifiSettings = Obj(
  {
    ssid: Type.String({ minLength: 1, maxLength: 32, pattern: '^[^\\r\\n"]+$', description: 'network name (1–32 characters, no quotes or line breaks)' }),
    psk: Type.Optional(Type.String({
      pattern: '^([\\x20-\\x7e]{8,63}|[0-9A-Fa-f]{64})$',
      description: 'secret: WPA passphrase (8–63 printable ASCII characters) or the 64-hex-digit PSK; required to import, removed from the card after import',
    })),
    country: Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166 country code for the radio regulations, e.g. "DE"' }),
  },
  { description: 'Wi-Fi (WPA2/WPA3-personal) for the onboard radio; leave out on a wired device' },
);
export type WifiSettings = Static<typeof WifiSettings>;

export const Provisioning = Obj(
  {
    v: Type.Literal(PROTOCOL_VERSION, { description: 'provisioning file format version' }),
    config: Type.Unknown({ description: 'the device config (format 1 or 2, see the config reference)' }),
    hostname: Type.Optional(
      Type.String({ pattern: '^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$', description: 'host name (default: the device id, lowercase, "_" as "-")' }),
    ),
    ssh: Type.Optional(
      Obj({ authorizedKeys: Type.Array(SshPublicKey, { minItems: 1, maxItems: 32, description: 'keys allowed to log in as root; SSH takes no password' }) }),
    ),
    wifi: Type.Optional(WifiSettings),
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
 * upgraded). Throws a ProtocolError('invalid') whose details carry every error with its path
 * (config errors under /config/...).
 */
export function parseProvisioning(input: unknown): Provisioning {
  const raw = assertValid(Provisioning, input, PROVISIONING_FILE);
  if (raw.wifi && raw.wifi.psk === undefined && !raw.imported) {
    throw new ProtocolError('invalid', `${PROVISIONING_FILE} is invalid: /wifi/psk is required`, [{ path: '/wifi/psk', message: 'is required' }]);
  }
  if (raw.wifi && Buffer.byteLength(raw.wifi.ssid, 'utf8') > 32) {
    throw new ProtocolError('invalid', `${PROVISIONING_FILE} is invalid: /wifi/ssid is longer than 32 bytes`, [{ path: '/wifi/ssid', message: 'must be at most 32 bytes (UTF-8)' }]);
  }
  let config: DeviceConfig;
  try {
    config = normalizeConfig(raw.config);
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    const details: ErrorDetail[] = (e.details ?? [{ path: '', message: e.message }]).map((d) => ({ path: `/config${d.path}`, message: d.message }));
    throw new ProtocolError(e.code, `${PROVISIONING_FILE} is invalid: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}`, details);
  }
  return { ...raw, config } as Provisioning;
}

/** The host name a device takes: the file's, else its id made a valid host name. */
export function hostnameFor(p: Pick<Provisioning, 'hostname' | 'config'>): string {
  if (p.hostname) return p.hostname.toLowerCase();
  const h = p.config.id.toLowerCase().replace(/_/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
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
  out.imported = imported;
  return out;
}
