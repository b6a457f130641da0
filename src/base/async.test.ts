// Scheduling primitives: coalescing, no lost run after a change mid-run, no overlap, errors
// delivered, disposal; the throttler's "latest wins"; back-off growth, cap, reset and jitter
// bounds. Real timers with tiny delays; assertions are about counts and order, never durations.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff, RerunningTask, RunOnceScheduler, Throttler, interval, mapLimit, sleep, timeout, waitFor } from './async.ts';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

void describe('RunOnceScheduler', () => {
  void it('coalesces a burst into one run', async () => {
    let runs = 0;
    const s = new RunOnceScheduler(() => runs++, { delayMs: 1 });
    for (let i = 0; i < 10; i++) s.schedule();
    assert.ok(s.pending);
    await s.whenIdle();
    assert.equal(runs, 1);
    assert.ok(!s.pending);
    s.dispose();
  });

  void it('with a minimum interval (as the agent\'s calc flusher): a burst runs once, a later schedule again, none after dispose', async () => {
    let runs = 0;
    const s = new RunOnceScheduler(() => runs++, { delayMs: 1, minIntervalMs: 5 });
    for (let i = 0; i < 100; i++) s.schedule();
    await s.whenIdle();
    assert.equal(runs, 1);
    s.schedule();
    s.schedule();
    await s.whenIdle();
    assert.equal(runs, 2);
    s.schedule();
    s.dispose();
    await sleep(20);
    assert.equal(runs, 2);
  });

  void it('a schedule() during an async run queues exactly one more run, never an overlapping one', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    let release: () => void = () => undefined;
    const s = new RunOnceScheduler(
      async () => {
        runs++;
        active++;
        maxActive = Math.max(maxActive, active);
        if (runs === 1) await new Promise<void>((r) => (release = r));
        active--;
      },
      { delayMs: 0 },
    );
    s.schedule();
    await waitFor(() => (runs === 1 ? true : undefined), 5000, 1);
    s.schedule();
    s.schedule();
    release();
    await waitFor(() => (runs === 2 && !s.pending ? true : undefined), 5000, 1);
    await s.whenIdle();
    assert.equal(runs, 2);
    assert.equal(maxActive, 1);
    s.dispose();
  });

  void it('errors go to onError (sync and async) and the scheduler keeps working', async () => {
    const errors: string[] = [];
    let n = 0;
    const s = new RunOnceScheduler(
      () => {
        n++;
        if (n === 1) throw new Error('sync');
        if (n === 2) return Promise.reject(new Error('async'));
        return undefined;
      },
      { delayMs: 0, onError: (e) => errors.push((e as Error).message) },
    );
    for (let i = 0; i < 3; i++) {
      s.schedule();
      await s.whenIdle();
    }
    assert.deepEqual(errors, ['sync', 'async']);
    assert.equal(n, 3);
    s.dispose();
  });

  void it('cancel, flush, reschedule and dispose', async () => {
    let runs = 0;
    const s = new RunOnceScheduler(() => runs++, { delayMs: 10_000 });
    s.schedule();
    s.cancel();
    assert.ok(!s.pending);
    s.schedule();
    s.flush();
    assert.equal(runs, 1);
    s.reschedule(0);
    await s.whenIdle();
    assert.equal(runs, 2);
    s.schedule();
    const idle = s.whenIdle();
    s.dispose();
    await idle;
    s.schedule();
    assert.ok(!s.pending);
    assert.equal(runs, 2);
  });
});

