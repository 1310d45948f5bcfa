// One device: its config store, its MQTT link, its roles under the supervisor, and the handlers
// for config/set and commands. `startRuntime` is what `hearth run` calls; tests call it too.
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import {
  topics as topicsFor, PROTOCOL_VERSION, ACCEPTED_VERSIONS, ROLE_SPECS, ConfigSet, DeviceCommands, StreamAnnouncement,
  deviceConfigSchema, normalizeConfig, mergePatch, redact, check, ProtocolError, summarize, restoreRedacted, stripRedacted,
  type DeviceConfig, type RoleSpec, type Reply, type Topics, type Info, type EventEnvelope, type RoleStateEnvelope,
} from '../../protocol/index.ts';
import { RealClock, type Clock, type TimerHandle } from './clock.ts';
import { createLogger, type Logger, type LogLevel } from './log.ts';
import { ConfigStore } from './config-store.ts';
import { MqttLink } from './mqtt-link.ts';
import { tryConnect, TRIAL_TIMEOUT_MS, type TrialOutcome } from './mqtt-trial.ts';
import { Supervisor, ApplyError, type RoleView, type RoleLoader } from './supervisor.ts';
import { parseRequest, validateCommand, dispatchCommand, okReply, errorReply, RequestError, malformedCommandTopic } from './requests.ts';
import { boardModel, ipv4Addresses, bootTimeIso, hostname, loadavg, socTemperatureC, CpuMeter } from './system-info.ts';
import { RUNTIME_VERSION } from './version.ts';
import { buildHaDiscovery } from './homeassistant.ts';
import { HA_STATUS_TOPIC } from '../../protocol/topics.ts';
import type { AnyRoleFactory, RoleLink } from './role.ts';
import type { HalOverrides } from '../core/hal-overrides.ts';

/** The roles a program has: their protocol specs and their factories' loaders (device/cli/roles.ts). */
export interface RoleSet {
  specs: readonly RoleSpec[];
  loaders: Record<string, RoleLoader>;
}

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
}

export interface Runtime {
  readonly id: string;
  readonly topics: Topics;
  config(): { revision: number; config: DeviceConfig };
  supervisor: Supervisor;
  link(): MqttLink;
  stop(): Promise<void>;
}

