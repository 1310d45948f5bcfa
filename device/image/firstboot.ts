// `hearth firstboot`: imports the boot partition's hearth.json into the device (run as root by
// hearth-firstboot.service before hearth.service and ssh.service, on every boot; a no-op once the
// file is marked imported).
//
// Rules:
// - Everything is validated before anything changes; an invalid file changes nothing and its
//   errors are written beside it as hearth-error.txt, which the person can read on their PC.
// - The steps are idempotent and the file is rewritten last, so a power cut mid-way repeats the
//   import on the next boot instead of half-importing it.
// - The rewritten file keeps no secret (broker password, Wi-Fi PSK): the FAT is readable by anyone
//   holding the card. The Wi-Fi passphrase is stored on the root filesystem as its derived PSK only.
// - Secrets leave the FAT for good, not only the file's text: the file's own clusters are
//   overwritten in place (same clusters, to their end) before the file is replaced, and then every
//   free cluster and file tail of the boot partition that is not zero is zeroed (fat-wipe.ts):
//   FAT only marks a rewritten or deleted file's clusters free, the bytes stay.
import { readFile, writeFile, mkdir, chown, chmod, symlink, lstat, rm, open, rename, statfs } from 'node:fs/promises';
import { pbkdf2Sync } from 'node:crypto';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import {
  parseProvisioning,
  hostnameFor,
  scrubbedProvisioning,
  provisioningSecrets,
  type Provisioning,
} from '../../protocol/provisioning.ts';
import {
  timePlan,
  chronyConf,
  autoUpgradesConf,
  unattendedConf,
  CHRONY_CONF,
  AUTO_UPGRADES_CONF,
  UNATTENDED_CONF,
} from './system-config.ts';
import { wipeFreeClusters } from './fat-wipe.ts';
import { filesystemDevice } from './block-dev.ts';
import { ProtocolError } from '../../protocol/envelope.ts';
import { ConfigStore } from '../core/config-store.ts';
import { writeFileAtomic } from '../core/atomic-file.ts';
import type { Logger } from '../core/log.ts';

/** Changes to the running system (not only to files); tests inject a recorder. */
export interface LiveSystem {
  setHostname(name: string): Promise<void>;
  /** Starts a unit without waiting for it (firstboot itself runs inside the boot transaction). */
  startUnit(unit: string): Promise<void>;
  /**
   * Flushes the whole filesystem holding `path` (syncfs). fsync of a file and its directory is not
   * enough on vfat: the allocation table stays in memory, and a power cut leaves a broken FAT.
   */
  syncFs(path: string): Promise<void>;
  /**
   * Zeroes what the filesystem holding `path` keeps outside its files (free clusters, file tails)
   * when it is FAT; returns a line for the log. Secrets are searched to report what was found.
   */
  wipeFreeSpace(path: string, secrets: string[]): Promise<string>;
}

export const realLiveSystem: LiveSystem = {
  setHostname: (name) => writeFile('/proc/sys/kernel/hostname', name),
  startUnit: (unit) =>
    new Promise((resolve, reject) =>
      execFile('systemctl', ['start', '--no-block', unit], (e, _o, err) =>
        e ? reject(new Error(`systemctl start ${unit}: ${err || e.message}`)) : resolve(),
      ),
    ),
  syncFs: (path) =>
    new Promise((resolve, reject) =>
      execFile('sync', ['-f', path], (e, _o, err) => (e ? reject(new Error(`sync -f ${path}: ${err || e.message}`)) : resolve())),
    ),
  wipeFreeSpace: async (path, secrets) => {
    const fs = await filesystemDevice(path);
    if (!/^(vfat|msdos|fat)$/.test(fs.fstype))
      return `${path} is on ${fs.fstype || 'an unknown filesystem'} (${fs.dev}), not FAT: nothing to wipe`;
    if (!fs.device) throw new Error(`no block device for ${fs.dev} (the filesystem holding ${path})`);
    const r = await wipeFreeClusters(fs.device, secrets);
    const inUse = r.inUseHits.length
      ? `; ${r.inUseHits.length} secret(s) remain inside other files on the partition: delete them by hand`
      : '';
    return `${fs.device}: zeroed ${r.zeroedClusters} of ${r.freeClusters} free clusters (${r.secretClusters} held a secret) and ${r.zeroedSlacks} file tails${inUse}`;
  },
};

export interface FirstbootOptions {
  /** The provisioning file, normally /boot/firmware/hearth.json. */
  file: string;
  /** The runtime's state directory, normally /var/lib/hearth. */
  stateDir: string;
  log: Logger;
  /** Root of the filesystem whose /etc and /root are changed ('/' on a device; a temp dir in tests). */
  root?: string;
  live?: LiveSystem;
  /** The user that owns the state directory (default "hearth"), looked up in <root>/etc/passwd. */
  runtimeUser?: string;
  wall?: () => number;
}

export type FirstbootResult =
  | { outcome: 'no-file' }
  | { outcome: 'already-imported'; at: string }
  | { outcome: 'imported'; revision: number; id: string; hostname: string; sshKeys: number; wifi: boolean };

