// One device, assembled: its config store, its MQTT link (injected or real), its roles under the
// supervisor, the publisher, the command client, telemetry and one handler per request kind
// (handlers/). `startRuntime` is what `hearth run` calls; tests call it too, with a fake link for
// the config/set and command paths in virtual time (test/unit/core/runtime.test.ts).
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import {
  topics as topicsFor,
  StreamAnnouncement,
  deviceConfigSchema,
  check,
  haStatusTopic,
  type DeviceConfig,
  type RoleSpec,
  type Topics,
} from '../../protocol/index.ts';
import { RealClock, type Clock, type TimerHandle } from './clock.ts';
import { createLogger, type Logger, type LogLevel } from './log.ts';
import { ConfigStore } from './config-store.ts';
import { MqttLink, type LinkFactory } from './mqtt-link.ts';
import type { DeviceLink } from './device-link.ts';
import { tryConnect, TRIAL_TIMEOUT_MS, type TrialOutcome } from './mqtt-trial.ts';
import { Supervisor, type RoleLoader } from './supervisor.ts';
import { RUNTIME_VERSION } from './version.ts';
import { Publisher } from './publisher.ts';
import { CommandClient } from './command-client.ts';
import { TelemetryPublisher } from './telemetry.ts';
import { handleConfigSet } from './handlers/config-set.ts';
import { TurnQueue } from './turn-queue.ts';
import { handleCommand } from './handlers/command.ts';
import { handleHaCommand } from './handlers/ha-command.ts';
import type { RequestContext } from './handlers/context.ts';
import type { AnyRoleFactory, RoleLink } from './role.ts';
import type { HalOverrides } from './hal-overrides.ts';

/** The roles a program has: their protocol specs and their factories' loaders (device/cli/roles.ts). */
export interface RoleSet {
  specs: readonly RoleSpec[];
  loaders: Record<string, RoleLoader>;
}
import { RuntimeClock } from '../clock/runtime-clock.ts';

export interface RuntimeOptions {
  /** The roles this runtime can run (the composition root hands them in; core names none). */
  roles: RoleSet;
  stateDir: string;
  /** Config file (default <stateDir>/config.json). */
  configFile?: string;
  clock?: Clock;
  log?: Logger;
  hal?: HalOverrides;
  /** Roles beyond the built-in ones (tests, simulations): spec + factory. */
  extraRoles?: Array<{ spec: RoleSpec; factory: AnyRoleFactory }>;
  /** The logger's level was given on the command line (--log-level, HEARTH_LOG_LEVEL): it wins over `log.level` in the config. */
  fixedLogLevel?: boolean;
  /** Supervisor restart backoff (defaults 1 s … 60 s). */
  restartMinMs?: number;
  restartMaxMs?: number;
  /** Bound on trying new broker settings before going back (default TRIAL_TIMEOUT_MS). */
  brokerTrialMs?: number;
  /** Delay once the broker keeps closing this device's connections (default 120 s; takeover.ts). */
  conflictBackoffMs?: number;
  /** Builds the MQTT link (default: the real MqttLink); tests hand in a fake one. */
  newLink?: LinkFactory;
}

export interface Runtime {
  readonly id: string;
  readonly topics: Topics;
  config(): { revision: number; config: DeviceConfig };
  supervisor: Supervisor;
  link(): DeviceLink;
  stop(): Promise<void>;
}

