// Facts about the machine for `info` and `telemetry`: board model, addresses, boot time, SoC
// temperature, CPU use of this process. Reads /proc and /sys where they exist and degrades to
// "generic"/absent elsewhere.
import { readFileSync, readdirSync } from 'node:fs';
import { hostname, networkInterfaces, uptime, loadavg } from 'node:os';

export function boardModel(): string {
  try {
    return readFileSync('/proc/device-tree/model', 'utf8').replace(/\0/g, '').trim() || 'generic';
  } catch {
    return 'generic';
  }
}

export function ipv4Addresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) out.push(a.address);
  return out;
}

export function bootTimeIso(wallNow = Date.now()): string {
  return new Date(wallNow - uptime() * 1000).toISOString();
}

/** SoC temperature in °C from the first thermal zone that reads, or undefined. */
export function socTemperatureC(root = '/sys/class/thermal'): number | undefined {
  let zones: string[];
  try {
    zones = readdirSync(root)
      .filter((z) => z.startsWith('thermal_zone'))
      .sort();
  } catch {
    return undefined;
  }
  for (const z of zones) {
    try {
      const milli = Number(readFileSync(`${root}/${z}/temp`, 'utf8').trim());
      if (Number.isFinite(milli)) return Math.round(milli / 100) / 10;
    } catch {
      /* next zone */
    }
  }
  return undefined;
}

export { hostname, loadavg };

/** Process CPU use between calls, as % of one core. */
export class CpuMeter {
  private last = process.cpuUsage();
  private lastAt = performance.now();
  sample(): number {
    const now = performance.now();
    const u = process.cpuUsage(this.last);
    const pct = ((u.user + u.system) / 1000 / Math.max(1, now - this.lastAt)) * 100;
    this.last = process.cpuUsage();
    this.lastAt = now;
    return Math.round(pct * 100) / 100;
  }
}
