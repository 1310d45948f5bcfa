// hub: the embedded MQTT broker (Aedes) with per-device credentials and ACLs, TCP + WebSocket.
import { Type, Obj, Id, Port, type Static } from '../kit.ts';
import { defineRole } from '../role-spec.ts';
import { NtpServerConfig } from '../clock.ts';

export const HubConfig = Obj(
  {
    host: Type.Optional(Type.String({ description: 'address the MQTT TCP listener binds (default 0.0.0.0; 127.0.0.1 for a private hub)' })),
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'MQTT TCP port (default 1883; 0 picks a free one)' })),
    wsPort: Type.Optional(
      Type.Union([Port(), Type.Literal(0)], {
        description: 'HTTP port for MQTT over WebSocket (path /mqtt) and the web console (default 8080; 0 turns it off)',
      }),
    ),
    credentialsFile: Type.Optional(Type.String({ description: 'credentials + ACL file (default <state dir>/credentials.json)' })),
    allowAnonymous: Type.Optional(
      Type.Boolean({ description: 'let clients without credentials in with controller rights; local development only (default false)' }),
    ),
    tls: Type.Optional(
      Obj(
        {
          port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'mqtts port (default 8883; 0 picks a free one)' })),
          certFile: Type.String({ description: 'PEM certificate of the hub (hearth hub init-tls writes <dir>/hub.pem)' }),
          keyFile: Type.String({ description: 'PEM private key of the hub (<dir>/hub.key)' }),
        },
        { description: 'a TLS listener (mqtts://) beside the plain one; devices trust the house CA (mqtt.tls.ca / caFile)' },
      ),
    ),
    limits: Type.Optional(
      Obj(
        {
          maxPacketBytes: Type.Optional(
            Type.Integer({
              minimum: 70 * 1024,
              maximum: 16 * 1024 * 1024,
              description:
                'largest MQTT packet accepted, headers included (default 262144; above the 64 KiB payload limit); a bigger one closes the connection',
            }),
          ),
          messagesPerS: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 100_000,
              description: 'publishes per second per connection, sustained (default 100); above it the hub reads the client more slowly',
            }),
          ),
          messageBurst: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 1_000_000,
              description: 'publishes a connection may send at once above that rate (default 300)',
            }),
          ),
          bytesPerS: Type.Optional(
            Type.Integer({
              minimum: 1024,
              maximum: 1024 * 1024 * 1024,
              description: 'publish bytes per second per connection (default 262144; the burst is one second of it, or one largest packet)',
            }),
          ),
          retainedBytesPerLogin: Type.Optional(
            Type.Integer({
              minimum: 1024,
              maximum: 1024 * 1024 * 1024,
              description: 'retained bytes one login may hold on the hub (default 1048576); a retained message over it is refused',
            }),
          ),
        },
        { description: 'bounds that keep one client from slowing or filling the hub' },
      ),
    ),
    ntp: Type.Optional(NtpServerConfig),
  },
  { description: 'embedded MQTT broker for a house that has none' },
);

export const hubSpec = defineRole({
  name: 'hub',
  description: 'Embedded MQTT broker (Aedes, MQTT 3.1.1) with per-device credentials and ACLs, TCP and WebSocket listeners.',
  config: HubConfig,
  commands: {
    'add-device': {
      description: 'creates (or replaces) a device login and returns its new password once',
      args: Obj({
        device: Id('device id'),
        controller: Type.Optional(Type.Boolean({ description: 'controller rights (everything) instead of device rights' })),
      }),
      result: Obj({ device: Type.String(), password: Type.String() }),
    },
    'remove-device': {
      description: 'removes a login; its open connections are closed',
      args: Obj({ device: Id('device id') }),
    },
    clients: {
      description: 'lists connected clients',
      args: Obj({}),
      result: Type.Array(Obj({ clientId: Type.String(), user: Type.Optional(Type.String()) })),
    },
  },
  state: Obj({
    mqtt: Type.String({ description: 'TCP listener host:port' }),
    mqtts: Type.Optional(Type.String({ description: 'TLS listener host:port' })),
    ws: Type.Optional(Type.String({ description: 'WebSocket/console listener host:port' })),
    clients: Type.Integer({ description: 'connected clients' }),
    logins: Type.Integer({ description: 'logins in the credentials file' }),
    anonymous: Type.Boolean(),
    ntp: Type.Optional(
      Type.String({ description: 'where house time is served (host:port), or why not (e.g. "port 123 taken: chrony serves")' }),
    ),
  }),
  events: {
    'auth-failed': Obj(
      { clientId: Type.Optional(Type.String()), user: Type.Optional(Type.String()) },
      { description: 'a client was refused at connect' },
    ),
    denied: Obj(
      { clientId: Type.Optional(Type.String()), user: Type.Optional(Type.String()), topic: Type.Optional(Type.String()) },
      { description: 'a publish or subscribe was refused by the ACL' },
    ),
    refused: Obj(
      { clientId: Type.Optional(Type.String()), user: Type.Optional(Type.String()), topic: Type.Optional(Type.String()) },
      { description: 'a packet or retained message over a limit, or a string MQTT 3.1.1 forbids' },
    ),
    throttled: Obj(
      { clientId: Type.Optional(Type.String()), user: Type.Optional(Type.String()), topic: Type.Optional(Type.String()) },
      { description: 'a client over its publish rate is read more slowly' },
    ),
    takeover: Obj(
      { clientId: Type.Optional(Type.String()), user: Type.Optional(Type.String()), topic: Type.Optional(Type.String()) },
      { description: 'a client id connected a second time (the first connection is closed)' },
    ),
    'login-added': Obj({ device: Type.String() }, { description: 'add-login command' }),
  },
  order: -1,
  // The hub serves the web console: Home Assistant links it from the device page.
  configurationUrl: (c: Static<typeof HubConfig>, address: string | undefined) =>
    address && c.wsPort !== 0 ? `http://${address}:${c.wsPort ?? 8080}/` : undefined,
});
