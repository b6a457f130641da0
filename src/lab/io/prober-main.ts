// The lab's prober: a tiny stand-alone program the lab runs inside a source namespace (`ip netns
// exec NS node prober-main.ts`), one process per source doing all its destinations at once.
// stdin: {"timeoutMs":N,"parallel":N,"targets":[{"ip":"…","port":N,"protocol":"tcp"|"udp"}]};
// stdout: a JSON array of booleans, one per target. TCP: connected = handshake completed. UDP:
// connected = a datagram came back from the server. Imports only node built-ins so it starts fast.

import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

interface Target {
  readonly ip: string;
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
}

/**
 * The timeout's verdict, one event-loop turn late: timers run before the loop polls for I/O, so a
 * prober starved of CPU on a loaded machine would otherwise call "not connected" a handshake or
 * reply that arrived in time and only waits to be read. setImmediate runs after that poll, so what
 * the kernel already holds is seen first; a pair that never answers still waits the full timeout.
 */
function expire(verdict: () => void): void {
  setImmediate(verdict);
}

function probeTcp(t: Target, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: t.ip, port: t.port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => expire(() => done(false)), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

function probeUdp(t: Target, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    let finished = false;
    const done = (ok: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearInterval(resend);
      s.close();
      resolve(ok);
    };
    const timer = setTimeout(() => expire(() => done(false)), timeoutMs);
    // resend: the first datagram may be lost while ARP/neighbour resolution is pending
    const send = (): void => s.send('tricolor-probe\n', t.port, t.ip, () => undefined);
    const resend = setInterval(send, Math.max(100, Math.floor(timeoutMs / 4)));
    s.once('message', () => done(true));
    s.once('error', () => done(false));
    send();
  });
}

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const req = JSON.parse(Buffer.concat(chunks).toString()) as { timeoutMs: number; parallel: number; targets: Target[] };
  const results: boolean[] = new Array<boolean>(req.targets.length).fill(false);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < req.targets.length) {
      const i = next++;
      const t = req.targets[i];
      if (t === undefined) continue;
      results[i] = t.protocol === 'udp' ? await probeUdp(t, req.timeoutMs) : await probeTcp(t, req.timeoutMs);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(req.parallel, req.targets.length)) }, worker));
  process.stdout.write(JSON.stringify(results) + '\n');
}

await main();
