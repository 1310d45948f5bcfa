// Types of fleet.js (the console's logic is plain JavaScript so the browser needs no build step).
export type Health = 'healthy' | 'degraded' | 'failed' | 'unknown';

export interface ConsoleTopics {
  base: string;
  all(): string;
  status(id: string): string;
  info(id: string): string;
  config(id: string): string;
  configSet(id: string): string;
  cmd(id: string, role: string, action: string): string;
  reply(id: string): string;
  state(id: string, role: string): string;
  event(id: string, role: string): string;
  telemetry(id: string): string;
  stream(id: string, stream: string): string;
  parse(topic: string):
    | { kind: 'status' | 'info' | 'config' | 'config-set' | 'reply' | 'telemetry'; device: string }
    | { kind: 'cmd'; device: string; role: string; action: string }
    | { kind: 'state' | 'event'; device: string; role: string }
    | { kind: 'stream'; device: string; stream: string }
    | undefined;
}

export interface ConsoleReply { v?: number; id: string; ok: boolean; topic?: string; result?: unknown; error?: { code: string; message: string; details?: Array<{ path: string; message: string }> } }

export interface ConsoleDevice {
  id: string;
  status?: 'online' | 'offline';
  statusSince?: number;
  info?: { device: string; name?: string; roles: string[]; runtime: string; model?: string; addresses?: string[]; startedAt?: string };
  config?: { revision: number; appliedAt?: string; config: any };
  telemetry?: { value: { cpuPct: number; rssMb: number; heapMb?: number; uptimeS: number; temperatureC?: number; load1?: number }; at: number };
  roles: Map<string, { state: { status: string; since: string; error?: string; restarts?: number; detail?: unknown }; at: number }>;
  events: Array<{ role: string; event: { type: string; message: string; ts?: string }; at: number }>;
  problems: Array<{ at: number; topic: string; message: string }>;
  replies: Array<{ reply: ConsoleReply; at: number }>;
}

export interface ConsoleFleet { topics: ConsoleTopics; devices: Map<string, ConsoleDevice>; messages: number }

export const PROTOCOL_VERSION: number;
export const KNOWN_ACTIONS: Record<string, Record<string, string[]>>;
export function topicsFor(base?: string): ConsoleTopics;
export function createFleet(base?: string): ConsoleFleet;
export function applyMessage(fleet: ConsoleFleet, topic: string, text: string, at: number, retained?: boolean): ConsoleReply | undefined;
export function newRequestId(prefix?: string): string;
export function buildCommand(topics: ConsoleTopics, device: string, role: string, action: string, bodyText: string, id?: string): { id: string; topic: string; payload: string };
export function buildConfigPatch(topics: ConsoleTopics, device: string, patchText: string, id?: string, ifRevision?: number): { id: string; topic: string; payload: string };
export function bodyTemplate(role: string, action: string): string;
export function commandRoles(d: ConsoleDevice | undefined): string[];
export function formatDuration(ms: number): string;
export function eventLevel(type: string): Health;
export function roleHealth(r: { state?: { status: string } } | undefined): Health;
export function deviceHealth(d: ConsoleDevice, now: number): Health;
export function statusText(d: ConsoleDevice, now: number): string;
export function summarize(detail: unknown): string;
export function defaultBrokerUrl(location: { protocol: string; host: string }): string;
export function replyText(r: ConsoleReply): string;