export class FirstbootError extends Error {
  constructor(
    message: string,
    readonly details: Array<{ path: string; message: string }> = [],
  ) {
    super(message);
    this.name = 'FirstbootError';
  }
}

export const ERROR_FILE = 'hearth-error.txt';

export async function runFirstboot(o: FirstbootOptions): Promise<FirstbootResult> {
  const root = o.root ?? '/';
  const live = o.live ?? realLiveSystem;
  const wall = o.wall ?? Date.now;
  const errorFile = join(dirname(o.file), ERROR_FILE);

  let text: string;
  try {
    text = await readFile(o.file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      o.log.info(`no provisioning file at ${o.file}; nothing to import`);
      return { outcome: 'no-file' };
    }
    throw new FirstbootError(`cannot read ${o.file}: ${(e as Error).message}`);
  }

  // Only spaces: an import whose wipe was cut off after overwriting the file in place (the scrubbed
  // copy waits beside it). Finish it.
  if (text.length > 0 && text.trim() === '') {
    const pending = `${o.file}.new`;
    if (await exists(pending)) {
      await rename(pending, o.file);
      await live.syncFs(o.file);
      o.log.info(`${o.file}: finished an import cut off while its secrets were wiped`);
      return { outcome: 'already-imported', at: 'an interrupted import' };
    }
    o.log.info(`${o.file} is blank; nothing to import`);
    return { outcome: 'no-file' };
  }

  let p: Provisioning;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
    const imported = raw && typeof raw === 'object' ? (raw as { imported?: { at?: unknown } }).imported : undefined;
    if (imported && typeof imported === 'object') {
      o.log.info(`${o.file} was imported at ${String(imported.at)}; nothing to do`);
      return { outcome: 'already-imported', at: String(imported.at) };
    }
    p = parseProvisioning(raw);
  } catch (e) {
    const details =
      e instanceof ProtocolError
        ? (e.details ?? [])
        : [{ path: '', message: e instanceof SyntaxError ? jsonErrorAt(text, e) : (e as Error).message }];
    const lines = details.map((d) => `  ${d.path || '/'}: ${d.message}`).join('\n');
    const message = `${o.file} was not imported; nothing was changed. Fix these and boot again:\n${lines}\n`;
    await writeFile(errorFile, message)
      .then(() => live.syncFs(errorFile))
      .catch(() => {});
    o.log.error(`provisioning file is invalid`, { file: o.file, errors: details });
    throw new FirstbootError(message, details);
  }

  // 1. The device config, through the runtime's own store (atomic, revisioned).
  const store = await ConfigStore.open(o.stateDir, o.log);
  const revision = await store.save(p.config, wall);
  const owner = await lookupUser(root, o.runtimeUser ?? 'hearth');
  if (owner) {
    await chown(o.stateDir, owner.uid, owner.gid);
    await chown(store.file, owner.uid, owner.gid);
  } else o.log.warn(`user ${o.runtimeUser ?? 'hearth'} not found; ${o.stateDir} stays owned by root`);
  o.log.info(`config for device ${p.config.id} imported as revision ${revision}`, { file: store.file });

  // 2. SSH: root may log in with these keys only (sshd takes no password on the image).
  const sshKeys = p.ssh?.authorizedKeys ?? [];
  if (sshKeys.length) {
    const dir = join(root, 'root/.ssh');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    await writeFileAtomic(join(dir, 'authorized_keys'), `# written by hearth firstboot from ${o.file}\n${sshKeys.join('\n')}\n`, 0o600);
    o.log.info(`${sshKeys.length} SSH key(s) installed for root`);
  }

  // 3. Wi-Fi through wpa_supplicant@wlan0 (systemd-networkd does DHCP on wlan0).
  if (p.wifi) {
    await writeFileAtomic(
      join(root, 'etc/wpa_supplicant/wpa_supplicant-wlan0.conf'),
      wpaSupplicantConf(p.wifi.ssid, p.wifi.psk!, p.wifi.country),
      0o600,
    );
    const link = join(root, 'etc/systemd/system/multi-user.target.wants/wpa_supplicant@wlan0.service');
    await mkdir(dirname(link), { recursive: true });
    if (!(await exists(link))) await symlink('/usr/lib/systemd/system/wpa_supplicant@.service', link);
    await live.startUnit('wpa_supplicant@wlan0.service');
    o.log.info(`Wi-Fi "${p.wifi.ssid}" (${p.wifi.country}) configured`);
  }

  // 4. The OS clock (chrony: the house's time server, or serve it) and security updates.
  const plan = timePlan(p);
  await writeFileAtomic(join(root, CHRONY_CONF), chronyConf(plan), 0o644);
  await writeFileAtomic(join(root, AUTO_UPGRADES_CONF), autoUpgradesConf(p.updates), 0o644);
  await writeFileAtomic(join(root, UNATTENDED_CONF), unattendedConf(p.updates), 0o644);
  o.log.info(
    `OS clock follows ${[...plan.servers, ...(plan.pool ? [plan.pool] : [])].join(', ')}${plan.serve ? '; serves the LAN (local stratum 10)' : ''}; security updates ${(p.updates?.security ?? true) ? `on, reboot ${p.updates?.rebootAt ? `at ${p.updates.rebootAt}` : 'never by itself'}` : 'off'}`,
  );

  // 5. Host name: persistent in /etc, and for this boot.
  const hostname = hostnameFor(p);
  await writeFileAtomic(join(root, 'etc/hostname'), `${hostname}\n`, 0o644);
  await writeFileAtomic(
    join(root, 'etc/hosts'),
    hostsFile(await readFile(join(root, 'etc/hosts'), 'utf8').catch(() => ''), hostname),
    0o644,
  );
  await live.setHostname(hostname);
  o.log.info(`host name ${hostname}`);

  // 6. Last: the card's copy loses its secrets and is marked imported. The scrubbed copy is written
  // beside it first; then the file's own clusters are overwritten in place with spaces (to the end
  // of its last cluster, so no tail of an older, longer file survives there either) and flushed,
  // before the rename drops them; then everything else the FAT still holds is zeroed.
  const imported = { at: new Date(wall()).toISOString(), revision };
  const pending = `${o.file}.new`;
  await writeFileDurable(pending, JSON.stringify(scrubbedProvisioning(p, imported), null, 2) + '\n');
  await overwriteInPlace(o.file);
  await live.syncFs(o.file);
  await rename(pending, o.file);
  await rm(errorFile, { force: true });
  await live.syncFs(o.file);
  o.log.info(`${o.file} rewritten without secrets`);
  o.log.info(`wipe: ${await live.wipeFreeSpace(o.file, provisioningSecrets(raw))}`);
  return { outcome: 'imported', revision, id: p.config.id, hostname, sshKeys: sshKeys.length, wifi: !!p.wifi };
}

