// The embedded broker: Aedes (MQTT 3.1.1) on TCP, and on HTTP a WebSocket endpoint at /mqtt plus
// the web console's static files. Logins and ACLs come from the credentials file, re-read when it
// changes (so `hearth hub add-device` works while the hub runs).
import { createServer as createTcpServer, type Server as TcpServer, type AddressInfo } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { watchFile, unwatchFile, existsSync } from 'node:fs';
import { join, extname, normalize, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { Aedes, type Client, type AuthenticateError } from 'aedes';
import { dropMqttNumberCache } from '../core/mqtt-packet.ts';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { readCredentials, verifyPassword, type CredentialsFile } from './credentials.ts';
import { mayPublish, maySubscribe, type AclSubject } from './acl.ts';
import { gateConnection, RetainedLedger, DEFAULT_LIMITS, type HubLimits, type GatedConnection } from './limits.ts';
import type { Duplex } from 'node:stream';
import type { Logger } from '../core/log.ts';

export interface BrokerOptions {
  host?: string;
  port?: number;
  /** HTTP port for WebSocket (/mqtt) and the console; 0 picks a free one; undefined or null turns it off. */
  wsPort?: number | null;
  credentialsFile?: string;
  allowAnonymous?: boolean;
  baseTopic?: string;
  /** Home Assistant discovery prefix the devices publish under (default homeassistant). */
  haPrefix?: string;
  log: Logger;
  /** A TLS listener (mqtts) beside the plain one: port (default 8883; 0 picks one), PEM certificate and key files (tls.ts makes them). */
  tls?: { port?: number; certFile: string; keyFile: string };
  /** Packet size, rate and retained-bytes limits (limits.ts); defaults DEFAULT_LIMITS. */
  limits?: Partial<HubLimits>;
  /** Called for auth failures, denials, refused packets and takeovers (the hub role turns these into events). */
  onSecurityEvent?: (e: { type: SecurityEventType; clientId?: string; user?: string; topic?: string; message: string }) => void;
}

export interface RunningBroker {
  aedes: Aedes;
  port: number;
  wsPort: number | null;
  /** The TLS listener's port, or null when there is none. */
  tlsPort: number | null;
  host: string;
  clients(): Array<{ clientId: string; user?: string }>;
  logins(): number;
  reloadCredentials(): Promise<void>;
  /** Disconnects every client logged in as `user`. */
  kick(user: string): void;
  close(): Promise<void>;
}

export type SecurityEventType = 'auth-failed' | 'denied' | 'refused' | 'throttled' | 'takeover';

const SUBJECT = Symbol('hearth.subject');
type WithSubject = Client & { [SUBJECT]?: AclSubject };

function authError(message: string, code: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: code }) as AuthenticateError;
}

/** Where the console's static files are: beside the bundle (dist/console) or in the source tree. */
export function consoleDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const c of [join(here, 'console'), join(here, '../console/static'), join(here, '../../device/console/static')]) {
    if (existsSync(join(c, 'index.html'))) return c;
  }
  return join(here, '../console/static');
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

let consoleBundle: Promise<Uint8Array> | undefined;
/** The console bundled from device/console/src with esbuild (a dev dependency: source tree only). */
function sourceConsoleBundle(): Promise<Uint8Array> {
  consoleBundle ??= (async () => {
    const root = join(dirname(fileURLToPath(import.meta.url)), '../../');
    const { build } = await import('esbuild');
    const { consoleBuildOptions } = (await import(join(root, 'scripts/console-build.mjs'))) as {
      consoleBuildOptions(root: string): Record<string, unknown>;
    };
    const r = await build({ ...consoleBuildOptions(root), write: false, outfile: 'app.js' });
    return r.outputFiles[0]!.contents;
  })();
  consoleBundle.catch(() => {
    consoleBundle = undefined;
  });
  return consoleBundle;
}

