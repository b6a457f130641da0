// The syncer on both backends: initial list → updates + InSync, live updates, and recovery
// after the watch was away long enough for history to be compacted (deletions synthesised).
// "Away" is a real gap: the test closes the backend's watch and reopens it later from where it
// stood, and the backend itself reports the compaction.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd, type RunningEtcd } from '../../test/support/etcd.ts';
import type { DatastoreBackend, Watch, WatchHandlers } from './backend.ts';
import { EtcdBackend } from './etcd-backend.ts';
import { SQLiteBackend } from './sqlite-backend.ts';
import { Syncer, type SyncStatus } from './syncer.ts';
import { sleep } from '../base/index.ts';

/** Delegates to a real backend, but lets the test cut every watch and resume it later. */
function pausable(b: DatastoreBackend): { backend: DatastoreBackend; pause(): Promise<void>; resume(): void; compactions: () => number } {
  let compactions = 0;
  const live: { prefix: string; next: number; h: WatchHandlers; inner: Watch | undefined; closed: boolean }[] = [];
  const open = (w: (typeof live)[number]): void => {
    w.inner = b.watch(w.prefix, w.next, {
      onEvents(events) {
        const last = events[events.length - 1]!;
        w.next = (last.type === 'put' ? last.kv.modRevision : last.revision) + 1;
        w.h.onEvents(events);
      },
      onCompacted: (rev) => {
        compactions++;
        w.h.onCompacted(rev);
      },
    });
  };
  const backend = Object.create(b) as DatastoreBackend;
  backend.watch = (prefix, fromRevision, h) => {
    const w = { prefix, next: fromRevision, h, inner: undefined as Watch | undefined, closed: false };
    live.push(w);
    open(w);
    return {
      close: async () => {
        w.closed = true;
        await w.inner?.close();
      },
    };
  };
  return {
    backend,
    compactions: () => compactions,
    async pause() {
      for (const w of live) await w.inner?.close();
    },
    resume() {
      for (const w of live) if (!w.closed) open(w);
    },
  };
}

type Harness = { backend: DatastoreBackend; compact(rev: number): Promise<void>; cleanup(): Promise<void> };

