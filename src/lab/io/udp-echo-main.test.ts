// The lab's UDP pod server as a real process on loopback: many senders at once each get their own
// datagram back (what socat's fork-per-datagram server failed at under concurrent probes), and a
// bad port is refused naming the value.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

const ECHO = join(import.meta.dirname, 'udp-echo-main.ts');

function ask(port: number, text: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const done = (v: string | undefined): void => {
      clearTimeout(timer);
      clearInterval(resend);
      s.close();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    const send = (): void => s.send(text, port, '127.0.0.1', () => undefined);
    const resend = setInterval(send, 200);
    s.once('message', (m) => done(m.toString()));
    send();
  });
}

void test('udp echo: 32 senders at once, 5 rounds, each gets its own datagram back', { timeout: 60_000 }, async () => {
  const port = 20_000 + (process.pid % 20_000);
  const p = spawn(process.execPath, [ECHO, String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    // bound once it answers
    for (let i = 0; (await ask(port, 'up?', 200)) === undefined; i++) {
      assert.ok(i < 100, `the echo server never answered: ${stderr}`);
      await sleep(50);
    }
    for (let round = 0; round < 5; round++) {
      const texts = Array.from({ length: 32 }, (_, i) => `r${round}-s${i}`);
      const got = await Promise.all(texts.map((t) => ask(port, t, 10_000)));
      assert.deepEqual(got, texts);
    }
  } finally {
    p.kill('SIGTERM');
  }
});

void test('udp echo: a bad port is refused naming the value', () => {
  const r = spawnSync(process.execPath, [ECHO, '70000'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /port: "70000" is not a port/);
});
