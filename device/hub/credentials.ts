// The hub's logins: one per device (device rights: only its own topics) and controllers (all
// topics). Passwords are stored as scrypt hashes; a new password is shown once, when created.
import { readFile } from 'node:fs/promises';
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { writeFileAtomic } from '../core/atomic-file.ts';
import { Type, Obj, check, type Static } from '../../protocol/index.ts';
import { RESERVED_LOGINS } from '../../protocol/topic-match.ts';
import { parseStrictJson } from '../../protocol/json.ts';

const scrypt = promisify(scryptCb) as (
  pw: string | Buffer,
  salt: Buffer,
  len: number,
  opts: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

export const Login = Obj({
  hash: Type.String({ description: 'scrypt$N$r$p$salt(base64)$key(base64)' }),
  rights: Type.Union([Type.Literal('device'), Type.Literal('controller')]),
  grants: Type.Optional(
    Obj({
      publish: Type.Optional(Type.Array(Type.String(), { description: 'extra topic filters this login may publish to' })),
      subscribe: Type.Optional(Type.Array(Type.String(), { description: 'extra topic filters this login may subscribe to' })),
    }),
  ),
});
export type Login = Static<typeof Login>;
export const CredentialsFile = Obj({ logins: Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }), Login) });
export type CredentialsFile = Static<typeof CredentialsFile>;

// N=2^14 keeps a Pi 3 login under ~100 ms while making offline guessing expensive.
const PARAMS = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, 32, PARAMS);
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string | Buffer, hash: string): Promise<boolean> {
  const parts = hash.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, key] = parts as [string, string, string, string, string, string];
  const want = Buffer.from(key, 'base64');
  const got = await scrypt(password, Buffer.from(salt, 'base64'), want.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: PARAMS.maxmem,
  });
  return got.length === want.length && timingSafeEqual(got, want);
}

/** A new random password: 24 characters from a URL-safe alphabet (~143 bits). */
export function newPassword(): string {
  return randomBytes(18).toString('base64url');
}

export async function readCredentials(file: string): Promise<CredentialsFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { logins: {} };
    throw e;
  }
  let raw: unknown;
  try {
    raw = parseStrictJson(text, { what: `credentials file ${file}` });
  } catch (e) {
    throw new Error((e as Error).message);
  }
  const r = check(CredentialsFile, raw);
  if (!r.ok) throw new Error(`credentials file ${file} is invalid: ${r.errors.map((x) => `${x.path} ${x.message}`).join('; ')}`);
  return r.value;
}

export async function writeCredentials(file: string, creds: CredentialsFile): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(creds, null, 2) + '\n', 0o600);
}

/** Adds or replaces a login and returns its new password (shown once, never stored in clear). */
export async function addLogin(file: string, user: string, rights: Login['rights'] = 'device', grants?: Login['grants']): Promise<string> {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(user)) throw new Error(`login "${user}" must be 1–64 letters, digits, "-" or "_"`);
  if (rights === 'device' && RESERVED_LOGINS.includes(user))
    throw new Error(`login "${user}" is reserved: hearth/${user}/ holds every device's stream announcements; choose another device id`);
  const creds = await readCredentials(file);
  const password = newPassword();
  creds.logins[user] = { hash: await hashPassword(password), rights, ...(grants ? { grants } : {}) };
  await writeCredentials(file, creds);
  return password;
}

export async function removeLogin(file: string, user: string): Promise<boolean> {
  const creds = await readCredentials(file);
  if (!creds.logins[user]) return false;
  delete creds.logins[user];
  await writeCredentials(file, creds);
  return true;
}
