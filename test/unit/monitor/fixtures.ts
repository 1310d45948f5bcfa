// Messages as a device publishes them, for the monitor's unit tests. Times are fixed so the
// rendered snapshots are exact.
import { topics } from '../../../protocol/index.ts';

export const T0 = Date.parse('2026-01-01T12:00:00Z');
export const t = topics('hearth');
export const iso = (ms: number) => new Date(ms).toISOString();

export function info(id: string, roles: string[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    v: 2,
    device: id,
    runtime: '0.1.0',
    protocol: 2,
    accepts: [1, 2],
    roles,
    model: 'Raspberry Pi 4 Model B Rev 1.4',
    hostname: id,
    addresses: ['192.168.1.20'],
    node: 'v20.19.0',
    bootTime: iso(T0 - 86_400_000),
    startedAt: iso(T0 - 192_000),
    ...extra,
  });
}

export function state(role: string, status: string, sinceMs: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ v: 2, role, status, since: iso(sinceMs), restarts: 0, ...extra });
}

export function telemetry(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    v: 2,
    ts: iso(T0),
    uptimeS: 190,
    cpuPct: 3.25,
    rssMb: 41,
    heapMb: 12.1,
    load1: 0.12,
    temperatureC: 48.3,
    roles: {},
    ...extra,
  });
}

export function event(type: string, message: string, tsMs = T0): string {
  return JSON.stringify({ v: 2, ts: iso(tsMs), type, message });
}

export function config(revision: number, cfg: Record<string, unknown> = {}): string {
  return JSON.stringify({
    v: 2,
    revision,
    appliedAt: iso(T0 - 100_000),
    config: { v: 2, id: 'x', mqtt: { url: 'mqtt://hub:1883' }, roles: {}, ...cfg },
  });
}
