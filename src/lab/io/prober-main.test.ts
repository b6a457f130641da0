// The lab's prober as the lab runs it (a child process reading its request on stdin), against
// real sockets on loopback: a TCP listener and a UDP echo answer, a closed TCP port refuses, a
// silent UDP port is "not connected" once the timeout has passed; targets of both protocols and
// several ports in one request come back in request order.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { PROBER } from './paths.ts';

let tcp: Server;
let closedTcp: number;
let udp: Socket;
let silentUdp: Socket;

before(async () => {
  tcp = createServer((c) => c.end());
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  // a port that was just free: nothing listens there
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  closedTcp = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  udp = createSocket('udp4');
  udp.on('message', (m, from) => udp.send(m, from.port, from.address));
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  // bound but never answering: a probe there must wait out its timeout
  silentUdp = createSocket('udp4');
  await new Promise<void>((r) => silentUdp.bind(0, '127.0.0.1', r));
});

after(() => {
  tcp.close();
  udp.close();
  silentUdp.close();
});

function runProber(req: unknown): Promise<boolean[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PROBER], { stdio: ['pipe', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(Buffer.concat(out).toString()) as boolean[]) : reject(new Error(`prober exited ${code}`))));
    child.stdin.end(JSON.stringify(req));
  });
}

void test('one prober answers every target of every protocol and port, in request order', async () => {
  const port = (s: Server | Socket): number => (s.address() as AddressInfo).port;
  const targets = [
    { ip: '127.0.0.1', port: port(tcp), protocol: 'tcp' },
    { ip: '127.0.0.1', port: port(udp), protocol: 'udp' },
    { ip: '127.0.0.1', port: closedTcp, protocol: 'tcp' },
    { ip: '127.0.0.1', port: port(silentUdp), protocol: 'udp' },
    { ip: '127.0.0.1', port: port(udp), protocol: 'udp' },
    { ip: '127.0.0.1', port: port(tcp), protocol: 'tcp' },
  ];
  assert.deepEqual(await runProber({ timeoutMs: 400, parallel: 64, targets }), [true, true, false, false, true, true]);
  // one at a time gives the same answers
  assert.deepEqual(await runProber({ timeoutMs: 400, parallel: 1, targets }), [true, true, false, false, true, true]);
  assert.deepEqual(await runProber({ timeoutMs: 400, parallel: 4, targets: [] }), []);
});
