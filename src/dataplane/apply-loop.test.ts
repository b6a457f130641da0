// The shared apply loop with a fake dataplane step (our own port): coalescing, the readiness
// gate, retry with back-off after a failure, and a change arriving during a resync.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplyLoop } from './apply-loop.ts';
import type { ApplyLoopOptions } from './apply-loop.ts';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

function harness(over: Partial<ApplyLoopOptions> = {}) {
  const log: string[] = [];
  let version = 0;
  let programmed = -1;
  let failNext = 0;
  let ready = true;
  let resyncGate: Promise<void> = Promise.resolve();
  const loop = new ApplyLoop({
    ready: () => ready,
    apply: async () => {
      const v = version;
      await tick();
      if (failNext > 0) {
        failNext--;
        throw new Error(`apply of ${v} failed`);
      }
      programmed = v;
      log.push(`apply ${v}`);
      return { operations: 1, detail: `v${v}` };
    },
    resync: async () => {
      const v = version; // rendered before the first await, as the contract asks
      await resyncGate;
      programmed = v;
      log.push(`resync ${v}`);
      return { drift: [], repaired: false };
    },
    resyncIntervalMs: 0,
    retryMinMs: 5,
    retryMaxMs: 20,
    onError: (e) => log.push(`error ${(e as Error).message}`),
    ...over,
  });
  return {
    loop,
    log,
    change() {
      version++;
      loop.markDirty();
    },
    get programmed() {
      return programmed;
    },
    failNext(n: number) {
      failNext = n;
    },
    setReady(r: boolean) {
      ready = r;
    },
    holdResync() {
      let release!: () => void;
      resyncGate = new Promise((r) => (release = r));
      return () => release();
    },
  };
}

void test('changes before the apply runs are coalesced into one apply', async (t) => {
  const h = harness();
  t.after(() => h.loop.dispose());
  h.change();
  h.change();
  h.change();
  await h.loop.flush();
  await tick(5);
  assert.deepEqual(h.log, ['apply 3']);
  assert.ok(h.loop.lastApplyAt !== undefined);
});

void test('nothing is programmed before ready; the held change applies once ready', async (t) => {
  const h = harness();
  t.after(() => h.loop.dispose());
  h.setReady(false);
  h.change();
  await h.loop.flush();
  assert.deepEqual(h.log, []);
  assert.equal(h.loop.lastApplyAt, undefined);
  assert.deepEqual(await h.loop.resyncNow(), { drift: [], repaired: false });
  h.setReady(true);
  await h.loop.flush();
  assert.deepEqual(h.log, ['apply 1']);
});

void test('a failed apply stays dirty and is retried with back-off until it succeeds', async (t) => {
  const h = harness();
  t.after(() => h.loop.dispose());
  h.failNext(2);
  h.change();
  await assert.rejects(h.loop.flush(), /apply of 1 failed/);
  for (let i = 0; i < 200 && h.programmed !== 1; i++) await tick(5);
  assert.equal(h.programmed, 1);
  assert.deepEqual(h.log, ['error apply of 1 failed', 'error apply of 1 failed', 'apply 1']);
});

void test('a change arriving while a resync reads back is applied after it', async (t) => {
  const h = harness();
  t.after(() => h.loop.dispose());
  h.change();
  await h.loop.flush();
  const release = h.holdResync();
  const resync = h.loop.resyncNow();
  await tick();
  h.change(); // lands while the resync awaits its read-back
  release();
  await resync;
  await h.loop.flush();
  assert.equal(h.programmed, 2);
  assert.deepEqual(h.log, ['apply 1', 'resync 1', 'apply 2']);
});

void test('a resync that overtakes the pending retry counts as that apply (applied, ready, back-off reset)', async (t) => {
  const applied: string[] = [];
  // a retry far off, so the periodic resync is what runs next
  const h = harness({ retryMinMs: 60_000, retryMaxMs: 60_000, onApplied: (r) => applied.push(r.detail) });
  t.after(() => h.loop.dispose());
  h.failNext(1);
  h.change();
  for (let i = 0; i < 200 && h.log.length === 0; i++) await tick(5);
  assert.deepEqual(h.log, ['error apply of 1 failed']);
  assert.equal(h.loop.lastApplyAt, undefined);
  await h.loop.resyncNow(); // programs version 1
  assert.equal(h.programmed, 1);
  assert.ok(h.loop.lastApplyAt !== undefined, 'the resync is the first successful apply');
  assert.deepEqual(applied, ['resync (0 repairs)']);
  await h.loop.flush(); // what the retry would do: nothing is left
  assert.deepEqual(h.log, ['error apply of 1 failed', 'resync 1']);
  await h.loop.resyncNow(); // a resync of a clean state is not an apply
  assert.deepEqual(applied, ['resync (0 repairs)']);
});

void test('dispose stops scheduled applies', async () => {
  const h = harness();
  h.change();
  h.loop.dispose();
  await tick(5);
  assert.deepEqual(h.log, []);
});
