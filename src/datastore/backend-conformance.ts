// The one conformance suite every DatastoreBackend runs (sqlite-backend.test.ts,
// etcd-backend.test.ts): etcd v3 semantics for create/update/put/delete/txn (also past etcd's
// 128-op transaction limit: still one atomic transaction), prefix lists,
// revisions, and watches (replay, live, per-txn batches, prev values, close, compaction),
// plus several OS processes doing CAS increments on one key with no lost update. IPAM's
// correctness rests on exactly these properties, so both backends must pass the same tests.
// Not exported from index.ts: it registers node:test tests and is for test files only.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { isTricolorError, sleep, withoutDatastoreEnv, type ErrorCode } from '../base/index.ts';
import { exec } from '../base/io/index.ts';
import type { DatastoreBackend, TxnOp, WatchEvent, WatchHandlers } from './backend.ts';
import { datastoreEnvOf, type DatastoreConfig } from './open.ts';
import { batchFailures, ResourceClient } from './resource-client.ts';

export interface BackendUnderTest {
  readonly backend: DatastoreBackend;
  cleanup(): Promise<void>;
  /** How child processes open the same store (for the multi-process test). */
  readonly config?: DatastoreConfig;
  /** Discard history before `revision` (etcd compaction), for the onCompacted test. */
  compact?(revision: number): Promise<void>;
}

const WAIT_MS = 15_000;
const GNS_PREFIX = '/calico/resources/v3/projectcalico.org/globalnetworksets/';