export async function startRuntime(o: RuntimeOptions): Promise<Runtime> {
  const clock = o.clock ?? new RealClock();
  const specs: readonly RoleSpec[] = o.extraRoles?.length ? [...o.roles.specs, ...o.extraRoles.map((r) => r.spec)] : o.roles.specs;
  const schema = deviceConfigSchema(specs);
  const loaders: Record<string, RoleLoader> = { ...o.roles.loaders };
  for (const r of o.extraRoles ?? []) loaders[r.spec.name] = async () => r.factory;

  await mkdir(o.stateDir, { recursive: true });
  const store = await ConfigStore.open(o.stateDir, o.log ?? createLogger(), o.configFile ?? join(o.stateDir, 'config.json'), schema);
  const stored = store.current();
  if (!stored) throw new Error(`no config at ${store.file}: write one (see README, "Set up a house") or run "hearth firstboot"`);
  let config = stored.config;
  let revision = stored.revision;
  const id = config.id;
  const t = topicsFor(config.mqtt.baseTopic ?? 'hearth');
  const log = (o.log ?? createLogger()).child({ device: id });
  // `log.level` of the config sets the level (at start and on every applied config), unless the
  // command line fixed it; without one, the level the runtime was started with.
  const startLevel = log.level;
  const applyLogLevel = (c: DeviceConfig) => {
    if (!o.fixedLogLevel) log.setLevel((c.log?.level as LogLevel | undefined) ?? startLevel);
  };
  applyLogLevel(config);
  const startedAt = new Date(clock.wall()).toISOString();

  const newLink: LinkFactory = o.newLink ?? ((lo) => new MqttLink(lo));
  const makeLink = (c: DeviceConfig) => {
    const l = newLink({
      url: c.mqtt.url,
      clientId: id,
      username: c.mqtt.username ?? (c.mqtt.password ? id : undefined),
      password: c.mqtt.password,
      keepaliveS: c.mqtt.keepaliveS,
      reconnectMinMs: c.mqtt.reconnectMinMs,
      reconnectMaxMs: c.mqtt.reconnectMaxMs,
      will: { topic: t.status(id), payload: 'offline' },
      birth: { topic: t.status(id), payload: 'online' },
      conflictBackoffMs: o.conflictBackoffMs,
      clock,
      log: log.child({ part: 'mqtt' }),
      ...(c.mqtt.tls
        ? {
            tls: {
              ca: c.mqtt.tls.ca ?? (c.mqtt.tls.caFile ? readFileSync(c.mqtt.tls.caFile) : undefined),
              pinSha256: c.mqtt.tls.pinSha256,
            },
          }
        : {}),
    });
    // Said on the next connection that lasts long enough to publish (it waits in the offline queue).
    l.onConflict((c) => publisher.event('device', 'id-conflict', c.message, { clientId: id, streak: c.streak, nextTryMs: c.nextTryMs }));
    return l;
  };
  let link: DeviceLink = makeLink(config);
  const currentLink = () => link;

  const publisher = new Publisher({
    id,
    topics: t,
    clock,
    specs,
    link: currentLink,
    startedAt,
    applied: () => ({ config, revision, appliedAt: store.current()?.appliedAt ?? startedAt }),
  });
  const commands = new CommandClient({ id, topics: t, clock, link: currentLink });
  const linkFor = (role: string): RoleLink => ({
    publishState: (detail) => publisher.roleDetail(role, detail),
    publishEvent(type, message, data) {
      log.info(message, { role, event: type });
      publisher.event(role, type, message, data);
    },
    publishStream: (stream, ann) => publisher.stream(role, stream, ann),
    watchStreams: (handler) => watchStreams(link, t, log, handler),
    sendCommand: (device, targetRole, action, args, timeoutMs) => commands.send(device, targetRole, action, args, timeoutMs),
    get connected() {
      return link.connected;
    },
  });
  // The house clock (docs/clock.md): roles run on the runtime clock, whose wall() is house time
  // once locked; a `clock` config change applies to it live. Not with an injected clock and no
  // simulated network (virtual-time tests of other parts).
  const house = new RuntimeClock(clock, {
    hal: o.hal ?? {},
    injectedClock: o.clock !== undefined,
    log,
    publishEvent: (role, type, message, data) => publisher.event(role, type, message, data),
  });
  await house.start(config);
  const supervisor = new Supervisor({
    device: { id, baseTopic: t.base, stateDir: o.stateDir, haPrefix: config.homeassistant?.prefix },
    clock: house,
    log,
    hal: o.hal ?? {},
    loaders,
    linkFor,
    onStatus: (role, view) => publisher.roleView(role, view),
    onEvent: (role, type, message, data) => publisher.event(role, type, message, data),
    restartMinMs: o.restartMinMs,
    restartMaxMs: o.restartMaxMs,
    order: Object.fromEntries(specs.map((s) => [s.name, s.order ?? 0])),
  });
  const telemetry = new TelemetryPublisher({
    id,
    topics: t,
    clock,
    link: currentLink,
    roles: () => supervisor.telemetry(),
    houseClock: () => house.status(),
  });

  let queue: Promise<unknown> = Promise.resolve();
  let haStreamsTimer: TimerHandle | undefined;
  const ctx: RequestContext = {
    id,
    topics: t,
    clock,
    log,
    specs,
    schema,
    supervisor,
    publisher,
    applied: () => ({ config, revision }),
    save: (c) => store.save(c, () => clock.wall()),
    commit(next, rev) {
      const intervalChanged = next.telemetry?.intervalS !== config.telemetry?.intervalS;
      config = next;
      revision = rev;
      applyLogLevel(next);
      if (intervalChanged) telemetry.schedule(next.telemetry?.intervalS);
    },
    serial: <T>(fn: () => Promise<T>): Promise<T> => {
      const p = queue.then(fn);
      queue = p.catch(() => {});
      return p;
    },
    switchBroker,
    prepareClock: (next, applied) => house.prepare(next, applied),
  };

  /**
   * Moves the link to `next`'s broker settings. With a trial (the default) they are kept only if a
   * connection comes up within the trial bound; otherwise the link goes back to `back`'s settings.
   */
  async function switchBroker(next: DeviceConfig, back: DeviceConfig, trial = true): Promise<TrialOutcome> {
    log.info(`${trial ? 'trying' : 'going back to'} broker settings for ${next.mqtt.url}`);
    const swap = async (c: DeviceConfig) => {
      const old = link;
      link = makeLink(c);
      // What roles published retained (stream announcements, HA discovery) lives in the old link;
      // without it the new link would not re-publish them after the next broker restart.
      link.adoptRetained(old);
      wireLink();
      await old.stop();
      publisher.infoAndDiscovery();
      publisher.config_();
      publisher.allRoleStates();
      return link;
    };
    const fresh = await swap(next);
    if (!trial) {
      fresh.start();
      return { ok: true, ms: 0 };
    }
    const r = await tryConnect(fresh, { clock, timeoutMs: o.brokerTrialMs ?? TRIAL_TIMEOUT_MS, url: next.mqtt.url });
    if (r.ok) {
      log.info(`broker settings for ${next.mqtt.url} work (connected in ${r.ms} ms)`);
      return r;
    }
    log.warn(`broker settings for ${next.mqtt.url} failed: ${r.reason}; going back to ${back.mqtt.url}`);
    (await swap(back)).start();
    return r;
  }

  const configSets = new TurnQueue();
  function wireLink(): void {
    // One config/set per event-loop turn (turn-queue.ts): a flood of large ones cannot hold a ping back.
    link.subscribe(t.configSet(id), (_topic, payload) => {
      configSets.push(() => void handleConfigSet(ctx, payload));
    });
    link.subscribe(haStatusTopic(config.homeassistant?.prefix), (_topic, payload) => {
      if (payload.toString() === 'online') publisher.discovery();
    });
    link.subscribe(t.cmdFilter(id), (topic, payload) => {
      const p = t.parse(topic);
      if (p?.kind === 'cmd' && p.role === 'ha') void handleHaCommand(ctx, p.action, payload);
      else void handleCommand(ctx, topic, payload);
    });
    // The streams announced on MQTT are in every role's Home Assistant context (a player's stream
    // select lists them); discovery is re-sent a second after they change, if its entities changed.
    link.subscribe(t.streamsFilter(), (topic, payload) => {
      const p = t.parse(topic);
      if (!p || p.kind !== 'stream' || !config.homeassistant?.enabled) return;
      const key = `${p.device}/${p.stream}`;
      const streams = publisher.haStreams;
      const had = streams.has(key);
      if (payload.length === 0) streams.delete(key);
      else streams.add(key);
      if (had !== streams.has(key)) {
        clock.clearTimeout(haStreamsTimer);
        haStreamsTimer = clock.setTimeout(() => publisher.discovery({ ifChanged: true }), 1000);
      }
    });
    commands.rewire();
  }

  wireLink();
  publisher.infoAndDiscovery();
  publisher.config_();
  // Roles first (the hub role brings up the broker this device may connect to), then the link.
  await supervisor.boot(config.roles);
  link.start();
  telemetry.schedule(config.telemetry?.intervalS);
  log.info(
    `hearth ${RUNTIME_VERSION} running as ${id} (config revision ${revision}; roles: ${Object.keys(config.roles).join(', ') || 'none'})`,
  );

  let stopping: Promise<void> | undefined;
  return {
    id,
    topics: t,
    supervisor,
    config: () => ({ revision, config }),
    link: () => link,
    stop() {
      stopping ??= (async () => {
        telemetry.stop();
        clock.clearTimeout(haStreamsTimer);
        await supervisor.stop();
        await house.stop();
        await link.stop();
      })();
      return stopping;
    },
  };
}

/** Every device's stream announcements, validated at the edge (a bad one is logged and skipped). */
function watchStreams(link: DeviceLink, t: Topics, log: Logger, handler: Parameters<RoleLink['watchStreams']>[0]): () => void {
  return link.subscribe(t.streamsFilter(), (topic, payload) => {
    const p = t.parse(topic);
    if (!p || p.kind !== 'stream') return;
    if (payload.length === 0) {
      handler(p.device, p.stream, null);
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(payload.toString());
    } catch {
      log.warn(`ignoring a stream announcement that is not JSON on ${topic}`);
      return;
    }
    const r = check(StreamAnnouncement, raw);
    if (!r.ok) {
      log.warn(`ignoring an invalid stream announcement on ${topic}: ${r.errors.map((e) => `${e.path} ${e.message}`).join('; ')}`);
      return;
    }
    handler(p.device, p.stream, r.value);
  });
}
