// A long-running TCP prober for latency benchmarks, run inside a pod's namespace
// (`ip netns exec NS node bench/flip-prober.lib.ts IP PORT`). Every INTERVAL ms it starts one
// connection attempt (attempts overlap, each with its own timeout) and prints one JSON line per
// finished attempt: {"start": <epoch ms when the SYN went out>, "ok": <handshake completed>}.
// The bench reading it takes the start time of the first attempt after a write whose outcome
// differs from before the write. Only node built-ins, so it starts fast. Stops on stdin EOF.

import { connect } from 'node:net';

const [ip, portText, intervalText, timeoutText] = process.argv.slice(2);
const port = Number(portText);
const intervalMs = Number(intervalText ?? '10');
const timeoutMs = Number(timeoutText ?? '150');
if (ip === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write('usage: flip-prober.lib.ts IP PORT [INTERVAL_MS] [TIMEOUT_MS]\n');
  process.exit(2);
}

function attempt(): void {
  const start = Date.now();
  const s = connect({ host: ip, port });
  let settled = false;
  const done = (ok: boolean): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    s.destroy();
    process.stdout.write(`${JSON.stringify({ start, ok })}\n`);
  };
  const timer = setTimeout(() => done(false), timeoutMs);
  s.once('connect', () => done(true));
  s.once('error', () => done(false));
}

const tick = setInterval(attempt, intervalMs);
process.stdin.on('data', () => undefined);
process.stdin.on('end', () => {
  clearInterval(tick);
  setTimeout(() => process.exit(0), timeoutMs + 20);
});