function syncerSuite(name: string, make: () => Promise<Harness>): void {
  void describe(`${name}: Syncer`, { timeout: 60_000 }, () => {
    let h: Harness;
    before(async () => {
      h = await make();
    });
    after(async () => {
      await h.cleanup();
    });

    void test('list → InSync → live updates → compaction gap re-lists and synthesises deletions', async () => {
      const b = h.backend;
      await b.put('/s/a/1', 'one');
      await b.put('/s/a/2', 'two');
      await b.put('/s/b/1', 'b-one');
      await b.put('/s/c/ignored', 'x');
      const p = pausable(b);
      const statuses: SyncStatus[] = [];
      const state = new Map<string, string>();
      let updates = 0;
      const syncer = new Syncer(p.backend, ['/s/a/', '/s/b/'], {
        onStatus: (s) => statuses.push(s),
        onUpdates(us) {
          updates += us.length;
          for (const u of us) {
            if (u.value === undefined) state.delete(u.key);
            else state.set(u.key, u.value);
          }
        },
      }, { minResyncGapMs: 0 });
      const until = async (pred: () => boolean, what: string): Promise<void> => {
        const deadline = Date.now() + 15_000;
        while (!pred()) {
          if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}: ${JSON.stringify([...state])}`);
          await sleep(20);
        }
      };
      syncer.start();
      await until(() => statuses.at(-1) === 'InSync', 'InSync');
      assert.deepEqual(statuses, ['WaitForDatastore', 'ResyncInProgress', 'InSync']);
      assert.deepEqual([...state].sort(), [['/s/a/1', 'one'], ['/s/a/2', 'two'], ['/s/b/1', 'b-one']]);

      await b.put('/s/a/3', 'three');
      await b.delete('/s/a/1');
      await until(() => state.has('/s/a/3') && !state.has('/s/a/1'), 'live updates');

      // the watch goes away; meanwhile a key is deleted, one changed, one added, history compacted
      await p.pause();
      await b.delete('/s/a/2');
      await b.put('/s/b/1', 'b-one-v2');
      await b.put('/s/b/2', 'b-two');
      await h.compact(await b.revision());
      const before = updates;
      p.resume();
      await until(() => !state.has('/s/a/2') && state.get('/s/b/2') === 'b-two', 'resync after compaction');
      assert.deepEqual([...state].sort(), [['/s/a/3', 'three'], ['/s/b/1', 'b-one-v2'], ['/s/b/2', 'b-two']]);
      assert.equal(p.compactions(), 2, 'both prefix watches were told about the compaction');
      assert.equal(updates - before, 3, 'only the changes are re-sent (unchanged /s/a/3 is not)');
      assert.equal(statuses.at(-1), 'InSync');

      // and the new watch is live
      await b.put('/s/a/4', 'four');
      await until(() => state.get('/s/a/4') === 'four', 'live after resync');
      await syncer.stop();
    });
  });
}

syncerSuite('embedded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tricolor-syncer-'));
  const backend = new SQLiteBackend({ path: join(dir, 'ds.db') });
  return {
    backend,
    compact: (rev) => backend.compact(rev),
    async cleanup() {
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

let etcd: RunningEtcd | undefined;
syncerSuite('etcdv3', async () => {
  etcd = await startEtcd();
  const backend = new EtcdBackend({ endpoints: [etcd.endpoints] });
  return {
    backend,
    compact: (rev) => backend.compact(rev),
    async cleanup() {
      await backend.close();
      await etcd?.stop();
    },
  };
});

void describe('etcdv3: Syncer across an etcd outage', { timeout: 120_000 }, () => {
  void test('reports the connection lost and regained; status stays InSync; the watch resumes with no gap', async () => {
    const e = await startEtcd();
    const backend = new EtcdBackend({ endpoints: [e.endpoints] });
    try {
      await backend.put('/o/a/1', 'one');
      const statuses: SyncStatus[] = [];
      const connection: boolean[] = [];
      const state = new Map<string, string>();
      const syncer = new Syncer(backend, ['/o/a/', '/o/b/'], {
        onStatus: (s) => statuses.push(s),
        onUpdates(us) {
          for (const u of us) {
            if (u.value === undefined) state.delete(u.key);
            else state.set(u.key, u.value);
          }
        },
        onConnection: (c, detail) => {
          connection.push(c);
          if (!c) assert.match(detail ?? '', /\/o\/[ab]\//);
        },
      });
      const until = async (pred: () => boolean, what: string): Promise<void> => {
        const deadline = Date.now() + 20_000;
        while (!pred()) {
          if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}: ${JSON.stringify({ connection, statuses })}`);
          await sleep(20);
        }
      };
      syncer.start();
      await until(() => statuses.at(-1) === 'InSync' && state.has('/o/a/1'), 'InSync');
      assert.deepEqual(connection, [], 'nothing to report while connected');
      await e.kill();
      await until(() => connection.at(-1) === false, 'connection lost');
      await e.restart();
      await until(() => connection.at(-1) === true, 'connection regained');
      assert.deepEqual(connection, [false, true], 'one report each way, for all prefixes together');
      await backend.put('/o/b/1', 'b-one');
      await until(() => state.get('/o/b/1') === 'b-one', 'an update after the restart');
      assert.deepEqual(statuses, ['WaitForDatastore', 'ResyncInProgress', 'InSync']);
      await syncer.stop();
    } finally {
      await backend.close();
      await e.stop();
    }
  });

  void test('etcd lost between the list and its watch is still reported, and the watch resumes after the list', async () => {
    // the order a loaded machine produced in the test above: the list answered, then etcd died
    // before it confirmed the watch. Here etcd dies while the list's answer is on its way.
    const e = await startEtcd();
    const real = new EtcdBackend({ endpoints: [e.endpoints] });
    try {
      await real.put('/l/a/1', 'one');
      let killed = false;
      const backend = Object.create(real) as DatastoreBackend;
      backend.list = async (prefix) => {
        const r = await real.list(prefix);
        if (!killed) {
          killed = true;
          await real.put('/l/a/mid', 'written after the list'); // the watch must not skip it
          await e.kill();
        }
        return r;
      };
      const statuses: SyncStatus[] = [];
      const connection: boolean[] = [];
      const state = new Map<string, string>();
      const syncer = new Syncer(backend, ['/l/a/'], {
        onStatus: (st) => statuses.push(st),
        onUpdates(us) {
          for (const u of us) {
            if (u.value === undefined) state.delete(u.key);
            else state.set(u.key, u.value);
          }
        },
        onConnection: (c) => connection.push(c),
      });
      const until = async (pred: () => boolean, what: string): Promise<void> => {
        const deadline = Date.now() + 20_000;
        while (!pred()) {
          if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}: ${JSON.stringify({ connection, statuses, state: [...state] })}`);
          await sleep(20);
        }
      };
      syncer.start();
      await until(() => connection.length > 0, 'the outage to be reported');
      assert.deepEqual(connection, [false]);
      assert.deepEqual(statuses, ['WaitForDatastore', 'ResyncInProgress', 'InSync'], 'the list was delivered');
      assert.deepEqual([...state], [['/l/a/1', 'one']]);
      await e.restart();
      await until(() => connection.at(-1) === true, 'connection regained');
      await real.put('/l/a/2', 'two');
      await until(() => state.get('/l/a/2') === 'two', 'an update after the restart');
      assert.deepEqual([...state].sort(), [['/l/a/1', 'one'], ['/l/a/2', 'two'], ['/l/a/mid', 'written after the list']]);
      assert.deepEqual(connection, [false, true]);
      await syncer.stop();
    } finally {
      await real.close();
      await e.stop();
    }
  });
});
