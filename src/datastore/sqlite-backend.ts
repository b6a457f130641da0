// The embedded datastore: one SQLite file (node:sqlite) shared by every Tricolor process on the
// host, with etcd v3 semantics (one global revision counter; mod/create revision and version per
// key; compare-and-swap on mod revision). Every write runs in BEGIN IMMEDIATE, so writers in
// several processes serialise on SQLite's lock and a writer killed mid-transaction leaves the
// file as it was before that transaction. Each write also appends to a changelog table keyed by
// revision; watchers (in this or any other process) poll it for revisions past their cursor,
// which is cheap because it is an index range scan. Polls run every 10–25 ms, and at once when
// the WAL file changes (inotify via fs.watch): a write by another process reaches a watcher in
// about a millisecond instead of half a poll interval — the agent's programming latency starts
// here. The changelog is bounded: entries older than
// the last `retainRevisions` revisions are compacted away, and a watch starting before the
// compaction point gets onCompacted, exactly as an etcd watch would.

import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, watch as watchFile, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { MutableDisposable, TricolorError, isTricolorError, quote, timeout } from '../base/index.ts';
import type {
  DatastoreBackend,
  KeyValue,
  ListResult,
  TxnCompare,
  TxnOp,
  TxnResult,
  Watch,
  WatchEvent,
  WatchHandlers,
} from './backend.ts';
import { alreadyExists, checkTxnOps, notFound, prefixEnd, updateConflict } from './kv-errors.ts';

export const DEFAULT_DATASTORE_PATH = '/var/lib/tricolor/datastore.db';
/** How many revisions of history watchers can resume from (older ones are compacted). */
export const DEFAULT_RETAIN_REVISIONS = 10_000;
const COMPACT_EVERY_REVISIONS = 256;
const BUSY_TIMEOUT_MS = 10_000;
const POLL_MIN_MS = 10;
const POLL_MAX_MS = 25;

export interface SQLiteBackendOptions {
  readonly path: string;
  readonly retainRevisions?: number;
}

type Row = Record<string, unknown>;

interface WatcherState {
  readonly prefix: string;
  readonly end: string | undefined;
  readonly handlers: WatchHandlers;
  next: number;
  closed: boolean;
  announced: boolean;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 1), ('compacted', 0);
CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY, value TEXT NOT NULL,
  mod_rev INTEGER NOT NULL, create_rev INTEGER NOT NULL, version INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changelog (
  rev INTEGER NOT NULL, seq INTEGER NOT NULL, key TEXT NOT NULL, type TEXT NOT NULL,
  value TEXT, create_rev INTEGER, version INTEGER,
  prev_value TEXT, prev_mod_rev INTEGER, prev_create_rev INTEGER, prev_version INTEGER,
  PRIMARY KEY (rev, seq)
) WITHOUT ROWID;
`;

function toKv(r: Row): KeyValue {
  return {
    key: r['key'] as string,
    value: r['value'] as string,
    modRevision: r['mod_rev'] as number,
    createRevision: r['create_rev'] as number,
    version: r['version'] as number,
  };
}

function prevOf(r: Row): KeyValue | undefined {
  if (r['prev_value'] === null || r['prev_value'] === undefined) return undefined;
  return {
    key: r['key'] as string,
    value: r['prev_value'] as string,
    modRevision: r['prev_mod_rev'] as number,
    createRevision: r['prev_create_rev'] as number,
    version: r['prev_version'] as number,
  };
}

function eventOf(r: Row): WatchEvent {
  const rev = r['rev'] as number;
  if (r['type'] === 'delete') {
    return { type: 'delete', key: r['key'] as string, revision: rev, prev: prevOf(r) };
  }
  return {
    type: 'put',
    kv: {
      key: r['key'] as string,
      value: r['value'] as string,
      modRevision: rev,
      createRevision: r['create_rev'] as number,
      version: r['version'] as number,
    },
    prev: prevOf(r),
  };
}

/** A write in progress inside BEGIN IMMEDIATE; the revision is allocated on the first change. */
class WriteScope {
  private readonly b: SQLiteBackend;
  readonly base: number;
  private seq = 0;
  constructor(b: SQLiteBackend, base: number) {
    this.b = b;
    this.base = base;
  }
  get changed(): boolean {
    return this.seq > 0;
  }
  get revision(): number {
    return this.changed ? this.base + 1 : this.base;
  }
  put(key: string, value: string): KeyValue {
    const rev = this.base + 1;
    const prev = this.b.getRow(key);
    const kv: KeyValue = {
      key,
      value,
      modRevision: rev,
      createRevision: prev ? prev.createRevision : rev,
      version: prev ? prev.version + 1 : 1,
    };
    this.b.st('upsert').run(key, value, rev, kv.createRevision, kv.version);
    this.b
      .st('log')
      .run(rev, this.seq++, key, 'put', value, kv.createRevision, kv.version, prev?.value ?? null, prev?.modRevision ?? null, prev?.createRevision ?? null, prev?.version ?? null);
    return kv;
  }
  delete(key: string): KeyValue | undefined {
    const prev = this.b.getRow(key);
    if (!prev) return undefined;
    const rev = this.base + 1;
    this.b.st('del').run(key);
    this.b.st('log').run(rev, this.seq++, key, 'delete', null, null, null, prev.value, prev.modRevision, prev.createRevision, prev.version);
    return prev;
  }
}

export class SQLiteBackend implements DatastoreBackend {
  readonly type = 'embedded' as const;
  readonly path: string;
  private readonly db: DatabaseSync;
  private readonly retain: number;
  private readonly stmts = new Map<string, StatementSync>();
  private readonly watchers = new Set<WatcherState>();
  private readonly timer = new MutableDisposable();
  private immediate: NodeJS.Immediate | undefined;
  private pollMs = POLL_MIN_MS;
  private walWatcher: FSWatcher | undefined;
  private closed = false;

  constructor(opts: SQLiteBackendOptions) {
    this.path = opts.path;
    this.retain = opts.retainRevisions ?? DEFAULT_RETAIN_REVISIONS;
    try {
      if (!existsSync(this.path)) {
        mkdirSync(dirname(this.path), { recursive: true });
        // create it ourselves so the mode is 0600 whatever the umask (it holds cluster secrets)
        closeSync(openSync(this.path, 'a', 0o600));
        chmodSync(this.path, 0o600);
      }
      this.db = new DatabaseSync(this.path, { timeout: BUSY_TIMEOUT_MS });
      this.db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      this.db.exec('PRAGMA journal_mode = WAL');
      this.db.exec('PRAGMA synchronous = NORMAL');
      this.db.exec('BEGIN IMMEDIATE');
      try {
        this.db.exec(SCHEMA);
        this.db.exec('COMMIT');
      } catch (e) {
        this.db.exec('ROLLBACK');
        throw e;
      }
    } catch (e) {
      throw this.wrap(e, 'open');
    }
    const sql: Record<string, string> = {
      get: 'SELECT key, value, mod_rev, create_rev, version FROM kv WHERE key = ?',
      listAll: 'SELECT key, value, mod_rev, create_rev, version FROM kv ORDER BY key',
      listFrom: 'SELECT key, value, mod_rev, create_rev, version FROM kv WHERE key >= ? ORDER BY key',
      listRange: 'SELECT key, value, mod_rev, create_rev, version FROM kv WHERE key >= ? AND key < ? ORDER BY key',
      meta: "SELECT name, value FROM meta WHERE name IN ('revision', 'compacted')",
      setMeta: 'UPDATE meta SET value = ? WHERE name = ?',
      upsert:
        'INSERT INTO kv (key, value, mod_rev, create_rev, version) VALUES (?, ?, ?, ?, ?) ' +
        'ON CONFLICT(key) DO UPDATE SET value = excluded.value, mod_rev = excluded.mod_rev, create_rev = excluded.create_rev, version = excluded.version',
      del: 'DELETE FROM kv WHERE key = ?',
      log:
        'INSERT INTO changelog (rev, seq, key, type, value, create_rev, version, prev_value, prev_mod_rev, prev_create_rev, prev_version) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      trim: 'DELETE FROM changelog WHERE rev < ?',
      logFrom: 'SELECT * FROM changelog WHERE rev >= ? AND rev <= ? AND key >= ? ORDER BY rev, seq',
      logRange: 'SELECT * FROM changelog WHERE rev >= ? AND rev <= ? AND key >= ? AND key < ? ORDER BY rev, seq',
    };
    for (const [name, text] of Object.entries(sql)) this.stmts.set(name, this.db.prepare(text));
  }

  /** @internal prepared statement by name */
  st(name: string): StatementSync {
    const s = this.stmts.get(name);
    if (!s) throw new TricolorError('ERR_INTERNAL', `sqlite backend: no statement ${quote(name)}`);
    return s;
  }

  /** @internal */
  getRow(key: string): KeyValue | undefined {
    const r = this.st('get').get(key) as Row | undefined;
    return r ? toKv(r) : undefined;
  }

  private meta(): { revision: number; compacted: number } {
    const rows = this.st('meta').all() as Row[];
    let revision = 1;
    let compacted = 0;
    for (const r of rows) {
      if (r['name'] === 'revision') revision = r['value'] as number;
      else compacted = r['value'] as number;
    }
    return { revision, compacted };
  }

  private wrap(e: unknown, what: string): unknown {
    if (isTricolorError(e)) return e;
    const msg = e instanceof Error ? e.message : String(e);
    return new TricolorError('ERR_DATASTORE_UNAVAILABLE', `embedded datastore ${quote(this.path)}: ${what} failed: ${msg}`, {
      value: this.path,
      cause: e,
    });
  }

  private ensureOpen(): void {
    if (this.closed) throw new TricolorError('ERR_DATASTORE_UNAVAILABLE', `embedded datastore ${quote(this.path)} is closed`);
  }

  /** Run `fn` in one BEGIN IMMEDIATE transaction; bump the revision if it changed anything. */
  private write<T>(what: string, fn: (w: WriteScope) => T): T {
    this.ensureOpen();
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (e) {
      throw this.wrap(e, what);
    }
    let ok = false;
    try {
      const { revision, compacted } = this.meta();
      const w = new WriteScope(this, revision);
      const result = fn(w);
      if (w.changed) {
        const rev = w.revision;
        this.st('setMeta').run(rev, 'revision');
        if (rev % COMPACT_EVERY_REVISIONS === 0 && rev - this.retain > compacted) {
          this.compactLocked(rev - this.retain);
        }
      }
      this.db.exec('COMMIT');
      ok = true;
      if (w.changed) this.pokeWatchers();
      return result;
    } catch (e) {
      throw this.wrap(e, what);
    } finally {
      if (!ok && this.db.isTransaction) {
        try {
          this.db.exec('ROLLBACK');
        } catch {
          /* the connection is gone; nothing was committed */
        }
      }
    }
  }

  private compactLocked(revision: number): void {
    this.st('trim').run(revision);
    this.st('setMeta').run(revision, 'compacted');
  }

  /**
   * Discard history before `revision` (like etcd's compaction: watches starting below it get
   * onCompacted). Not part of DatastoreBackend; used by tests and maintenance.
   */
  async compact(revision: number): Promise<void> {
    this.ensureOpen();
    try {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const { revision: cur, compacted } = this.meta();
        if (revision > cur) {
          throw new TricolorError('ERR_VALIDATION', `compact: revision ${revision} is in the future (current ${cur})`, { value: revision });
        }
        if (revision > compacted) this.compactLocked(revision);
        this.db.exec('COMMIT');
      } catch (e) {
        if (this.db.isTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
    } catch (e) {
      throw this.wrap(e, 'compact');
    }
    this.pokeWatchers();
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.ensureOpen();
    try {
      return this.getRow(key);
    } catch (e) {
      throw this.wrap(e, `get ${quote(key)}`);
    }
  }

  async list(prefix: string): Promise<ListResult> {
    this.ensureOpen();
    const end = prefixEnd(prefix);
    try {
      // one read transaction: the items and the revision come from the same snapshot
      this.db.exec('BEGIN');
      try {
        const rows = (end === undefined ? (prefix === '' ? this.st('listAll').all() : this.st('listFrom').all(prefix)) : this.st('listRange').all(prefix, end)) as Row[];
        const { revision } = this.meta();
        return { items: rows.map(toKv), revision };
      } finally {
        this.db.exec('COMMIT');
      }
    } catch (e) {
      throw this.wrap(e, `list ${quote(prefix)}`);
    }
  }

  async create(key: string, value: string): Promise<KeyValue> {
    return this.write(`create ${quote(key)}`, (w) => {
      const cur = this.getRow(key);
      if (cur) throw alreadyExists(key, cur);
      return w.put(key, value);
    });
  }

  async update(key: string, value: string, expectedRevision: number): Promise<KeyValue> {
    return this.write(`update ${quote(key)}`, (w) => {
      const cur = this.getRow(key);
      if (!cur) throw notFound(key);
      if (cur.modRevision !== expectedRevision) throw updateConflict(key, expectedRevision, cur);
      return w.put(key, value);
    });
  }

  async put(key: string, value: string): Promise<KeyValue> {
    return this.write(`put ${quote(key)}`, (w) => w.put(key, value));
  }

  async delete(key: string, expectedRevision?: number): Promise<KeyValue> {
    return this.write(`delete ${quote(key)}`, (w) => {
      const cur = this.getRow(key);
      if (!cur) throw notFound(key);
      if (expectedRevision !== undefined && cur.modRevision !== expectedRevision) {
        throw updateConflict(key, expectedRevision, cur);
      }
      w.delete(key);
      return cur;
    });
  }

  async txn(compares: readonly TxnCompare[], ops: readonly TxnOp[]): Promise<TxnResult> {
    checkTxnOps(ops);
    return this.write('txn', (w) => {
      const current = new Map<string, KeyValue | undefined>();
      let ok = true;
      for (const c of compares) {
        const cur = this.getRow(c.key);
        current.set(c.key, cur);
        if ((cur?.modRevision ?? 0) !== c.modRevision) ok = false;
      }
      if (!ok) return { succeeded: false, revision: w.base, current };
      for (const op of ops) {
        if (op.op === 'put') w.put(op.key, op.value);
        else w.delete(op.key);
      }
      return { succeeded: true, revision: w.revision, current: new Map() };
    });
  }

  async revision(): Promise<number> {
    this.ensureOpen();
    try {
      return this.meta().revision;
    } catch (e) {
      throw this.wrap(e, 'revision');
    }
  }

  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Watch {
    this.ensureOpen();
    let next = fromRevision;
    if (next <= 0) {
      try {
        next = this.meta().revision + 1;
      } catch (e) {
        throw this.wrap(e, 'watch');
      }
    }
    const w: WatcherState = { prefix, end: prefixEnd(prefix), handlers, next, closed: false, announced: false };
    this.watchers.add(w);
    this.watchWal();
    this.pokeWatchers();
    return {
      close: async () => {
        w.closed = true;
        this.watchers.delete(w);
        if (this.watchers.size === 0) this.stopTimer();
      },
    };
  }

  /** Poll as soon as any process appends to the WAL (the timer stays as the fallback). */
  private watchWal(): void {
    if (this.walWatcher !== undefined || this.closed) return;
    try {
      const w = watchFile(`${this.path}-wal`, { persistent: false }, () => this.pokeWatchers());
      w.on('error', () => {
        w.close();
        if (this.walWatcher === w) this.walWatcher = undefined;
      });
      this.walWatcher = w;
    } catch {
      // no WAL file or no inotify: the timer alone
    }
  }

  private stopTimer(): void {
    this.walWatcher?.close();
    this.walWatcher = undefined;
    this.timer.clear();
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
  }

  /** Poll soon: after a local write, or a new watch, there is likely something to deliver. */
  private pokeWatchers(): void {
    if (this.closed || this.watchers.size === 0 || this.immediate) return;
    this.pollMs = POLL_MIN_MS;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.poll();
    });
  }

  private schedule(): void {
    if (this.closed || this.watchers.size === 0) return;
    this.timer.value = timeout(() => {
      this.timer.clear();
      this.poll();
    }, this.pollMs);
  }

  private poll(): void {
    if (this.closed) return;
    const deliveries: { w: WatcherState; rows: Row[] }[] = [];
    const compactedOut: { w: WatcherState; rev: number }[] = [];
    let cur: number;
    let failed = false;
    try {
      // one snapshot: the revision, the compaction point and the rows all agree
      this.db.exec('BEGIN');
      try {
        const m = this.meta();
        cur = m.revision;
        for (const w of this.watchers) {
          if (w.closed || w.next > cur) continue;
          if (w.next < m.compacted) {
            compactedOut.push({ w, rev: m.compacted });
            continue;
          }
          const rows = (w.end === undefined ? this.st('logFrom').all(w.next, cur, w.prefix) : this.st('logRange').all(w.next, cur, w.prefix, w.end)) as Row[];
          deliveries.push({ w, rows });
        }
      } finally {
        this.db.exec('COMMIT');
      }
    } catch {
      failed = true;
      cur = 0;
    }
    if (failed) {
      // transient (e.g. a checkpoint holding the lock): tell watchers, try again shortly
      for (const w of this.watchers) w.handlers.onConnectionState?.('disconnected');
      for (const w of this.watchers) w.announced = false;
      this.pollMs = POLL_MAX_MS;
      this.schedule();
      return;
    }
    let delivered = false;
    for (const w of this.watchers) {
      if (!w.announced && !w.closed) {
        w.announced = true;
        this.safely(() => w.handlers.onConnectionState?.('connected'));
      }
    }
    for (const { w, rev } of compactedOut) {
      if (w.closed) continue;
      w.closed = true;
      this.watchers.delete(w);
      this.safely(() => w.handlers.onCompacted(rev));
    }
    for (const { w, rows } of deliveries) {
      w.next = cur + 1;
      let batch: WatchEvent[] = [];
      let batchRev = -1;
      const flush = (): void => {
        if (batch.length === 0 || w.closed) return;
        const b = batch;
        batch = [];
        delivered = true;
        this.safely(() => w.handlers.onEvents(b));
      };
      for (const r of rows) {
        const rev = r['rev'] as number;
        if (rev !== batchRev) {
          flush();
          batchRev = rev;
        }
        batch.push(eventOf(r));
      }
      flush();
    }
    this.pollMs = delivered ? POLL_MIN_MS : Math.min(POLL_MAX_MS, Math.ceil(this.pollMs * 1.25));
    this.schedule();
  }

  /** A throwing handler is the consumer's bug: surface it, but keep other watchers running. */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const w of this.watchers) w.closed = true;
    this.watchers.clear();
    this.stopTimer();
    this.closed = true;
    this.db.close();
  }
}
