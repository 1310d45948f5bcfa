// The house CA and the hub's TLS certificate. node:crypto can make keys but not X.509
// certificates, so `hearth hub init-tls` runs Debian's `openssl` (in every Debian image, no
// npm dependency; its command line is stable across 1.1 and 3.x): a CA key and a self-signed CA
// certificate (10 years), then a hub key and a certificate the CA signs (about 2 years) with the
// names and addresses devices use to reach the hub as subjectAltName. Devices trust the CA file
// (mqtt.tls.ca / caFile in their config); a new hub certificate from the same CA needs no change
// on any device. Keys are written 0600 and never leave the hub.
import { execFile } from 'node:child_process';
import { mkdir, writeFile, chmod, readFile, access } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TlsFiles {
  dir: string;
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

export function tlsFiles(dir: string): TlsFiles {
  return { dir, caCert: join(dir, 'ca.pem'), caKey: join(dir, 'ca.key'), cert: join(dir, 'hub.pem'), key: join(dir, 'hub.key') };
}

const exists = (f: string) =>
  access(f).then(
    () => true,
    () => false,
  );

/**
 * Creates the house CA (unless `dir` already has one: it is reused, so devices keep trusting it)
 * and a fresh hub certificate for `names` (DNS names) and `ips`. Returns the files and the
 * certificate's SHA-256 fingerprint (what `mqtt.tls.pinSha256` takes).
 */
export async function initTls(
  dir: string,
  names: string[],
  ips: string[],
): Promise<TlsFiles & { fingerprint256: string; createdCa: boolean }> {
  if (!names.length && !ips.length) throw new Error('give at least one --name or --ip that devices use to reach the hub');
  for (const n of names) if (!/^[A-Za-z0-9.-]{1,253}$/.test(n)) throw new Error(`--name "${n}" is not a host name`);
  for (const i of ips) if (!/^[0-9.]{7,15}$|^[0-9a-fA-F:]{2,39}$/.test(i)) throw new Error(`--ip "${i}" is not an IP address`);
  const f = tlsFiles(dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const createdCa = !((await exists(f.caCert)) && (await exists(f.caKey)));
  if (createdCa) {
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      f.caKey,
      '-out',
      f.caCert,
      '-days',
      '3650',
      '-subj',
      '/CN=hearth house CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await chmod(f.caKey, 0o600);
  }
  const csr = join(dir, 'hub.csr'),
    ext = join(dir, 'hub.ext');
  await run('openssl', [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    f.key,
    '-out',
    csr,
    '-subj',
    `/CN=${names[0] ?? ips[0]}`,
  ]);
  await chmod(f.key, 0o600);
  const san = [...names.map((n) => `DNS:${n}`), ...ips.map((i) => `IP:${i}`)].join(',');
  await writeFile(
    ext,
    `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`,
  );
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    f.caCert,
    '-CAkey',
    f.caKey,
    '-CAcreateserial',
    '-out',
    f.cert,
    '-days',
    '825',
    '-extfile',
    ext,
  ]);
  const cert = new X509Certificate(await readFile(f.cert));
  return { ...f, fingerprint256: cert.fingerprint256, createdCa };
}
