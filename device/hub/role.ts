// The hub role: runs the embedded broker on the device (the always-on node of a house with no
// broker of its own). Its logins can be managed over MQTT by a controller, or on the box with
// `hearth hub add-device`.
import { join } from 'node:path';
import type { RoleFactory } from '../core/role.ts';
import { ProtocolError } from '../../protocol/envelope.ts';
import type { hubSpec } from '../../protocol/roles/hub.ts';
import { startBroker, type RunningBroker } from './broker.ts';
import { addLogin, removeLogin } from './credentials.ts';
import { serveHouseTime, type Served } from '../clock/serve.ts';
import { openUdp } from '../hal/open.ts';

export const createHubRole: RoleFactory<typeof hubSpec> = (deps) => {
  let config = deps.config;
  let broker: RunningBroker | undefined;
  let stopped = false;
  let ntp: Served | undefined;
  const credentialsFile = () => config.credentialsFile ?? join(deps.device.stateDir, 'credentials.json');

  const running = (): RunningBroker => {
    if (!broker) throw new ProtocolError('role-not-running', 'the broker is not running');
    return broker;
  };

  const publish = () => {
    if (!broker) return;
    deps.link.publishState({
      mqtt: `${broker.host}:${broker.port}`,
      ...(broker.tlsPort !== null ? { mqtts: `${broker.host}:${broker.tlsPort}` } : {}),
      ...(broker.wsPort !== null ? { ws: `${broker.host}:${broker.wsPort}` } : {}),
      clients: broker.clients().length,
      logins: broker.logins(),
      anonymous: config.allowAnonymous ?? false,
      ...(ntp ? { ntp: ntp.where } : {}),
    });
  };

  return {
    async start() {
      stopped = false;
      const b = await startBroker({
        host: config.host,
        port: config.port ?? 1883,
        wsPort: config.wsPort === 0 ? null : (config.wsPort ?? 8080),
        credentialsFile: credentialsFile(),
        allowAnonymous: config.allowAnonymous ?? false,
        baseTopic: deps.device.baseTopic,
        haPrefix: deps.device.haPrefix,
        limits: config.limits,
        tls: config.tls,
        log: deps.log,
        onSecurityEvent: (e) =>
          deps.link.publishEvent(e.type, e.message, {
            ...(e.clientId ? { clientId: e.clientId } : {}),
            ...(e.user ? { user: e.user } : {}),
            ...(e.topic ? { topic: e.topic } : {}),
          }),
      });
      if (stopped) {
        await b.close();
        return;
      }
      // House time for the devices (docs/clock.md): the hub is the always-on box they all reach.
      if (config.ntp?.enabled !== false) {
        try {
          ntp = await serveHouseTime({
            stack: await openUdp({}, deps),
            clock: deps.clock,
            host: config.ntp?.host ?? config.host,
            port: config.ntp?.port,
            // A restart (a config change, the service, a crash) keeps the timescale within one boot.
            persist: { file: join(deps.device.stateDir, 'ntp-anchor.json') },
          });
        } catch (e) {
          await b.close();
          throw new Error(
            `cannot serve house time on UDP ${config.ntp?.host ?? config.host ?? '0.0.0.0'}:${config.ntp?.port ?? 123}: ${(e as Error).message}`,
          );
        }
        deps.log.info(
          `house time: ${ntp.where}${ntp.server ? `; timescale ${ntp.server.anchoredFrom === 'saved' ? 'continued' : 'anchored on the OS clock'} (${ntp.server.anchorNote})` : ''}`,
        );
        if (ntp.server?.saveError) deps.log.warn(`house time: its timescale cannot be kept across restarts: ${ntp.server.saveError}`);
        if (stopped) {
          await ntp.server?.stop();
          await b.close();
          return;
        }
      }
      broker = b;
      b.aedes.on('clientReady', publish);
      b.aedes.on('clientDisconnect', publish);
      publish();
    },
    async apply(next) {
      config = next;
      return 'restart'; // listeners and logins change together; a restart takes ~ms
    },
    async stop() {
      stopped = true;
      const b = broker;
      broker = undefined;
      await b?.close();
      const n = ntp;
      ntp = undefined;
      await n?.server?.stop();
    },
    commands: {
      async 'add-device'(args) {
        const b = running();
        const password = await addLogin(credentialsFile(), args.device, args.controller ? 'controller' : 'device');
        await b.reloadCredentials();
        publish();
        deps.link.publishEvent('login-added', `login ${args.device} added`, { device: args.device });
        return { device: args.device, password };
      },
      async 'remove-device'(args) {
        const b = running();
        if (!(await removeLogin(credentialsFile(), args.device))) throw new ProtocolError('not-found', `there is no login ${args.device}`);
        await b.reloadCredentials();
        b.kick(args.device);
        publish();
      },
      async clients() {
        return running().clients();
      },
    },
    telemetry(): Record<string, number> {
      return broker
        ? { clients: broker.clients().length, logins: broker.logins(), ...(ntp?.server ? { ntpServed: ntp.server.served } : {}) }
        : {};
    },
  };
};