export async function startRuntime(o: RuntimeOptions): Promise<Runtime> {
  const clock = o.clock ?? new RealClock();
  const specs: readonly RoleSpec[] = o.extraRoles?.length ? [...o.roles.specs, ...o.extraRoles.map((r) => r.spec)] : o.roles.specs;
  const schema = deviceConfigSchema(specs);
  const loaders: Record<string, RoleLoader> = { ...o.roles.loaders };
  for (const r of o.extraRoles ?? []) loaders[r.spec.name] = async () => r.factory;

  await mkdir(o.stateDir, { recursive: true });
  const bootLog = o.log ?? createLogger();
  const store = await ConfigStore.open(o.stateDir, bootLog, o.configFile ?? join(o.stateDir, 'config.json'), schema);
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
  const applyLogLevel = (c: DeviceConfig) => { if (!o.fixedLogLevel) log.setLevel((c.log?.level as LogLevel | undefined) ?? startLevel); };
  applyLogLevel(config);
  const startedAt = new Date(clock.wall()).toISOString();

  // --- MQTT link -----------------------------------------------------------------------------
  const makeLink = (c: DeviceConfig) => {
    const l = new MqttLink({
      url: c.mqtt.url, clientId: id, username: c.mqtt.username ?? (c.mqtt.password ? id : undefined), password: c.mqtt.password,
      keepaliveS: c.mqtt.keepaliveS, reconnectMinMs: c.mqtt.reconnectMinMs, reconnectMaxMs: c.mqtt.reconnectMaxMs,
      will: { topic: t.status(id), payload: 'offline' }, birth: { topic: t.status(id), payload: 'online' },
      conflictBackoffMs: o.conflictBackoffMs, clock, log: log.child({ part: 'mqtt' }),
    });
    // Said on the next connection that lasts long enough to publish (it waits in the offline queue).
    l.onConflict((c) => publishEvent('device', 'id-conflict', c.message, { clientId: id, streak: c.streak, nextTryMs: c.nextTryMs }));
    return l;
  };
  let link = makeLink(config);
  const json = (x: unknown) => JSON.stringify(x);

  const info = (): Info => ({
    v: PROTOCOL_VERSION, device: id, ...(config.name ? { name: config.name } : {}), runtime: RUNTIME_VERSION,
    protocol: PROTOCOL_VERSION, accepts: [...ACCEPTED_VERSIONS], roles: Object.keys(config.roles).filter((r) => config.roles[r] !== undefined),
    model: boardModel(), hostname: hostname(), addresses: ipv4Addresses(), node: process.version, bootTime: bootTimeIso(clock.wall()), startedAt,
  });
  // Home Assistant discovery rides along with info: re-sent on every change of config and
  // whenever Home Assistant announces itself online (it forgets non-retained state on restart).
  let haTopic: string | undefined;
  const publishDiscovery = () => {
    if (!config.homeassistant?.enabled) {
      if (haTopic) { link.publish(haTopic, '', { retain: true }); haTopic = undefined; }
      return;
    }
    const d = buildHaDiscovery({ info: info(), roles: config.roles, baseTopic: t.base, prefix: config.homeassistant.prefix, specs });
    haTopic = d.topic;
    link.publish(d.topic, json(d.payload), { retain: true });
  };
  const publishInfo = () => { link.publish(t.info(id), json(info()), { retain: true }); publishDiscovery(); };
  const publishConfig = () => link.publish(t.config(id), json({ v: PROTOCOL_VERSION, revision, appliedAt: store.current()?.appliedAt ?? startedAt, config: redact(config) }), { retain: true });
  const reply = (r: Reply) => link.publish(t.reply(id), json(r), { qos: 1 });

  // --- roles -----------------------------------------------------------------------------------
  const details = new Map<string, unknown>();
  const views = new Map<string, RoleView>();
  const publishRoleState = (role: string) => {
    const view = views.get(role);
    if (!view) return;
    if (view.status === 'stopped' && !(role in config.roles)) {
      link.publish(t.state(id, role), '', { retain: true }); // a removed role's state is cleared
      details.delete(role);
      return;
    }
    const env: RoleStateEnvelope = {
      v: PROTOCOL_VERSION, role, status: view.status, since: new Date(view.since).toISOString(), restarts: view.restarts,
      ...(view.error ? { error: view.error } : {}), ...(view.nextRestartInMs !== undefined ? { nextRestartInMs: Math.round(view.nextRestartInMs) } : {}),
      ...(details.has(role) ? { detail: details.get(role) } : {}),
    };
    link.publish(t.state(id, role), json(env), { retain: true });
  };
  const publishEvent = (role: string, type: string, message: string, data?: Record<string, unknown>) => {
    const ev: EventEnvelope = { v: PROTOCOL_VERSION, ts: new Date(clock.wall()).toISOString(), type, message, ...(data ? { data } : {}) };
    link.publish(t.event(id, role), json(ev), { qos: 1 });
  };

  let reqSeq = 0;
  const pending = new Map<string, (r: Reply) => void>();
  const replySubs = new Map<string, () => void>();
  const watchReplies = (device: string) => {
    if (replySubs.has(device)) return;
    replySubs.set(device, link.subscribe(t.reply(device), (_topic, payload) => {
      try {
        const r = JSON.parse(payload.toString()) as Reply;
        const w = pending.get(r.id);
        if (w) { pending.delete(r.id); w(r); }
      } catch { /* not ours */ }
    }));
  };

  // Stream announcements each role has up (retained), cleared when the role leaves the config.
  const roleStreams = new Map<string, Set<string>>();
  const linkFor = (role: string): RoleLink => ({
    publishState(detail) { details.set(role, detail); publishRoleState(role); },
    publishEvent(type, message, data) {
      log.info(message, { role, event: type });
      publishEvent(role, type, message, data);
    },
    publishStream(stream, ann) {
      const mine = roleStreams.get(role) ?? roleStreams.set(role, new Set()).get(role)!;
      if (ann) mine.add(stream); else mine.delete(stream);
      link.publish(t.stream(id, stream), ann ? json(ann) : '', { retain: true });
    },
    watchStreams(handler) {
      return link.subscribe(t.streamsFilter(), (topic, payload) => {
        const p = t.parse(topic);
        if (!p || p.kind !== 'stream') return;
        if (payload.length === 0) { handler(p.device, p.stream, null); return; }
        let raw: unknown;
        try { raw = JSON.parse(payload.toString()); } catch { log.warn(`ignoring a stream announcement that is not JSON on ${topic}`); return; }
        const r = check(StreamAnnouncement, raw);
        if (!r.ok) { log.warn(`ignoring an invalid stream announcement on ${topic}: ${r.errors.map((e) => `${e.path} ${e.message}`).join('; ')}`); return; }
        handler(p.device, p.stream, r.value);
      });
    },
    sendCommand(device, targetRole, action, args, timeoutMs = 5000) {
      watchReplies(device);
      const reqId = `${id}-${++reqSeq}-${Math.random().toString(36).slice(2, 8)}`;
      return new Promise<Reply>((resolve) => {
        const timer = clock.setTimeout(() => {
          pending.delete(reqId);
          resolve({ v: PROTOCOL_VERSION, id: reqId, ok: false, error: { code: 'timeout', message: `${device} did not answer ${targetRole}/${action} within ${timeoutMs} ms` } });
        }, timeoutMs);
        pending.set(reqId, (r) => { clock.clearTimeout(timer); resolve(r); });
        link.publish(t.cmd(device, targetRole, action), json({ v: PROTOCOL_VERSION, id: reqId, ...args }), { qos: 1 });
      });
    },
    get connected() { return link.connected; },
  });

  const supervisor = new Supervisor({
    device: { id, baseTopic: t.base, stateDir: o.stateDir }, clock, log, hal: o.hal ?? {}, loaders, linkFor,
    onStatus: (role, view) => { views.set(role, view); publishRoleState(role); },
    onEvent: publishEvent,
    restartMinMs: o.restartMinMs, restartMaxMs: o.restartMaxMs,
    order: Object.fromEntries(specs.map((s) => [s.name, s.order ?? 0])),
  });

  // --- requests --------------------------------------------------------------------------------
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => { const p = queue.then(fn); queue = p.catch(() => {}); return p; };

  async function handleConfigSet(payload: Buffer): Promise<void> {
    const topic = t.configSet(id);
    let reqId = '';
    try {
      const { id: rid, body } = parseRequest(payload);
      reqId = rid;
      const r = check(ConfigSet, body);
      if (!r.ok) throw new RequestError(reqId, 'invalid', `config/set is invalid: ${summarize(r.errors)}`, r.errors);
      const req = r.value;
      if ((req.config === undefined) === (req.patch === undefined)) throw new RequestError(reqId, 'invalid', 'config/set needs exactly one of "config" or "patch"', [{ path: '', message: 'needs exactly one of config, patch' }]);
      await serial(async () => {
        if (req.ifRevision !== undefined && req.ifRevision !== revision) throw new ProtocolError('invalid', `the applied revision is ${revision}, not ${req.ifRevision}`, [{ path: '/ifRevision', message: `must be ${revision}` }]);
        const candidate = normalizeConfig(req.config !== undefined ? restoreRedacted(req.config, config) : mergePatch(config, stripRedacted(req.patch)), schema);
        if (candidate.id !== id) throw new ProtocolError('invalid', `a config cannot change the device id (${id} → ${candidate.id}); provision the new id instead`, [{ path: '/id', message: `must be "${id}"` }]);
        if (isDeepStrictEqual(candidate, config)) { reply(okReply(reqId, topic, { revision, unchanged: true })); return; }
        // Broker settings are tried before anything is kept (mqtt-trial.ts): on failure the device
        // is back on its last good settings, and this refusal is its reply once it is back.
        const mqttChanged = !isDeepStrictEqual(candidate.mqtt, config.mqtt);
        const trial = mqttChanged ? await switchBroker(candidate, config) : undefined;
        if (trial && !trial.ok) {
          throw new ProtocolError('apply-failed', `the new broker settings did not work, so the device went back to ${config.mqtt.url} and keeps revision ${revision}: ${trial.reason}`, [{ path: '/mqtt', message: trial.reason }]);
        }
        let changes;
        try {
          changes = await supervisor.apply(candidate.roles);
        } catch (e) {
          if (mqttChanged) await switchBroker(config, candidate, false);
          const ae = e as ApplyError;
          // A role's own paths (relative to its slice) are kept, under /roles/<role>.
          const own = ae.reason instanceof ProtocolError ? ae.reason.details ?? [] : [];
          throw new ProtocolError('apply-failed', `${ae.message}; the device keeps revision ${revision}`,
            own.length ? own.map((d) => ({ path: `/roles/${ae.role}${d.path}`, message: d.message })) : [{ path: `/roles/${ae.role}`, message: ae.reason?.message ?? ae.message }]);
        }
        const old = config;
        config = candidate;
        // A removed role's retained state and stream announcements go with it (its stop was
        // reported while it was still in the old config, so that report kept the topic).
        for (const role of changes.stopped) {
          publishRoleState(role);
          for (const stream of roleStreams.get(role) ?? []) link.publish(t.stream(id, stream), '', { retain: true });
          roleStreams.delete(role);
        }
        revision = await store.save(candidate, () => clock.wall());
        applyLogLevel(candidate);
        if (old.telemetry?.intervalS !== candidate.telemetry?.intervalS) scheduleTelemetry();
        publishInfo();
        publishConfig();
        log.info(`applied config revision ${revision}`, changes);
        reply(okReply(reqId, topic, { revision, ...changes, ...(trial?.ok ? { broker: { url: candidate.mqtt.url, connectedInMs: trial.ms } } : {}) }));
      });
    } catch (e) {
      const out = errorReply(e instanceof RequestError ? e.requestId : reqId, topic, e);
      log.warn(`rejected config/set: ${out.error!.message}`);
      reply(out);
    }
  }

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
      publishInfo();
      publishConfig();
      for (const role of views.keys()) publishRoleState(role);
      return link;
    };
    const fresh = await swap(next);
    if (!trial) { fresh.start(); return { ok: true, ms: 0 }; }
    const r = await tryConnect(fresh, { clock, timeoutMs: o.brokerTrialMs ?? TRIAL_TIMEOUT_MS, url: next.mqtt.url });
    if (r.ok) { log.info(`broker settings for ${next.mqtt.url} work (connected in ${r.ms} ms)`); return r; }
    log.warn(`broker settings for ${next.mqtt.url} failed: ${r.reason}; going back to ${back.mqtt.url}`);
    (await swap(back)).start();
    return r;
  }

  async function handleCommand(topic: string, payload: Buffer): Promise<void> {
    const p = t.parse(topic);
    let reqId = '';
    try {
      if (!p || p.kind !== 'cmd') throw malformedCommandTopic(topic, payload, t.cmd(id, 'role', 'action').replace(/role\/action$/, '<role>/<action>'));
      const { id: rid, body } = parseRequest(payload);
      reqId = rid;
      if (p.role === 'device') {
        const spec = (DeviceCommands as Record<string, { args: import('@sinclair/typebox').TObject }>)[p.action];
        if (!spec) throw new RequestError(reqId, 'unknown-command', `device has no command "${p.action}"; it has ${Object.keys(DeviceCommands).join(', ')}`);
        const args = validateCommand(spec.args, reqId, body, `device/${p.action}`);
        if (p.action === 'ping') { reply(okReply(reqId, topic, { runtime: RUNTIME_VERSION, uptimeS: Math.round(process.uptime()) })); return; }
        if (p.action === 'restart-role') {
          const role = args.role as string;
          if (!supervisor.roles().includes(role)) throw new RequestError(reqId, 'unknown-role', `role ${role} is not configured on ${id}`);
          await supervisor.restart(role);
          reply(okReply(reqId, topic));
          return;
        }
      }
      const spec = specs.find((s) => s.name === p.role);
      if (!spec) throw new RequestError(reqId, 'unknown-role', `there is no role "${p.role}"`);
      const inst = supervisor.instance(p.role);
      if (!inst) {
        if (!spec.commands[p.action]) throw new RequestError(reqId, 'unknown-command', `${p.role} has no command "${p.action}"; it has ${Object.keys(spec.commands).join(', ') || 'none'}`);
        const view = supervisor.view(p.role);
        throw new RequestError(reqId, 'role-not-running', view ? `${p.role} is ${view.status}${view.error ? ` (${view.error})` : ''}` : `${p.role} is not configured on ${id}`);
      }
      const result = await dispatchCommand(spec, inst, p.action, body, reqId);
      reply(okReply(reqId, topic, result));
    } catch (e) {
      const out = errorReply(e instanceof RequestError ? e.requestId : reqId, topic, e);
      log.warn(`refused ${topic}: ${out.error!.message}`);
      reply(out);
    }
  }

  function wireLink(): void {
    link.subscribe(t.configSet(id), (_topic, payload) => { void handleConfigSet(payload); });
    link.subscribe(HA_STATUS_TOPIC, (_topic, payload) => { if (payload.toString() === 'online') publishDiscovery(); });
    link.subscribe(t.cmdFilter(id), (topic, payload) => { void handleCommand(topic, payload); });
    for (const device of replySubs.keys()) {
      replySubs.delete(device);
      watchReplies(device);
    }
  }

  // --- telemetry -------------------------------------------------------------------------------
  const cpu = new CpuMeter();
  let telemetryTimer: TimerHandle | undefined;
  function publishTelemetry(): void {
    const mem = process.memoryUsage();
    const temp = socTemperatureC();
    link.publish(t.telemetry(id), json({
      v: PROTOCOL_VERSION, ts: new Date(clock.wall()).toISOString(), uptimeS: Math.round(process.uptime()), cpuPct: cpu.sample(),
      rssMb: Math.round(mem.rss / 1e5) / 10, heapMb: Math.round(mem.heapUsed / 1e5) / 10, load1: Math.round(loadavg()[0]! * 100) / 100,
      ...(temp !== undefined ? { temperatureC: temp } : {}), roles: supervisor.telemetry(),
    }), { qos: 0 });
  }
  function scheduleTelemetry(): void {
    clock.clearInterval(telemetryTimer);
    telemetryTimer = clock.setInterval(() => { if (link.connected) publishTelemetry(); }, (config.telemetry?.intervalS ?? 30) * 1000);
  }

  // --- start -----------------------------------------------------------------------------------
  wireLink();
  publishInfo();
  publishConfig();
  // Roles first (the hub role brings up the broker this device may connect to), then the link.
  await supervisor.boot(config.roles);
  link.start();
  scheduleTelemetry();
  log.info(`hearth ${RUNTIME_VERSION} running as ${id} (config revision ${revision}; roles: ${Object.keys(config.roles).join(', ') || 'none'})`);

  let stopping: Promise<void> | undefined;
  return {
    id, topics: t, supervisor,
    config: () => ({ revision, config }),
    link: () => link,
    stop() {
      stopping ??= (async () => {
        clock.clearInterval(telemetryTimer);
        await supervisor.stop();
        await link.stop();
      })();
      return stopping;
    },
  };
}