async function serveStatic(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  let file: string;
  if (url.pathname === '/mqtt.min.js' && !existsSync(join(consoleDir(), 'mqtt.min.js'))) {
    file = createRequire(import.meta.url).resolve('mqtt/dist/mqtt.min');
  } else if (url.pathname === '/app.js' && !existsSync(join(consoleDir(), 'app.js'))) {
    // Running from the source tree: bundle the console's TypeScript now (once per process).
    const js = await sourceConsoleBundle();
    res.writeHead(200, { 'content-type': MIME['.js']!, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    res.end(js);
    return;
  } else {
    const rel = normalize(url.pathname === '/' ? '/index.html' : url.pathname).replace(/^(\.\.[/\\])+/, '');
    file = join(consoleDir(), rel);
    if (!file.startsWith(consoleDir())) {
      res.writeHead(403).end();
      return;
    }
  }
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new Error('not a file');
    res.writeHead(200, {
      'content-type': MIME[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    res.end(await readFile(file));
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }
}

export async function startBroker(opts: BrokerOptions): Promise<RunningBroker> {
  const log = opts.log;
  const base = opts.baseTopic ?? 'hearth';
  const host = opts.host ?? '0.0.0.0';
  let creds: CredentialsFile = { logins: {} };
  const reloadCredentials = async () => {
    if (!opts.credentialsFile) return;
    try {
      creds = await readCredentials(opts.credentialsFile);
      log.debug('credentials loaded', { logins: Object.keys(creds.logins).length });
    } catch (e) {
      log.error(`keeping the previous logins: ${(e as Error).message}`);
    }
  };
  await reloadCredentials();
  if (!opts.allowAnonymous && Object.keys(creds.logins).length === 0) {
    log.warn(`no logins yet: add one with "hearth hub add-device <id>" (credentials file ${opts.credentialsFile ?? '(none)'})`);
  }

  const security = (e: Parameters<NonNullable<BrokerOptions['onSecurityEvent']>>[0]) => {
    log.warn(e.message, { clientId: e.clientId, user: e.user, topic: e.topic });
    opts.onSecurityEvent?.(e);
  };

  const limits: HubLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const retained = new RetainedLedger();
  const peerOf = (client: Client | null | undefined) => (client?.conn as Partial<GatedConnection> | undefined)?.peer ?? 'unknown';
  /** Every client connection goes through the gate (limits.ts) before Aedes parses anything. */
  const gated = (conn: Duplex, peerHint?: string) => {
    const g = gateConnection(conn, {
      limits,
      onRefuse: (reason) => security({ type: 'refused', message: `closed the connection from ${g.peer}: ${reason}` }),
      onThrottle: (waitMs) =>
        security({
          type: 'throttled',
          message: `slowing the connection from ${g.peer}: over ${limits.messagesPerS} messages or ${limits.bytesPerS} bytes per second (next read in ${Math.ceil(waitMs)} ms)`,
        }),
    });
    if (peerHint) g.peer = peerHint;
    return g;
  };

  dropMqttNumberCache();
  const aedes = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      const c = client as WithSubject;
      if (!username || (opts.allowAnonymous && !creds.logins[username])) {
        // Development mode: clients without a known login get in with controller rights.
        if (opts.allowAnonymous) {
          c[SUBJECT] = { user: username ?? client.id, rights: 'controller' };
          noteTakeover(client);
          done(null, true);
          return;
        }
        security({ type: 'auth-failed', clientId: client.id, message: `refused ${client.id}: no credentials (anonymous access is off)` });
        done(authError('not authorized', 5), false);
        return;
      }
      const login = creds.logins[username];
      if (!login || !password) {
        security({
          type: 'auth-failed',
          clientId: client.id,
          user: username,
          message: `refused ${username}: unknown login or no password`,
        });
        done(authError('bad username or password', 4), false);
        return;
      }
      verifyPassword(password, login.hash).then(
        (ok) => {
          if (!ok) {
            security({ type: 'auth-failed', clientId: client.id, user: username, message: `refused ${username}: wrong password` });
            done(authError('bad username or password', 4), false);
            return;
          }
          if (login.rights === 'device' && client.id !== username) {
            security({
              type: 'auth-failed',
              clientId: client.id,
              user: username,
              message: `refused ${username}: a device must use its login as client id (got "${client.id}")`,
            });
            done(authError('identifier rejected', 2), false);
            return;
          }
          c[SUBJECT] = { user: username, rights: login.rights, grants: login.grants };
          noteTakeover(client);
          done(null, true);
        },
        (e) => done(authError(`auth error: ${(e as Error).message}`, 3), false),
      );
    },
    authorizePublish: (client, packet, cb) => {
      if (!client) {
        cb(null);
        return;
      }
      const s = (client as WithSubject)[SUBJECT];
      if (s && mayPublish(s, packet.topic, { base, haPrefix: opts.haPrefix })) {
        if (packet.retain) {
          const size = packet.payload.length;
          if (!retained.allows(s.user, packet.topic, size, limits.retainedBytesPerLogin)) {
            security({
              type: 'refused',
              clientId: client.id,
              user: s.user,
              topic: packet.topic,
              message: `refused a retained message of ${size} bytes from ${s.user} on ${packet.topic}: the login holds ${retained.used(s.user)} retained bytes and may hold ${limits.retainedBytesPerLogin}`,
            });
            cb(new Error('retained bytes limit'));
            return;
          }
          retained.record(s.user, packet.topic, size);
        }
        cb(null);
        return;
      }
      security({
        type: 'denied',
        clientId: client.id,
        user: s?.user,
        topic: packet.topic,
        message: `denied publish by ${s?.user ?? client.id} to ${packet.topic}`,
      });
      cb(new Error('not authorized'));
    },
    authorizeSubscribe: (client, sub, cb) => {
      const s = (client as WithSubject)[SUBJECT];
      if (s && maySubscribe(s, sub.topic, { base, haPrefix: opts.haPrefix })) {
        cb(null, sub);
        return;
      }
      security({
        type: 'denied',
        clientId: client.id,
        user: s?.user,
        topic: sub.topic,
        message: `denied subscribe by ${s?.user ?? client.id} to ${sub.topic}`,
      });
      cb(null, null); // a negative suback for this filter; the connection stays up
    },
  });
  /** A second connection with a client id that is connected already: Aedes closes the first; say so, with both addresses. */
  function noteTakeover(client: Client): void {
    const old = (aedes as unknown as { clients: Record<string, Client> }).clients[client.id];
    if (!old || old === client || old.closed) return;
    security({
      type: 'takeover',
      clientId: client.id,
      user: (client as WithSubject)[SUBJECT]?.user,
      message: `client id "${client.id}" connected from ${peerOf(client)} and takes over the connection from ${peerOf(old)} (two devices with one id?)`,
    });
  }
  aedes.on('clientError', (client, err) => log.debug('client error', { clientId: client.id, error: err.message }));

  const tcp: TcpServer = createTcpServer({ noDelay: true }, (sock) => aedes.handle(gated(sock))); // small messages: no Nagle delay
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(opts.port ?? 1883, host, () => {
      tcp.off('error', reject);
      resolve();
    });
  });
  const port = (tcp.address() as AddressInfo).port;

  let tlsServer: TlsServer | undefined;
  let tlsPort: number | null = null;
  if (opts.tls) {
    const [cert, key] = await Promise.all([readFile(opts.tls.certFile), readFile(opts.tls.keyFile)]);
    const ts = createTlsServer({ cert, key, minVersion: 'TLSv1.2' }, (sock) => {
      sock.setNoDelay(true);
      aedes.handle(gated(sock));
    });
    ts.on('tlsClientError', (e, sock) => log.warn(`TLS handshake from ${sock.remoteAddress}:${sock.remotePort} failed: ${e.message}`));
    await new Promise<void>((resolve, reject) => {
      ts.once('error', reject);
      ts.listen(opts.tls!.port ?? 8883, host, () => {
        ts.off('error', reject);
        resolve();
      });
    });
    tlsServer = ts;
    tlsPort = (ts.address() as AddressInfo).port;
  }

  let http: HttpServer | undefined;
  let wss: WebSocketServer | undefined;
  let wsPort: number | null = null;
  if (opts.wsPort !== undefined && opts.wsPort !== null) {
    http = createHttpServer((req, res) => {
      serveStatic(req, res).catch(() => res.writeHead(500).end());
    });
    wss = new WebSocketServer({ server: http, path: '/mqtt', maxPayload: limits.maxPacketBytes + 1024 }); // one MQTT packet per frame
    wss.on('connection', (ws, req) => {
      const stream = createWebSocketStream(ws);
      aedes.handle(gated(stream, `${req.socket.remoteAddress}:${req.socket.remotePort}`), req);
    });
    const h = http;
    await new Promise<void>((resolve, reject) => {
      h.once('error', reject);
      h.listen(opts.wsPort!, host, () => {
        h.off('error', reject);
        resolve();
      });
    });
    wsPort = (http.address() as AddressInfo).port;
  }

  if (opts.credentialsFile)
    watchFile(opts.credentialsFile, { interval: 1000 }, () => {
      void reloadCredentials();
    });
  log.info(
    `broker listening on mqtt://${host}:${port}${tlsPort !== null ? `, mqtts://${host}:${tlsPort}` : ''}${wsPort !== null ? ` and ws://${host}:${wsPort}/mqtt (console http://${host}:${wsPort}/)` : ''}`,
  );

  const clients = () => {
    const out: Array<{ clientId: string; user?: string }> = [];
    for (const c of Object.values((aedes as unknown as { clients: Record<string, WithSubject> }).clients)) {
      out.push({ clientId: c.id, user: c[SUBJECT]?.user });
    }
    return out;
  };
  return {
    aedes,
    port,
    wsPort,
    tlsPort,
    host,
    clients,
    logins: () => Object.keys(creds.logins).length,
    reloadCredentials,
    kick(user) {
      for (const c of Object.values((aedes as unknown as { clients: Record<string, WithSubject> }).clients))
        if (c[SUBJECT]?.user === user) c.close();
    },
    async close() {
      if (opts.credentialsFile) unwatchFile(opts.credentialsFile);
      for (const c of wss?.clients ?? []) c.terminate();
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => tcp.close(() => r()));
      if (tlsServer) await new Promise<void>((r) => tlsServer!.close(() => r()));
      if (http) {
        http.closeAllConnections();
        await new Promise<void>((r) => http!.close(() => r()));
      }
    },
  };
}
