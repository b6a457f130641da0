// A lab pod's UDP server: one process that sends every datagram back to its sender. Not socat's
// UDP4-RECVFROM,fork: there the parent waits for each child's "consumed" signal while children that
// are still alive read the shared socket too, so a child can take the datagram meant for the next
// one; that child then waits for a datagram from its own peer forever, the parent waits for it,
// and the server never answers again (seen in CI: UDP 80/81 of one or two pods per lab went
// silent for the rest of the run; strace showed the hung child discarding everyone's datagrams).
// Usage: node udp-echo-main.ts PORT. Imports only node built-ins so it starts fast.

import { createSocket } from 'node:dgram';

const raw = process.argv[2];
const port = Number(raw);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write(`udp-echo: port: ${JSON.stringify(raw)} is not a port (1-65535)\n`);
  process.exit(2);
}
const socket = createSocket('udp4');
socket.on('message', (msg, from) => {
  socket.send(msg, from.port, from.address);
});
socket.on('error', (e) => {
  process.stderr.write(`udp-echo :${port}: ${e.message}\n`);
  process.exit(1);
});
socket.bind(port);
