// QEMU guestfwd helper: `guestfwd=tcp:ADDR:PORT-cmd:node tcp-pipe.mjs HOSTPORT` starts this once
// per guest connection; it joins its stdin/stdout to 127.0.0.1:HOSTPORT (a chardev target would
// be one connection for the whole boot, so a reconnecting client would never get through).
import { connect } from 'node:net';
const sock = connect(Number(process.argv[2]), '127.0.0.1');
process.stdin.pipe(sock);
sock.pipe(process.stdout);
sock.on('close', () => process.exit(0));
sock.on('error', () => process.exit(1));
process.stdin.on('end', () => sock.end());