void describe('RerunningTask', () => {
  void it('one pass at a time; asked during a pass, exactly one more pass; every caller waits for a pass that started after it', async () => {
    let passes = 0;
    let release: () => void = () => undefined;
    const seenAtStart: number[] = [];
    let asked = 0;
    const t = new RerunningTask(async () => {
      passes++;
      seenAtStart.push(asked);
      await new Promise<void>((r) => (release = r));
      return passes;
    });
    asked = 1;
    const first = t.run();
    await tick();
    assert.equal(passes, 1);
    asked = 2;
    const second = t.run();
    asked = 3;
    const third = t.run();
    assert.equal(first, second);
    assert.equal(second, third);
    release();
    await tick();
    assert.equal(passes, 2, 'one more pass for both requests');
    assert.deepEqual(seenAtStart, [1, 3], 'the second pass started after the last request');
    release();
    assert.equal(await third, 2, 'the last pass\'s result');
    assert.equal(t.running, undefined);
    const next = t.run();
    await tick();
    release();
    assert.equal(await next, 3, 'a request after the sequence starts a new one');
  });

  void it('an error ends the sequence and rejects it; stopped() ends it before a further pass', async () => {
    let fail = true;
    const failing = new RerunningTask(() => (fail ? Promise.reject(new Error('boom')) : Promise.resolve('ok')));
    await assert.rejects(failing.run(), /boom/);
    fail = false;
    assert.equal(await failing.run(), 'ok');

    let stopped = false;
    let passes = 0;
    let release: () => void = () => undefined;
    const t = new RerunningTask(
      async () => {
        passes++;
        await new Promise<void>((r) => (release = r));
      },
      { stopped: () => stopped },
    );
    const p = t.run();
    await tick();
    void t.run();
    stopped = true;
    release();
    await p;
    assert.equal(passes, 1, 'no pass after stop');
  });
});

void describe('Throttler', () => {
  void it('runs one job at a time; callers queued meanwhile share the latest job', async () => {
    const t = new Throttler<string>();
    const ran: string[] = [];
    let release: () => void = () => undefined;
    const first = t.queue(async () => {
      ran.push('1');
      await new Promise<void>((r) => (release = r));
      return '1';
    });
    assert.ok(t.busy);
    const second = t.queue(() => Promise.resolve((ran.push('2'), '2')));
    const third = t.queue(() => Promise.resolve((ran.push('3'), '3')));
    assert.equal(second, third);
    await tick();
    release();
    assert.equal(await first, '1');
    assert.equal(await second, '3');
    assert.deepEqual(ran, ['1', '3']);
    await tick();
    assert.ok(!t.busy);
  });

  void it('a failed job does not block the next', async () => {
    const t = new Throttler<number>();
    const a = t.queue(() => Promise.reject(new Error('no')));
    const b = t.queue(() => Promise.resolve(2));
    await assert.rejects(a, /no/);
    assert.equal(await b, 2);
  });
});

void describe('Backoff', () => {
  void it('grows by the factor, caps, and resets', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000 });
    assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000, 1000]);
    assert.equal(b.attempt, 6);
    b.reset();
    assert.equal(b.next(), 100);
    const f = new Backoff({ initialMs: 10, maxMs: 100, factor: 3 });
    assert.deepEqual([f.next(), f.next(), f.next()], [10, 30, 90]);
  });

  void it('jitter stays within [base·(1−j), base]', () => {
    let x = 0;
    const values = [0, 0.5, 0.999];
    const b = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.5, random: () => values[x++ % 3] ?? 0 });
    assert.deepEqual([b.next(), b.next(), b.next()], [500, 750, 1000]);
  });
});

void describe('timers and helpers', () => {
  void it('a disposed timeout never fires; an interval stops when disposed', async () => {
    let fired = 0;
    timeout(() => fired++, 1).dispose();
    let ticks = 0;
    const i = interval(() => ticks++, 1);
    await waitFor(() => (ticks >= 2 ? true : undefined), 5000, 1);
    i.dispose();
    const seen = ticks;
    await sleep(5);
    assert.equal(ticks, seen);
    assert.equal(fired, 0);
  });

  void it('sleep ends early on abort', async () => {
    const ac = new AbortController();
    const p = sleep(60_000, ac.signal);
    ac.abort();
    await p;
    await sleep(60_000, ac.signal);
  });

  void it('waitFor returns the first defined value, or undefined at the deadline', async () => {
    let n = 0;
    assert.equal(await waitFor(() => (++n === 3 ? 'yes' : undefined), 5000, 1), 'yes');
    assert.equal(await waitFor(() => undefined, 0, 1), undefined);
  });

  void it('mapLimit keeps order and the limit', async () => {
    let active = 0;
    let max = 0;
    const out = await mapLimit([1, 2, 3, 4, 5], 2, async (x) => {
      active++;
      max = Math.max(max, active);
      await tick();
      active--;
      return x * 10;
    });
    assert.deepEqual(out, [10, 20, 30, 40, 50]);
    assert.equal(max, 2);
    assert.deepEqual(await mapLimit([], 4, () => Promise.resolve(1)), []);
  });
});
