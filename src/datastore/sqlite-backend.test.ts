// The embedded backend: the shared conformance suite, plus what only a file-backed store has to
// prove: mode 0600, a writer SIGKILLed mid-loop leaves it consistent, watchers in another
// process see writes, and the changelog stays bounded.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { record, runBackendConformance, runChild, eventKey } from './backend-conformance.ts';
import { SQLiteBackend } from './sqlite-backend.ts';
import type { DatastoreConfig } from './open.ts';

function tempPath(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tricolor-sqlite-'));
  return { dir, path: join(dir, 'sub', 'datastore.db') };
}

runBackendConformance('embedded', async () => {
  const { dir, path } = tempPath();
  const backend = new SQLiteBackend({ path });
  return {
    backend,
    config: { type: 'embedded', path },
    compact: (rev) => backend.compact(rev),
    async cleanup() {
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

void test('embedded: creates the parent dir and the file with mode 0600', async () => {
  const { dir, path } = tempPath();
  const old = process.umask(0o022);
  try {
    const b = new SQLiteBackend({ path });
    await b.put('/k', 'v');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    await b.close();
  } finally {
    process.umask(old);
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('embedded: a writer SIGKILLed mid-loop leaves the store consistent', { timeout: 60_000 }, async () => {
  const { dir, path } = tempPath();
  try {
    await new SQLiteBackend({ path }).close();
    const child = spawn(process.execPath, [join(import.meta.dirname, '..', '..', 'test', 'support', 'sqlite-writer-child.ts'), path], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // wait until it has committed a good number of transactions, then kill it mid-flight
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (c: string) => {
        out += c;
        if (out.includes('progress 200')) resolve();
      });
      child.on('exit', () => reject(new Error(`writer exited early: ${out}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const db = new DatabaseSync(path);
    assert.deepEqual(db.prepare('PRAGMA integrity_check').all().map((r) => r['integrity_check']), ['ok']);
    db.close();
    const b = new SQLiteBackend({ path });
    // the writer puts /a and /b in one txn with the same value; both or neither are visible
    const a = await b.get('/a');
    const bb = await b.get('/b');
    assert.ok(a && bb);
    assert.equal(a.value, bb.value);
    assert.equal(a.modRevision, bb.modRevision);
    assert.equal(await b.revision(), a.modRevision);
    assert.ok(Number(a.value) >= 200);
    // and it is writable afterwards
    await b.update('/a', 'after', a.modRevision);
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('embedded: a watcher sees writes made by another process', { timeout: 60_000 }, async () => {
  const { dir, path } = tempPath();
  try {
    const b = new SQLiteBackend({ path });
    const rec = record(b, '/x/', (await b.revision()) + 1);
    const cfg: DatastoreConfig = { type: 'embedded', path };
    await runChild(cfg, 'cas-increment-child.ts', ['/x/counter', '5']);
    await rec.waitFor(() => rec.events().length === 5, 'five cross-process events');
    assert.deepEqual(
      rec.events().map((e) => (e.type === 'put' ? e.kv.value : '')),
      ['1', '2', '3', '4', '5'],
    );
    assert.deepEqual([...new Set(rec.events().map(eventKey))], ['/x/counter']);
    await rec.close();
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('embedded: the changelog is bounded; an old watch start is compacted, a recent one replays', async () => {
  const { dir, path } = tempPath();
  try {
    const b = new SQLiteBackend({ path, retainRevisions: 100 });
    for (let i = 0; i < 600; i++) await b.put(`/k/${i % 7}`, String(i));
    const db = new DatabaseSync(path);
    const n = db.prepare('SELECT COUNT(*) AS n FROM changelog').get()!['n'] as number;
    db.close();
    assert.ok(n <= 100 + 256, `changelog has ${n} rows`);
    const rec = record(b, '/k/', 2);
    await rec.waitFor(() => rec.compacted.length === 1, 'onCompacted');
    await rec.close();
    const cur = await b.revision();
    const recent = record(b, '/k/', cur - 50);
    await recent.waitFor(() => recent.events().length === 51, 'replay of the last 51 revisions');
    await recent.close();
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
