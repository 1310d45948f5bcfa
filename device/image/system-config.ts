// The OS-level files first boot writes from hearth.json besides the device config: the OS clock
// (chrony) and automatic security updates (unattended-upgrades). The image build writes the same
// files with the defaults (layerRoot), so a card without these sections behaves as documented.
//
// Time: every Pi's OS clock follows the house's time server, chrony on the hub (the broker's host
// unless hearth.json names servers), and a device that serves (the hub) does so with `local
// stratum 10`, so a house without internet and with no RTC on any Pi still agrees on one time.
// The runtime keeps its own house clock against the same server (port 123); the OS clock only
// has to be close, and hearth.service does not wait for it (no time-sync.target).
import type { Provisioning, TimeSettings, UpdateSettings } from '../../protocol/provisioning.ts';

export const CHRONY_CONF = 'etc/chrony/chrony.conf';
export const AUTO_UPGRADES_CONF = 'etc/apt/apt.conf.d/20auto-upgrades';
export const UNATTENDED_CONF = 'etc/apt/apt.conf.d/52hearth-unattended-upgrades';
/** Where a device that serves time and is given no server takes its own time from (with internet). */
export const PUBLIC_POOL = '2.debian.pool.ntp.org';
/** The LAN a serving device answers: private and link-local ranges only. */
export const LAN_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', 'fc00::/7', 'fe80::/10'];

/** The broker URL's host, without IPv6 brackets ('' when the URL has none). */
export function brokerHost(url: string): string {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return '';
  }
}

const isLoopback = (h: string) => h === 'localhost' || h === '::1' || /^127\./.test(h);

export interface TimePlan {
  servers: string[];
  pool?: string;
  serve: boolean;
}

/** Which servers the OS clock follows and whether this device serves time. */
export function timePlan(p: Pick<Provisioning, 'config'> & { time?: TimeSettings }): TimePlan {
  const serve = p.time?.serve ?? p.config.roles.hub !== undefined;
  if (p.time?.servers?.length) return { servers: [...p.time.servers], serve };
  // The runtime's house clock reference (config.clock.server, default the broker's host) is the
  // OS clock's too: one reference for the house.
  const clock = (p.config as { clock?: { server?: string; port?: number } }).clock;
  if (clock?.server && !isLoopback(clock.server))
    return { servers: [clock.port && clock.port !== 123 ? `${clock.server} port ${clock.port}` : clock.server], serve };
  const broker = brokerHost(p.config.mqtt.url);
  // The hub's own broker is on this device: following itself is no time at all.
  if (broker && !isLoopback(broker) && !serve) return { servers: [broker], serve };
  return { servers: [], pool: PUBLIC_POOL, serve };
}

export function chronyConf(plan: TimePlan): string {
  const lines = ['# written by hearth firstboot from hearth.json ("time"); see /opt/hearth/README.md'];
  // LAN servers: polled every 16–64 s, so the OS clock stays within a millisecond or so.
  for (const s of plan.servers) lines.push(`server ${s} iburst minpoll 4 maxpoll 6`);
  if (plan.pool) lines.push(`pool ${plan.pool} iburst`);
  lines.push(
    'driftfile /var/lib/chrony/chrony.drift',
    // A Pi has no RTC and boots with a stale clock; step whenever it is more than 1 s off (hearth
    // plays on its own house clock, which an OS clock step does not move).
    'makestep 1 -1',
    'logdir /var/log/chrony',
  );
  if (plan.serve) {
    lines.push(
      '# serve the house: with no upstream reachable, this clock is the reference (stratum 10)',
      'local stratum 10',
      ...LAN_RANGES.map((r) => `allow ${r}`),
    );
  }
  return lines.join('\n') + '\n';
}

/** 20auto-upgrades: the daily apt timers update the lists and run unattended-upgrade (or not). */
export function autoUpgradesConf(u: UpdateSettings | undefined): string {
  const on = u?.security ?? true;
  return [
    '// written by hearth firstboot from hearth.json ("updates")',
    `APT::Periodic::Update-Package-Lists "${on ? 1 : 0}";`,
    `APT::Periodic::Unattended-Upgrade "${on ? 1 : 0}";`,
    '',
  ].join('\n');
}

/** unattended-upgrades: the -security suite only; a reboot only at the window hearth.json allows. */
export function unattendedConf(u: UpdateSettings | undefined): string {
  const lines = [
    '// written by hearth firstboot from hearth.json ("updates"); read after Debian\'s 50unattended-upgrades',
    '#clear Unattended-Upgrade::Origins-Pattern;',
    'Unattended-Upgrade::Origins-Pattern { "origin=Debian,codename=${distro_codename}-security,label=Debian-Security"; };',
    // A headless device cannot answer a configuration-file question: keep the device's files.
    'Dpkg::Options { "--force-confdef"; "--force-confold"; };',
    'Unattended-Upgrade::Remove-Unused-Kernel-Packages "true";',
  ];
  if (u?.rebootAt) {
    lines.push(
      'Unattended-Upgrade::Automatic-Reboot "true";',
      'Unattended-Upgrade::Automatic-Reboot-WithUsers "true";',
      `Unattended-Upgrade::Automatic-Reboot-Time "${u.rebootAt}";`,
    );
  } else {
    lines.push('Unattended-Upgrade::Automatic-Reboot "false";');
  }
  return lines.join('\n') + '\n';
}
