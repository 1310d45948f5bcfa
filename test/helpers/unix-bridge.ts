// A TCP port reached through a Unix socket: run inside a network namespace, it lets a process
// outside (the test) talk to a server listening on the namespace's own loopback (a broker), since
// a Unix socket path is shared across namespaces while TCP loopback is not.
// Usage: node --import tsx test/helpers/unix-bridge.ts <socketPath> <port> [host]
// Waits until the port accepts connections, then prints one line "ready" on stdout.
import net from 'node:net';
import { rmSync } from 'node:fs';

const [socketPath, portArg, host = '127.0.0.1'] = process.argv.slice(2);
const port = Number(portArg);
if (!socketPath || !Number.isInteger(port)) {
  process.stderr.write('usage: unix-bridge.ts <socketPath> <port> [host]\n');
  process.exit(2);
}

function reachable(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const deadline = Date.now() + 30_000;
while (!(await reachable())) {
  if (Date.now() > deadline) {
    process.stderr.write(`nothing listens on ${host}:${port}\n`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 100));
}
rmSync(socketPath, { force: true });
const server = net.createServer((outside) => {
  const inside = net.connect(port, host);
  // Either side closing or failing closes the other: a broker restart looks like a dropped link.
  const end = () => {
    outside.destroy();
    inside.destroy();
  };
  outside.on('error', end).on('close', end);
  inside.on('error', end).on('close', end);
  outside.pipe(inside).pipe(outside);
});
server.listen(socketPath, () => process.stdout.write('ready\n'));
const stop = () => {
  server.close();
  rmSync(socketPath, { force: true });
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
