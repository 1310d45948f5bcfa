// A UDP tap inside a namespace, driven over IPC: joins group:port pairs and forwards every
// datagram to the parent, and sends datagrams the parent hands it (hostile packets, fake senders).
// parent → child: {t:'listen', group, port} {t:'send', data, group, port, ttl?}
// child → parent: {t:'ready'} {t:'listening', group, port} {t:'dgram', group, port, from, data, wallMs}
import dgram from 'node:dgram';

const socks: dgram.Socket[] = [];
const out = dgram.createSocket({ type: 'udp4', reuseAddr: true });
out.bind(0, '127.0.0.1', () => {
  out.setMulticastTTL(1);
  out.setMulticastLoopback(true);
  out.setMulticastInterface('127.0.0.1');
  process.send!({ t: 'ready' });
});

process.on('message', (m: { t: string; group: string; port: number; data?: Uint8Array; from?: string }) => {
  if (m.t === 'listen') {
    const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    s.on('message', (data, r) =>
      process.send!({
        t: 'dgram',
        group: m.group,
        port: m.port,
        from: r.address,
        data,
        wallMs: performance.timeOrigin + performance.now(),
      }),
    );
    s.bind({ port: m.port, address: m.group, exclusive: false }, () => {
      s.addMembership(m.group, '127.0.0.1');
      process.send!({ t: 'listening', group: m.group, port: m.port });
    });
    socks.push(s);
  } else if (m.t === 'send') {
    out.send(Buffer.from(m.data!), m.port, m.group);
  }
});
process.on('disconnect', () => process.exit(0));
