// The host-wide IPAM lock: one holder at a time, waiters woken in turn, and a holder killed with
// SIGKILL releases it (no stale lock).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { acquireHostLock } from './host-lock.ts';
import { sleep } from '../../base/index.ts';

const unique = (): string => `tricolor-test-lock-${randomBytes(6).toString('hex')}`;

void test('one holder at a time; releasing wakes the next waiter', async () => {
  const name = unique();
  const order: string[] = [];
  const a = await acquireHostLock(name);
  const pending = [1, 2, 3].map(async (i) => {
    const l = await acquireHostLock(name);
    order.push(`in${i}`);
    await sleep(5);
    order.push(`out${i}`);
    await l.release();
  });
  await sleep(50);
  assert.equal(order.length, 0, 'nobody enters while the lock is held');
  await a.release();
  await Promise.all(pending);
  // strictly alternating in/out: never two holders at once
  for (let i = 0; i < order.length; i += 2) assert.equal(order[i]?.slice(0, 2), 'in');
  assert.equal(order.length, 6);
});

void test('a holder killed with SIGKILL releases the lock', async () => {
  const name = unique();
  const child = spawn(process.execPath, ['-e', `import('${new URL('./host-lock.ts', import.meta.url).href}').then(async (m) => { await m.acquireHostLock(${JSON.stringify(name)}); process.stdout.write('held\\n'); setInterval(() => {}, 1000); })`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve()));
  const waiting = acquireHostLock(name, 30_000);
  child.kill('SIGKILL');
  const l = await waiting;
  // it is really ours now: a second taker must wait for us
  let second = false;
  const s = acquireHostLock(name).then(async (x) => {
    second = true;
    await x.release();
  });
  await sleep(50);
  assert.equal(second, false);
  await l.release();
  await s;
});