/**
 * Where the JSON breaks, as line and column: never the parser's own message, which in newer V8
 * quotes the text around the error (a secret, perhaps) into hearth-error.txt on the FAT.
 */
function jsonErrorAt(text: string, e: SyntaxError): string {
  const pos = /position (\d+)/.exec(e.message);
  if (!pos) return 'is not valid JSON';
  const before = text.slice(0, Number(pos[1]));
  const line = before.split('\n').length;
  return `is not valid JSON (line ${line}, column ${before.length - before.lastIndexOf('\n')})`;
}

/** Overwrites a file's bytes with spaces where they are (same clusters), to the end of its last block. */
async function overwriteInPlace(file: string): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const { size } = await fh.stat();
    // statfs's block size on vfat is the cluster size.
    const block = Math.max(512, Number((await statfs(file)).bsize) || 512);
    const len = Math.max(size, Math.ceil(size / block) * block);
    const filler = Buffer.alloc(len, 0x20);
    let off = 0;
    while (off < len) off += (await fh.write(filler, off, len - off, off)).bytesWritten;
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function writeFileDurable(file: string, text: string): Promise<void> {
  const fh = await open(file, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** wpa_supplicant config: the SSID as hex (no quoting issues) and the PSK derived, never the passphrase. */
export function wpaSupplicantConf(ssid: string, psk: string, country: string): string {
  const hexSsid = Buffer.from(ssid, 'utf8').toString('hex');
  const key = /^[0-9A-Fa-f]{64}$/.test(psk)
    ? psk.toLowerCase()
    : pbkdf2Sync(psk, Buffer.from(ssid, 'utf8'), 4096, 32, 'sha1').toString('hex');
  return [
    '# written by hearth firstboot; the passphrase is stored as its derived PSK only',
    'ctrl_interface=DIR=/run/wpa_supplicant GROUP=netdev',
    'update_config=0',
    `country=${country}`,
    '',
    'network={',
    `\tssid=${hexSsid}`,
    `\tpsk=${key}`,
    '\tkey_mgmt=WPA-PSK WPA-PSK-SHA256 SAE',
    '\tieee80211w=1',
    '}',
    '',
  ].join('\n');
}

/** /etc/hosts with the 127.0.1.1 line naming this host (Debian's convention), the rest kept. */
export function hostsFile(current: string, hostname: string): string {
  const lines = current.split('\n').filter((l) => l !== '' && !/^127\.0\.1\.1\s/.test(l));
  if (!lines.some((l) => /^127\.0\.0\.1\s/.test(l))) lines.unshift('127.0.0.1\tlocalhost');
  const at = lines.findIndex((l) => /^127\.0\.0\.1\s/.test(l)) + 1;
  lines.splice(at, 0, `127.0.1.1\t${hostname}`);
  return lines.join('\n') + '\n';
}

async function lookupUser(root: string, name: string): Promise<{ uid: number; gid: number } | undefined> {
  const passwd = await readFile(join(root, 'etc/passwd'), 'utf8').catch(() => '');
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  return undefined;
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}
