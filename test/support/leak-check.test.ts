// The leak check itself: it fails on a timer, a server, a socket and a child left behind (naming
// each with the line that created it), and passes once they are released. Without these cases
// the component leak tests (test/e2e/leak-check.test.ts) could be passing because they cannot fail.

import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { LeakTracker, checkNoLeaks } from './leak-check.ts';

const SETTLE_MS = 300;

void describe('leak check', () => {
  void it('fails on a timer left running, naming it and the line that created it', async () => {
    let leaked: NodeJS.Timeout | undefined;
    await assert.rejects(
      checkNoLeaks(
        'a deliberately leaky component',
        async () => {
          leaked = setTimeout(() => undefined, 60_000); // the leak
        },
        SETTLE_MS,
      ),
      (e: Error) => {
        assert.match(e.message, /a deliberately leaky component left 1 resource behind after dispose/);
        assert.match(e.message, /a timer \(Timeout\)/);
        assert.match(e.message, /leak-check\.test\.ts:\d+/, 'the creation stack names the test line');
        return true;
      },
    );
    clearTimeout(leaked);
  });

  void it('fails on an interval too, and an unref()ed timer is still a leak', async () => {
    const t = LeakTracker.start();
    const a = setInterval(() => undefined, 60_000);
    const b = setTimeout(() => undefined, 60_000).unref();
    const left = await t.leftovers(SETTLE_MS);
    t.dispose();
    clearInterval(a);
    clearTimeout(b);
    assert.deepEqual(
      left.map((l) => l.what),
      ['timer', 'timer'],
    );
  });

  void it('passes when the timer is cleared or has fired', async () => {
    await checkNoLeaks('a tidy component', async () => {
      const t = setTimeout(() => undefined, 60_000);
      clearTimeout(t);
      await new Promise((r) => setTimeout(r, 5));
      const i = setInterval(() => undefined, 10);
      clearInterval(i);
    });
  });

  void it('fails on a listening server, passes once it is closed', async () => {
    const t = LeakTracker.start();
    const server: Server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const left = await t.leftovers(SETTLE_MS);
    assert.deepEqual(
      left.map((l) => l.what),
      ['TCP server'],
    );
    await new Promise<void>((r) => server.close(() => r()));
    assert.deepEqual(await t.leftovers(), []);
    t.dispose();
  });

  void it('fails on a child process still running, passes once it was reaped', async () => {
    const t = LeakTracker.start();
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    const left = await t.leftovers(SETTLE_MS);
    assert.ok(
      left.some((l) => l.what === 'child process'),
      JSON.stringify(left),
    );
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    assert.deepEqual(await t.leftovers(), []);
    t.dispose();
  });

  void it('does not count what existed before it started', async () => {
    const before = setInterval(() => undefined, 60_000);
    try {
      await checkNoLeaks('nothing', async () => undefined);
    } finally {
      clearInterval(before);
    }
  });
});
