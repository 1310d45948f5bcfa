// Everything a device says about itself: info (with Home Assistant discovery riding along),
// its applied config, replies, each role's state envelope and events, and its roles' stream
// announcements. Holds what must be re-said or cleared later (role details, stream announcements,
// the discovery topic); the link is read through a getter because a broker switch replaces it.
import {
  PROTOCOL_VERSION,
  ACCEPTED_VERSIONS,
  redact,
  type DeviceConfig,
  type RoleSpec,
  type HaEntity,
  type Reply,
  type Topics,
  type Info,
  type EventEnvelope,
  type RoleStateEnvelope,
  type StreamAnnouncement,
} from '../../protocol/index.ts';
import type { Clock } from './clock.ts';
import type { DeviceLink } from './device-link.ts';
import type { RoleView } from './supervisor.ts';
import { boardModel, ipv4Addresses, bootTimeIso, hostname } from './system-info.ts';
import { RUNTIME_VERSION } from './version.ts';
import { buildHaDiscovery, type HaComponent } from './homeassistant.ts';

export interface PublisherDeps {
  id: string;
  topics: Topics;
  clock: Clock;
  specs: readonly RoleSpec[];
  link(): DeviceLink;
  /** The applied config and its revision, read at each publish. */
  applied(): { config: DeviceConfig; revision: number; appliedAt: string };
  startedAt: string;
}

const json = (x: unknown) => JSON.stringify(x);

export class Publisher {
  private haTopic: string | undefined;
  /** The components of the last discovery message (those gone are removed with `{p}` next time). */
  private haPrevious: Record<string, HaComponent> | undefined;
  /** The last message with its proper components (no `{p}` removals), to tell whether anything changed. */
  private haLast: string | undefined;
  /** Entity key → what Home Assistant's plain payload on `cmd/ha/<key>` runs (handlers/ha-command.ts). */
  haCommands = new Map<string, NonNullable<HaEntity['command']>>();
  /** Announced streams ("<device>/<stream>"): a player's stream options. */
  readonly haStreams = new Set<string>();
  private readonly details = new Map<string, unknown>();
  readonly views = new Map<string, RoleView>();
  /** Stream announcements each role has up (retained), cleared when the role leaves the config. */
  private readonly roleStreams = new Map<string, Set<string>>();

  constructor(private readonly d: PublisherDeps) {}

  private get link(): DeviceLink {
    return this.d.link();
  }
  private get config(): DeviceConfig {
    return this.d.applied().config;
  }

  info(): Info {
    const { id, clock } = this.d;
    const config = this.config;
    return {
      v: PROTOCOL_VERSION,
      device: id,
      ...(config.name ? { name: config.name } : {}),
      runtime: RUNTIME_VERSION,
      protocol: PROTOCOL_VERSION,
      accepts: [...ACCEPTED_VERSIONS],
      roles: Object.keys(config.roles).filter((r) => config.roles[r] !== undefined),
      model: boardModel(),
      hostname: hostname(),
      addresses: ipv4Addresses(),
      node: process.version,
      bootTime: bootTimeIso(clock.wall()),
      startedAt: this.d.startedAt,
    };
  }

  /**
   * Home Assistant discovery rides along with info: re-sent on every change of config and whenever
   * Home Assistant announces itself online (it forgets non-retained state on restart). With
   * `ifChanged`, it is sent only when its entities differ from the last message's.
   */
  discovery(o: { ifChanged?: boolean } = {}): void {
    const config = this.config;
    if (!config.homeassistant?.enabled) {
      if (this.haTopic) {
        this.link.publish(this.haTopic, '', { retain: true });
        this.haTopic = undefined;
      }
      this.haPrevious = undefined;
      this.haLast = undefined;
      this.haCommands = new Map();
      return;
    }
    const d = buildHaDiscovery({
      info: this.info(),
      roles: config.roles,
      baseTopic: this.d.topics.base,
      prefix: config.homeassistant.prefix,
      specs: this.d.specs,
      streams: [...this.haStreams],
      previous: this.haPrevious,
    });
    if (o.ifChanged && this.haTopic === d.topic && JSON.stringify({ ...d.payload, cmps: d.current }) === this.haLast) return;
    this.haLast = JSON.stringify({ ...d.payload, cmps: d.current });
    if (this.haTopic && this.haTopic !== d.topic) this.link.publish(this.haTopic, '', { retain: true }); // prefix changed
    this.haTopic = d.topic;
    this.haPrevious = d.current;
    this.haCommands = d.commands;
    this.link.publish(d.topic, json(d.payload), { retain: true });
  }

  infoAndDiscovery(): void {
    this.link.publish(this.d.topics.info(this.d.id), json(this.info()), { retain: true });
    this.discovery();
  }

  config_(): void {
    const { config, revision, appliedAt } = this.d.applied();
    this.link.publish(this.d.topics.config(this.d.id), json({ v: PROTOCOL_VERSION, revision, appliedAt, config: redact(config) }), {
      retain: true,
    });
  }

  reply(r: Reply): void {
    this.link.publish(this.d.topics.reply(this.d.id), json(r), { qos: 1 });
  }

  /** The supervisor's view of a role merged with the role's own detail; a removed role's state is cleared. */
  roleState(role: string): void {
    const view = this.views.get(role);
    if (!view) return;
    const t = this.d.topics;
    if (view.status === 'stopped' && !(role in this.config.roles)) {
      this.link.publish(t.state(this.d.id, role), '', { retain: true });
      this.details.delete(role);
      return;
    }
    const env: RoleStateEnvelope = {
      v: PROTOCOL_VERSION,
      role,
      status: view.status,
      since: new Date(view.since).toISOString(),
      restarts: view.restarts,
      ...(view.error ? { error: view.error } : {}),
      ...(view.nextRestartInMs !== undefined ? { nextRestartInMs: Math.round(view.nextRestartInMs) } : {}),
      ...(this.details.has(role) ? { detail: this.details.get(role) } : {}),
    };
    this.link.publish(t.state(this.d.id, role), json(env), { retain: true });
  }

  roleDetail(role: string, detail: unknown): void {
    this.details.set(role, detail);
    this.roleState(role);
  }

  roleView(role: string, view: RoleView): void {
    this.views.set(role, view);
    this.roleState(role);
  }

  allRoleStates(): void {
    for (const role of this.views.keys()) this.roleState(role);
  }

  event(role: string, type: string, message: string, data?: Record<string, unknown>): void {
    const ev: EventEnvelope = {
      v: PROTOCOL_VERSION,
      ts: new Date(this.d.clock.wall()).toISOString(),
      type,
      message,
      ...(data ? { data } : {}),
    };
    this.link.publish(this.d.topics.event(this.d.id, role), json(ev), { qos: 1 });
  }

  stream(role: string, stream: string, ann: StreamAnnouncement | null): void {
    const mine = this.roleStreams.get(role) ?? this.roleStreams.set(role, new Set()).get(role)!;
    if (ann) mine.add(stream);
    else mine.delete(stream);
    this.link.publish(this.d.topics.stream(this.d.id, stream), ann ? json(ann) : '', { retain: true });
  }

  /** A role left the config: its retained state and stream announcements go with it. */
  roleRemoved(role: string): void {
    this.roleState(role);
    for (const stream of this.roleStreams.get(role) ?? []) this.link.publish(this.d.topics.stream(this.d.id, stream), '', { retain: true });
    this.roleStreams.delete(role);
  }
}