/** Assert that `p` rejects with a TricolorError of `code`; returns it for further checks. */
export async function rejectsWith(p: Promise<unknown>, code: ErrorCode): Promise<{ detail: unknown; message: string }> {
  try {
    await p;
  } catch (e) {
    assert.ok(isTricolorError(e, code), `expected ${code}, got ${String(e)}`);
    return e;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

/** A watch recording every batch, with a way to wait until enough events have arrived. */
export interface Recorder {
  readonly batches: WatchEvent[][];
  readonly compacted: number[];
  events(): WatchEvent[];
  waitFor(pred: () => boolean, what: string): Promise<void>;
  close(): Promise<void>;
}

export function record(backend: DatastoreBackend, prefix: string, fromRevision: number): Recorder {
  const batches: WatchEvent[][] = [];
  const compacted: number[] = [];
  let wake: (() => void) | undefined;
  const handlers: WatchHandlers = {
    onEvents(events) {
      batches.push([...events]);
      wake?.();
    },
    onCompacted(rev) {
      compacted.push(rev);
      wake?.();
    },
  };
  const w = backend.watch(prefix, fromRevision, handlers);
  const events = (): WatchEvent[] => batches.flat();
  return {
    batches,
    compacted,
    events,
    async waitFor(pred, what) {
      const deadline = Date.now() + WAIT_MS;
      while (!pred()) {
        if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; got ${JSON.stringify(batches)}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
    },
    close: () => w.close(),
  };
}

export const eventKey = (e: WatchEvent): string => (e.type === 'put' ? e.kv.key : e.key);
export const eventRevision = (e: WatchEvent): number => (e.type === 'put' ? e.kv.modRevision : e.revision);

function envFor(cfg: DatastoreConfig): NodeJS.ProcessEnv {
  return { ...withoutDatastoreEnv(process.env), ...datastoreEnvOf(cfg) };
}

const CHILD_TIMEOUT_MS = 120_000;

/**
 * Run a child script that is meant to kill itself; resolves with the signal that ended it. No
 * kill-on-timeout here (it would look like the child's own SIGKILL): the suite's timeout bounds it.
 */
async function runChildExpectingKill(cfg: DatastoreConfig, script: string, args: string[]): Promise<string> {
  const file = join(import.meta.dirname, '..', '..', 'test', 'support', script);
  const r = await exec([process.execPath, file, ...args], { env: envFor(cfg) });
  // exec reports a death by signal n as 128 + n, as a shell does
  const signal = ({ 137: 'SIGKILL', 143: 'SIGTERM', 134: 'SIGABRT', 139: 'SIGSEGV' } as Record<number, string>)[r.status];
  if (signal !== undefined) return signal;
  throw new Error(`${script} exited ${r.status} without being killed:\n${r.stderr}`);
}

/** Run a test-support child script with the datastore env; resolves with its stdout. */
export async function runChild(cfg: DatastoreConfig, script: string, args: string[]): Promise<string> {
  const file = join(import.meta.dirname, '..', '..', 'test', 'support', script);
  const r = await exec([process.execPath, file, ...args], { env: envFor(cfg), timeoutMs: CHILD_TIMEOUT_MS });
  if (r.status !== 0) throw new Error(`${script} failed (exit ${r.status}):\n${r.stderr}`);
  return r.stdout;
}

export function runBackendConformance(name: string, makeBackend: () => Promise<BackendUnderTest>): void {
  void describe(`${name}: DatastoreBackend conformance`, { timeout: 180_000 }, () => {
    let h: BackendUnderTest;
    let b: DatastoreBackend;
    // every test writes under its own prefix so they share one store without interfering
    const fresh = (): string => `/conf/${randomUUID().slice(0, 8)}/`;

    before(async () => {
      h = await makeBackend();
      b = h.backend;
    });
    after(async () => {
      await h.cleanup();
    });

    void test('create: new key has version 1 and create == mod revision; second create is ERR_ALREADY_EXISTS with the current value', async () => {
      const p = fresh();
      const before = await b.revision();
      const kv = await b.create(`${p}k`, 'v1');
      assert.deepEqual({ key: kv.key, value: kv.value, version: kv.version }, { key: `${p}k`, value: 'v1', version: 1 });
      assert.equal(kv.createRevision, kv.modRevision);
      assert.ok(kv.modRevision > before);
      assert.equal(await b.revision(), kv.modRevision);
      const err = await rejectsWith(b.create(`${p}k`, 'v2'), 'ERR_ALREADY_EXISTS');
      assert.deepEqual(err.detail, kv);
      assert.match(err.message, /already exists/);
      assert.deepEqual(await b.get(`${p}k`), kv, 'failed create leaves the value alone');
      assert.equal(await b.revision(), kv.modRevision, 'failed create does not bump the revision');
    });

    void test('get: absent key is undefined; present key round-trips value and metadata', async () => {
      const p = fresh();
      assert.equal(await b.get(`${p}missing`), undefined);
      const values = ['', '{"a":1}', 'ünïcødé ✓', 'x'.repeat(100_000)];
      for (const [i, v] of values.entries()) {
        const kv = await b.create(`${p}${i}`, v);
        assert.deepEqual(await b.get(`${p}${i}`), kv);
      }
    });

    void test('update: CAS on mod revision; keeps createRevision, bumps version; conflict and missing errors', async () => {
      const p = fresh();
      const k = `${p}k`;
      const v1 = await b.create(k, 'a');
      const v2 = await b.update(k, 'b', v1.modRevision);
      assert.equal(v2.version, 2);
      assert.equal(v2.createRevision, v1.createRevision);
      assert.ok(v2.modRevision > v1.modRevision);
      assert.deepEqual(await b.get(k), v2);
      const conflict = await rejectsWith(b.update(k, 'c', v1.modRevision), 'ERR_UPDATE_CONFLICT');
      assert.deepEqual(conflict.detail, v2);
      await rejectsWith(b.update(k, 'c', 0), 'ERR_UPDATE_CONFLICT');
      await rejectsWith(b.update(`${p}missing`, 'c', v1.modRevision), 'ERR_NOT_FOUND');
      await rejectsWith(b.update(`${p}missing`, 'c', 0), 'ERR_NOT_FOUND');
      assert.equal(await b.get(`${p}missing`), undefined, 'update never creates');
      assert.deepEqual(await b.get(k), v2);
    });

    void test('put: unconditional upsert', async () => {
      const p = fresh();
      const a = await b.put(`${p}k`, 'a');
      assert.equal(a.version, 1);
      assert.equal(a.createRevision, a.modRevision);
      const c = await b.put(`${p}k`, 'c');
      assert.equal(c.version, 2);
      assert.equal(c.createRevision, a.createRevision);
      assert.deepEqual(await b.get(`${p}k`), c);
    });

    void test('delete: with and without revision; conflict keeps the key; missing is ERR_NOT_FOUND; recreate starts over', async () => {
      const p = fresh();
      const k = `${p}k`;
      const v1 = await b.create(k, 'a');
      const v2 = await b.update(k, 'b', v1.modRevision);
      const conflict = await rejectsWith(b.delete(k, v1.modRevision), 'ERR_UPDATE_CONFLICT');
      assert.deepEqual(conflict.detail, v2);
      assert.deepEqual(await b.get(k), v2);
      assert.deepEqual(await b.delete(k, v2.modRevision), v2);
      assert.equal(await b.get(k), undefined);
      await rejectsWith(b.delete(k), 'ERR_NOT_FOUND');
      await rejectsWith(b.delete(k, v2.modRevision), 'ERR_NOT_FOUND');
      const again = await b.create(k, 'c');
      assert.equal(again.version, 1);
      assert.ok(again.createRevision > v2.modRevision);
      assert.deepEqual(await b.delete(k), again);
      assert.equal(await b.get(k), undefined);
    });

    void test('txn: all compares hold → every op at one new revision; any fails → nothing applied, current values reported', async () => {
      const p = fresh();
      const a = await b.create(`${p}a`, '1');
      const del = await b.create(`${p}del`, 'x');
      // compare on an absent key with modRevision 0 = "must not exist"
      const ok = await b.txn(
        [
          { key: `${p}a`, modRevision: a.modRevision },
          { key: `${p}new`, modRevision: 0 },
        ],
        [
          { op: 'put', key: `${p}a`, value: '2' },
          { op: 'put', key: `${p}new`, value: 'n' },
          { op: 'delete', key: `${p}del` },
        ],
      );
      assert.equal(ok.succeeded, true);
      assert.equal(ok.revision, await b.revision());
      const a2 = await b.get(`${p}a`);
      const n = await b.get(`${p}new`);
      assert.equal(a2?.value, '2');
      assert.equal(a2?.modRevision, ok.revision);
      assert.equal(a2?.version, 2);
      assert.equal(n?.modRevision, ok.revision);
      assert.equal(n?.version, 1);
      assert.equal(await b.get(`${p}del`), undefined);
      assert.ok(ok.revision > del.modRevision);

      // one stale compare: nothing applied, revision unchanged, current of every compared key
      const rev = await b.revision();
      const bad = await b.txn(
        [
          { key: `${p}a`, modRevision: ok.revision },
          { key: `${p}new`, modRevision: a.modRevision },
          { key: `${p}absent`, modRevision: 0 },
        ],
        [
          { op: 'put', key: `${p}a`, value: '3' },
          { op: 'put', key: `${p}absent`, value: 'z' },
        ],
      );
      assert.equal(bad.succeeded, false);
      assert.equal(bad.revision, rev);
      assert.equal(await b.revision(), rev);
      assert.deepEqual(bad.current.get(`${p}a`), a2);
      assert.deepEqual(bad.current.get(`${p}new`), n);
      assert.ok(bad.current.has(`${p}absent`));
      assert.equal(bad.current.get(`${p}absent`), undefined);
      assert.equal((await b.get(`${p}a`))?.value, '2');
      assert.equal(await b.get(`${p}absent`), undefined);

      // "must not exist" on a present key fails
      const exists = await b.txn([{ key: `${p}a`, modRevision: 0 }], [{ op: 'put', key: `${p}a`, value: 'x' }]);
      assert.equal(exists.succeeded, false);
      assert.deepEqual(exists.current.get(`${p}a`), a2);

      // no compares: unconditional
      const free = await b.txn([], [{ op: 'put', key: `${p}free`, value: 'f' }]);
      assert.equal(free.succeeded, true);
      assert.equal((await b.get(`${p}free`))?.modRevision, free.revision);

      // one key twice in a transaction is rejected (as etcd does)
      await rejectsWith(
        b.txn([], [
          { op: 'put', key: `${p}dup`, value: '1' },
          { op: 'delete', key: `${p}dup` },
        ]),
        'ERR_VALIDATION',
      );
    });

    void test('txn past etcd\'s 128-op limit: 300 compares and ops at one revision in one watch batch, or nothing at all', async () => {
      const p = fresh();
      const N = 300;
      const keys = Array.from({ length: N }, (_, i) => `${p}k${String(i).padStart(3, '0')}`);
      // a key between ours that we do not compare: its changes must not fail our transaction
      const between = `${p}k150x`;
      await b.put(between, 'b');
      const start = await b.revision();
      const rec = record(b, p, start + 1);
      const ok = await b.txn(
        keys.map((key) => ({ key, modRevision: 0 })),
        keys.map((key) => ({ op: 'put', key, value: '1' })),
      );
      assert.equal(ok.succeeded, true);
      assert.equal(ok.revision, start + 1);
      await rec.waitFor(() => rec.events().length >= N, 'the 300 puts');
      assert.equal(rec.batches.length, 1, 'one watch batch for one transaction');
      assert.ok(rec.events().every((e) => eventRevision(e) === ok.revision));
      await rec.close();

      // every compare exact; the 250th stale → nothing applied, current reported
      const listed = await b.list(`${p}k`);
      const revOf = new Map(listed.items.map((kv) => [kv.key, kv.modRevision]));
      await b.put(between, 'changed'); // not compared: must not matter
      const stale = keys[250]!;
      const moved = await b.put(stale, 'moved');
      const before = await b.revision();
      const bad = await b.txn(
        keys.map((key) => ({ key, modRevision: revOf.get(key) ?? -1 })),
        [...keys.map((key): TxnOp => ({ op: 'put', key, value: '2' })), { op: 'delete', key: between }],
      );
      assert.equal(bad.succeeded, false);
      assert.equal(await b.revision(), before);
      assert.deepEqual(bad.current.get(stale), moved);
      assert.equal(bad.current.get(keys[0]!)?.modRevision, ok.revision);
      assert.equal((await b.list(`${p}k`)).items.filter((kv) => kv.value === '2').length, 0);
      assert.equal((await b.get(between))?.value, 'changed');

      // with the stale compare fixed, puts and a delete go through together
      const good = await b.txn(
        keys.map((key) => ({ key, modRevision: key === stale ? moved.modRevision : (revOf.get(key) ?? -1) })),
        [...keys.map((key): TxnOp => ({ op: 'put', key, value: '2' })), { op: 'delete', key: between }],
      );
      assert.equal(good.succeeded, true);
      const after = await b.list(`${p}k`);
      assert.equal(after.items.length, N);
      assert.ok(after.items.every((kv) => kv.value === '2' && kv.modRevision === good.revision));
    });

    void test('list: prefix semantics, key order, list revision', async () => {
      const p = fresh();
      const keys = [`${p}a/`, `${p}a/x`, `${p}a/y/z`, `${p}ab`, `${p}a`, `${p}b/a/1`, `${p}a0`];
      for (const k of [...keys].reverse()) await b.put(k, k);
      const cases: [string, string[]][] = [
        [`${p}a/`, [`${p}a/`, `${p}a/x`, `${p}a/y/z`]],
        [`${p}a`, [`${p}a`, `${p}a/`, `${p}a/x`, `${p}a/y/z`, `${p}a0`, `${p}ab`]],
        [`${p}b/`, [`${p}b/a/1`]],
        [`${p}c/`, []],
        [p, [...keys].sort()],
      ];
      for (const [prefix, want] of cases) {
        const r = await b.list(prefix);
        assert.deepEqual(
          r.items.map((kv) => kv.key),
          want,
          `list(${prefix})`,
        );
        assert.equal(r.revision, await b.revision());
        for (const kv of r.items) assert.equal(kv.value, kv.key);
      }
      const all = await b.list('');
      assert.ok(all.items.length >= keys.length);
      const sorted = all.items.map((kv) => kv.key);
      assert.deepEqual(sorted, [...sorted].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    });

    void test('revisions: strictly increasing and shared across keys; failed writes do not consume one', async () => {
      const p = fresh();
      let last = await b.revision();
      for (let i = 0; i < 20; i++) {
        const k = `${p}${i % 3}`;
        const kv = await b.put(k, String(i));
        assert.ok(kv.modRevision > last, `write ${i}: ${kv.modRevision} > ${last}`);
        last = kv.modRevision;
        await rejectsWith(b.create(k, 'again'), 'ERR_ALREADY_EXISTS');
        assert.equal(await b.revision(), last);
      }
    });

    void test('watch: replays from a past revision, then live; one batch per txn; puts and deletes carry prev', async () => {
      const p = fresh();
      const a1 = await b.create(`${p}a`, '1');
      const a2 = await b.update(`${p}a`, '2', a1.modRevision);
      const t = await b.txn([], [
        { op: 'put', key: `${p}b`, value: 'b' },
        { op: 'put', key: `${p}c`, value: 'c' },
      ]);
      await b.put(`/conf-other/${randomUUID()}`, 'outside the prefix');
      const rec = record(b, p, a1.modRevision);
      await rec.waitFor(() => rec.events().length >= 4, 'replayed events');
      assert.equal(rec.batches.length, 3);
      assert.deepEqual(rec.batches[0]?.map(normalise), [{ type: 'put', kv: a1 }]);
      assert.deepEqual(rec.batches[1]?.map(normalise), [{ type: 'put', kv: a2, prev: a1 }]);
      assert.deepEqual(rec.batches[2]?.map(eventKey), [`${p}b`, `${p}c`]);
      assert.ok(rec.batches[2]?.every((e) => eventRevision(e) === t.revision));

      // live
      const d = await b.delete(`${p}a`);
      const t2 = await b.txn([], [
        { op: 'delete', key: `${p}b` },
        { op: 'put', key: `${p}c`, value: 'c2' },
      ]);
      await rec.waitFor(() => rec.batches.length >= 5, 'live events');
      const del = rec.batches[3];
      assert.equal(del?.length, 1);
      assert.equal(del?.[0]?.type, 'delete');
      if (del?.[0]?.type === 'delete') {
        assert.equal(del[0].key, `${p}a`);
        assert.deepEqual(del[0].prev, d);
        assert.equal(del[0].revision, (await b.get(`${p}c`))!.modRevision - 1);
      }
      const batch = rec.batches[4]!;
      assert.deepEqual(batch.map((e) => [e.type, eventKey(e), eventRevision(e)]), [
        ['delete', `${p}b`, t2.revision],
        ['put', `${p}c`, t2.revision],
      ]);
      const cput = batch[1];
      assert.equal(cput?.type === 'put' ? cput.prev?.value : undefined, 'c');
      // strictly increasing revisions across batches, never a duplicate
      const revs = rec.batches.map((bt) => eventRevision(bt[0]!));
      assert.deepEqual(revs, [...new Set(revs)].sort((x, y) => x - y));
      await rec.close();
    });

    void test('watch: fromRevision 0 delivers only new events; prefix /a/ never sees /ab', async () => {
      const p = fresh();
      await b.put(`${p}a/old`, 'old');
      const rec = record(b, `${p}a/`, 0);
      await sleep(100);
      await b.put(`${p}ab`, 'not mine');
      await b.put(`${p}a/new`, 'new');
      await rec.waitFor(() => rec.events().length >= 1, 'the new event');
      await sleep(100);
      assert.deepEqual(rec.events().map(eventKey), [`${p}a/new`]);
      await rec.close();
    });

    void test('watch: close stops delivery', async () => {
      const p = fresh();
      const rec = record(b, p, (await b.revision()) + 1);
      await b.put(`${p}1`, '1');
      await rec.waitFor(() => rec.events().length === 1, 'first event');
      await rec.close();
      await b.put(`${p}2`, '2');
      await sleep(200);
      assert.equal(rec.events().length, 1);
    });

    void test('watch: several watchers on overlapping prefixes each see their own events', async () => {
      const p = fresh();
      const from = (await b.revision()) + 1;
      const all = record(b, p, from);
      const x = record(b, `${p}x/`, from);
      for (let i = 0; i < 10; i++) await b.put(`${p}${i % 2 === 0 ? 'x' : 'y'}/${i}`, String(i));
      await all.waitFor(() => all.events().length === 10, 'all events');
      await x.waitFor(() => x.events().length === 5, 'x events');
      assert.deepEqual(x.events().map(eventKey), [0, 2, 4, 6, 8].map((i) => `${p}x/${i}`));
      await Promise.all([all.close(), x.close()]);
    });

    void test('compaction: a watch from before the compaction point gets onCompacted; from after it replays', async (t) => {
      if (!h.compact) {
        t.skip('backend under test offers no compaction hook');
        return;
      }
      const p = fresh();
      const first = await b.put(`${p}k`, '0');
      for (let i = 1; i < 5; i++) await b.put(`${p}k`, String(i));
      const at = await b.revision();
      await h.compact(at);
      const old = record(b, p, first.modRevision);
      await old.waitFor(() => old.compacted.length === 1, 'onCompacted');
      assert.deepEqual(old.compacted, [at]);
      assert.equal(old.events().length, 0);
      await old.close();
      const after = await b.put(`${p}k`, 'after');
      const ok = record(b, p, at + 1);
      await ok.waitFor(() => ok.events().length === 1, 'post-compaction event');
      assert.equal(eventRevision(ok.events()[0]!), after.modRevision);
      await ok.close();
      // reads still work after compaction
      assert.equal((await b.get(`${p}k`))?.value, 'after');
    });

    void test('concurrent writers in 4 processes × 100 CAS increments: no lost update', { timeout: 180_000 }, async (t) => {
      if (!h.config) {
        t.skip('backend under test gives no config for child processes');
        return;
      }
      const cfg = h.config;
      const key = `${fresh()}counter`;
      const procs = 4;
      const each = 100;
      const outs = await Promise.all(Array.from({ length: procs }, () => runChild(cfg, 'cas-increment-child.ts', [key, String(each)])));
      const reports = outs.map((o) => JSON.parse(o.trim()) as { done: number; conflicts: number });
      assert.deepEqual(
        reports.map((r) => r.done),
        Array(procs).fill(each),
      );
      const final = await b.get(key);
      assert.equal(final?.value, String(procs * each));
      assert.equal(final?.version, procs * each);
    });

    // Multi-document writes (`apply`/`create` of a file) past etcd's 128-op transaction limit:
    // all or nothing, also when the writer dies at its first write or loses a race.
    const setsNamed = async (tag: string): Promise<number> => {
      const listed = await b.list(GNS_PREFIX);
      return listed.items.filter((kv) => kv.key.startsWith(`${GNS_PREFIX}${tag}-`)).length;
    };
    const sets = (tag: string, n: number, value = 'a'): Record<string, unknown>[] =>
      Array.from({ length: n }, (_, i) => ({
        apiVersion: 'projectcalico.org/v3',
        kind: 'GlobalNetworkSet',
        metadata: { name: `${tag}-${i}`, labels: { batch: tag, value } },
        spec: { nets: [`10.${Math.floor(i / 250)}.${i % 250}.0/24`] },
      }));

    for (const hook of ['after-first-txn', 'during-first-txn'] as const) {
      void test(`a 300-document create SIGKILLed ${hook.replaceAll('-', ' ')}: 0 or 300 stored, and a retry agrees`, { timeout: 120_000 }, async (t) => {
        if (!h.config) {
          t.skip('backend under test gives no config for child processes');
          return;
        }
        const tag = `kill${randomUUID().slice(0, 8)}`;
        const N = 300;
        const outcome = await runChildExpectingKill(h.config, 'batch-writer-child.ts', [tag, String(N), hook]);
        assert.equal(outcome, 'SIGKILL', 'the child must die at the hook');
        const stored = await setsNamed(tag);
        if (hook === 'after-first-txn') assert.equal(stored, N, 'the first write was the whole batch');
        else assert.ok(stored === 0 || stored === N, `${stored} of ${N} documents stored: half-applied`);
        // the retried create: all succeed (nothing was written) or all already exist, never a mix
        const client = new ResourceClient(b);
        if (stored === 0) {
          await client.createMany(sets(tag, N));
        } else {
          const e = await rejectsWith(client.createMany(sets(tag, N)), 'ERR_ALREADY_EXISTS');
          assert.equal(batchFailures(e).length, N);
        }
        assert.equal(await setsNamed(tag), N);
      });
    }

    void test('a 300-document create racing a conflicting writer: the loser writes nothing', async () => {
      const tag = `race${randomUUID().slice(0, 8)}`;
      const N = 300;
      const racing = Object.create(b) as DatastoreBackend;
      let raced = false;
      racing.txn = async (compares, ops) => {
        if (!raced) {
          raced = true; // between the batch's read and its write, another writer creates document 251
          await new ResourceClient(b).create(sets(tag, N, 'other')[250]);
        }
        return b.txn(compares, ops);
      };
      const e = await rejectsWith(new ResourceClient(racing).createMany(sets(tag, N)), 'ERR_ALREADY_EXISTS');
      assert.deepEqual(
        batchFailures(e).map((f) => f.index),
        [250],
      );
      assert.equal(await setsNamed(tag), 1, 'only the other writer\'s document');
      const other = await b.get(`${GNS_PREFIX}${tag}-250`);
      assert.match(other?.value ?? '', /"value":"other"/);
    });

    void test('a 300-document apply racing a conflicting writer: retried, then every document at one revision', async () => {
      const tag = `apply${randomUUID().slice(0, 8)}`;
      const N = 300;
      const client = new ResourceClient(b);
      await client.applyMany(sets(tag, N, 'v1'));
      const racing = Object.create(b) as DatastoreBackend;
      let races = 0;
      racing.txn = async (compares, ops) => {
        if (races++ === 0) await client.apply(sets(tag, N, 'other')[250]);
        return b.txn(compares, ops);
      };
      const r = await new ResourceClient(racing).applyMany(sets(tag, N, 'v2'));
      assert.equal(races, 2, 'the lost race is retried once');
      const listed = (await b.list(GNS_PREFIX)).items.filter((kv) => kv.key.startsWith(`${GNS_PREFIX}${tag}-`));
      assert.equal(listed.length, N);
      assert.ok(listed.every((kv) => kv.modRevision === r.revision && kv.value.includes('"value":"v2"')));
    });
  });
}

/** Drop undefined-valued fields so deepEqual compares events the same whatever the backend. */
function normalise(e: WatchEvent): WatchEvent {
  return JSON.parse(JSON.stringify(e)) as WatchEvent;
}

