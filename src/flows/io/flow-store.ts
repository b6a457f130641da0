// The aggregator's flow store, on Node's built-in SQLite. Incoming records aggregate per
// (15-second bucket, flow key) — Goldmane's bucket ring — and are written through, so the same
// queries serve the live window and the history: `:memory:` keeps about an hour as Goldmane does
// (lost on restart), a file keeps days (retention in hours), which Goldmane cannot. Filters compile
// to SQL with the semantics of filter.ts (matchFlow is the in-memory twin; tests hold them equal).
// Memory stays bounded: rows beyond `maxRows` are dropped oldest first, and SQLite's page cache
// has a fixed size.

import { createHash } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import type { SQLInputValue, StatementSync } from 'node:sqlite';
import { TricolorError } from '../../base/index.ts';
import { flowKey, mergeFlows, pendingAction } from '../flow.ts';
import type { FlowRecord } from '../flow.ts';
import type { FlowFilter, StringMatch } from '../filter.ts';

export const BUCKET_S = 15;

export interface StoredFlow {
  /** Stable per (bucket, key) for the store's life: the UI updates rows in place by it. */
  readonly id: string;
  readonly flow: FlowRecord;
}

export const SORT_KEYS = ['time', 'dest_name', 'dest_namespace', 'dest_type', 'source_name', 'source_namespace', 'source_type'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export const HINT_TYPES = ['source_name', 'dest_name', 'source_namespace', 'dest_namespace', 'policy_tier', 'policy_name', 'policy_namespace', 'policy_kind'] as const;
export type HintType = (typeof HINT_TYPES)[number];

export interface TimeRange {
  /** Unix seconds, inclusive lower bound on flow end. */
  readonly gte: number;
  /** Unix seconds, exclusive upper bound on flow start. */
  readonly lt: number;
}

export interface ListQuery {
  readonly filter: FlowFilter;
  readonly range: TimeRange;
  readonly sortBy: SortKey;
  readonly page: number;
  readonly pageSize: number;
  /** Seconds per result window: 15 (the bucket, default) or a multiple that merges buckets. */
  readonly interval: number;
}

export interface ListResult {
  readonly flows: StoredFlow[];
  readonly totalResults: number;
  readonly totalPages: number;
}

export interface StatRow {
  readonly kind: string;
  readonly tier: string;
  readonly namespace: string;
  readonly name: string;
  readonly ruleIndex?: number;
  readonly action: string;
  readonly flows: number;
  readonly packetsIn: number;
  readonly packetsOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly connections: number;
}

export interface GraphEdge {
  readonly source: string;
  readonly dest: string;
  readonly action: string;
  readonly flows: number;
  readonly packets: number;
  readonly bytes: number;
}

export interface FlowStoreOptions {
  /** SQLite file, or `:memory:`. */
  readonly path: string;
  readonly retentionS: number;
  readonly maxRows: number;
}

const SORT_SQL: Readonly<Record<SortKey, string>> = {
  time: 'end_s DESC, id',
  dest_name: 'dst_name, end_s DESC, id',
  dest_namespace: 'dst_ns, end_s DESC, id',
  dest_type: 'dst_type, end_s DESC, id',
  source_name: 'src_name, end_s DESC, id',
  source_namespace: 'src_ns, end_s DESC, id',
  source_type: 'src_type, end_s DESC, id',
};

const STRING_COLUMNS = { source_names: 'src_name', source_namespaces: 'src_ns', dest_names: 'dst_name', dest_namespaces: 'dst_ns' } as const;

/** Scan limit for merged intervals (aggregated in JS). */
const MAX_MERGE_SCAN = 500_000;

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

interface Where {
  readonly sql: string;
  readonly params: SQLInputValue[];
}

/** The WHERE clause of a filter and time range: OR within a field, AND across fields. */
export function compileFilter(f: FlowFilter, range: TimeRange): Where {
  const parts: string[] = ['end_s >= ?', 'start_s < ?'];
  const params: SQLInputValue[] = [range.gte, range.lt];
  const strings = (col: string, ms: readonly StringMatch[] | undefined): void => {
    if (ms === undefined || ms.length === 0) return;
    parts.push(`(${ms.map((m) => (m.type === 'exact' ? `${col} = ?` : `${col} LIKE ? ESCAPE '\\'`)).join(' OR ')})`);
    for (const m of ms) params.push(m.type === 'exact' ? m.value : `%${likeEscape(m.value)}%`);
  };
  for (const [field, col] of Object.entries(STRING_COLUMNS)) strings(col, f[field as keyof typeof STRING_COLUMNS]);
  const within = (col: string, xs: readonly SQLInputValue[] | undefined): void => {
    if (xs === undefined || xs.length === 0) return;
    parts.push(`${col} IN (${xs.map(() => '?').join(',')})`);
    params.push(...xs);
  };
  within('dst_port', f.dest_ports);
  within('proto', f.protocols);
  within('action', f.actions);
  within('pending_action', f.pending_actions);
  within('reporter', f.reporters);
  within('node', f.nodes);
  if (f.ips !== undefined && f.ips.length > 0) {
    const q = f.ips.map(() => '?').join(',');
    parts.push(`(EXISTS (SELECT 1 FROM json_each(flows.json, '$.src.ips') WHERE value IN (${q})) OR EXISTS (SELECT 1 FROM json_each(flows.json, '$.dst.ips') WHERE value IN (${q})))`);
    params.push(...f.ips, ...f.ips);
  }
  if (f.policies !== undefined && f.policies.length > 0) {
    const alts: string[] = [];
    for (const m of f.policies) {
      const conds: string[] = [];
      const p: SQLInputValue[] = [];
      if (m.kind !== undefined) {
        conds.push(`json_extract(h.value, '$.kind') = ?`);
        p.push(m.kind);
      }
      if (m.tier !== undefined) {
        conds.push(`json_extract(h.value, '$.tier') = ?`);
        p.push(m.tier);
      }
      if (m.action !== undefined) {
        conds.push(`json_extract(h.value, '$.action') = ?`);
        p.push(m.action);
      }
      for (const part of ['name', 'namespace'] as const) {
        const v = m[part];
        if (v === undefined) continue;
        conds.push(`(json_extract(h.value, '$.${part}') = ? OR (json_extract(h.value, '$.kind') = 'EndOfTier' AND json_extract(h.value, '$.trigger.${part}') = ?))`);
        p.push(v, v);
      }
      const c = conds.length === 0 ? '1' : conds.join(' AND ');
      alts.push(`EXISTS (SELECT 1 FROM json_each(flows.json, '$.policies.enforced') h WHERE ${c}) OR EXISTS (SELECT 1 FROM json_each(flows.json, '$.policies.pending') h WHERE ${c})`);
      params.push(...p, ...p);
    }
    parts.push(`(${alts.join(' OR ')})`);
  }
  return { sql: parts.join(' AND '), params };
}

function idOf(bucket: number, key: string): string {
  return `${bucket.toString(36)}-${createHash('sha1').update(key).digest('base64url').slice(0, 16)}`;
}

export class FlowStore {
  private readonly db: DatabaseSync;
  private readonly opts: FlowStoreOptions;
  private readonly getJson: StatementSync;
  private readonly upsert: StatementSync;
  private rows = 0;

  constructor(opts: FlowStoreOptions) {
    this.opts = opts;
    try {
      this.db = new DatabaseSync(opts.path);
    } catch (e) {
      throw new TricolorError('ERR_IO', `flow history ${JSON.stringify(opts.path)}: ${(e as Error).message}`, { cause: e });
    }
    this.db.exec(`
      PRAGMA journal_mode = ${opts.path === ':memory:' ? 'MEMORY' : 'WAL'};
      PRAGMA synchronous = NORMAL;
      PRAGMA cache_size = -32768;
      CREATE TABLE IF NOT EXISTS flows (
        id TEXT PRIMARY KEY, bucket INTEGER NOT NULL, start_s INTEGER NOT NULL, end_s INTEGER NOT NULL,
        src_type TEXT NOT NULL, src_ns TEXT NOT NULL, src_name TEXT NOT NULL,
        dst_type TEXT NOT NULL, dst_ns TEXT NOT NULL, dst_name TEXT NOT NULL,
        dst_port INTEGER NOT NULL, proto TEXT NOT NULL, reporter TEXT NOT NULL, action TEXT NOT NULL,
        pending_action TEXT NOT NULL, node TEXT NOT NULL,
        packets_in INTEGER NOT NULL, packets_out INTEGER NOT NULL, bytes_in INTEGER NOT NULL, bytes_out INTEGER NOT NULL,
        started INTEGER NOT NULL, json TEXT NOT NULL);
      -- Covering indexes: a filter over the indexed columns counts its matches (totalResults) from
      -- the index alone, never reading the wide rows (the JSON is ~1 kB): at 1M flows an all-time
      -- filtered count is an index scan, not a table scan. By time, and by either namespace.
      DROP INDEX IF EXISTS flows_end;
      DROP INDEX IF EXISTS flows_src_ns;
      DROP INDEX IF EXISTS flows_dst_ns;
      CREATE INDEX IF NOT EXISTS flows_scan ON flows (end_s, start_s, action, pending_action, reporter, proto, dst_port, node, src_type, src_ns, src_name, dst_type, dst_ns, dst_name);
      CREATE INDEX IF NOT EXISTS flows_src_ns_scan ON flows (src_ns, end_s, start_s, action, pending_action, reporter, proto, dst_port, src_name, dst_ns, dst_name);
      CREATE INDEX IF NOT EXISTS flows_dst_ns_scan ON flows (dst_ns, end_s, start_s, action, pending_action, reporter, proto, dst_port, dst_name, src_ns, src_name);
    `);
    this.getJson = this.db.prepare('SELECT json FROM flows WHERE id = ?');
    this.upsert = this.db.prepare(`INSERT INTO flows VALUES (?,?,?,?, ?,?,?, ?,?,?, ?,?,?,?, ?,?, ?,?,?,?, ?,?)
      ON CONFLICT(id) DO UPDATE SET start_s = excluded.start_s, end_s = excluded.end_s, packets_in = excluded.packets_in,
        packets_out = excluded.packets_out, bytes_in = excluded.bytes_in, bytes_out = excluded.bytes_out,
        started = excluded.started, json = excluded.json, src_name = excluded.src_name, dst_name = excluded.dst_name`);
    this.rows = Number((this.db.prepare('SELECT COUNT(*) AS n FROM flows').get() as { n: number }).n);
  }

  get size(): number {
    return this.rows;
  }

  /** Add records (one transaction); returns the stored rows they created or updated. */
  ingest(records: readonly FlowRecord[]): StoredFlow[] {
    const out = new Map<string, StoredFlow>();
    this.db.exec('BEGIN');
    try {
      for (const r of records) {
        const bucket = Math.floor(r.start / BUCKET_S) * BUCKET_S;
        const id = idOf(bucket, flowKey(r));
        const prev = out.get(id)?.flow ?? this.stored(id);
        const f = prev === undefined ? r : mergeFlows(prev, r);
        if (prev === undefined) this.rows++;
        this.upsert.run(
          id, bucket, f.start, f.end,
          f.src.type, f.src.namespace, f.src.name,
          f.dst.type, f.dst.namespace, f.dst.name,
          f.destPort, f.proto, f.reporter, f.action,
          pendingAction(f), f.node,
          f.stats.packetsIn, f.stats.packetsOut, f.stats.bytesIn, f.stats.bytesOut,
          f.stats.started, JSON.stringify(f),
        );
        out.set(id, { id, flow: f });
      }
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      this.rows = Number((this.db.prepare('SELECT COUNT(*) AS n FROM flows').get() as { n: number }).n);
      throw e;
    }
    return [...out.values()];
  }

  private stored(id: string): FlowRecord | undefined {
    const row = this.getJson.get(id) as { json: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.json) as FlowRecord);
  }

  /** Drop what is older than the retention, then the oldest rows beyond maxRows. */
  prune(nowS: number): number {
    let dropped = Number(this.db.prepare('DELETE FROM flows WHERE end_s < ?').run(nowS - this.opts.retentionS).changes);
    this.rows -= dropped;
    if (this.rows > this.opts.maxRows) {
      const extra = this.rows - this.opts.maxRows;
      const n = Number(this.db.prepare('DELETE FROM flows WHERE id IN (SELECT id FROM flows ORDER BY end_s LIMIT ?)').run(extra).changes);
      this.rows -= n;
      dropped += n;
    }
    return dropped;
  }

  list(q: ListQuery): ListResult {
    const w = compileFilter(q.filter, q.range);
    if (q.interval === BUCKET_S) {
      const total = Number((this.db.prepare(`SELECT COUNT(*) AS n FROM flows WHERE ${w.sql}`).get(...w.params) as { n: number }).n);
      const rows = this.db
        .prepare(`SELECT id, json FROM flows WHERE ${w.sql} ORDER BY ${SORT_SQL[q.sortBy]} LIMIT ? OFFSET ?`)
        .all(...w.params, q.pageSize, q.page * q.pageSize) as Array<{ id: string; json: string }>;
      return { flows: rows.map((r) => ({ id: r.id, flow: JSON.parse(r.json) as FlowRecord })), totalResults: total, totalPages: Math.ceil(total / q.pageSize) };
    }
    // Merged windows: aggregate matching rows per (window, key) here; bounded scan.
    const rows = this.db.prepare(`SELECT json FROM flows WHERE ${w.sql} ORDER BY end_s DESC LIMIT ?`).all(...w.params, MAX_MERGE_SCAN + 1) as Array<{ json: string }>;
    if (rows.length > MAX_MERGE_SCAN) {
      throw new TricolorError('ERR_VALIDATION', `interval: merging more than ${MAX_MERGE_SCAN} stored flows; narrow the time range or the filter`, { field: 'interval', value: q.interval });
    }
    const merged = new Map<string, FlowRecord>();
    for (const r of rows) {
      const f = JSON.parse(r.json) as FlowRecord;
      const win = Math.floor(f.start / q.interval) * q.interval;
      const id = idOf(win, flowKey(f)) + `-${q.interval}`;
      const prev = merged.get(id);
      merged.set(id, prev === undefined ? f : mergeFlows(prev, f));
    }
    const all = [...merged.entries()].map(([id, flow]) => ({ id, flow }));
    all.sort(compareBy(q.sortBy));
    return { flows: all.slice(q.page * q.pageSize, (q.page + 1) * q.pageSize), totalResults: all.length, totalPages: Math.ceil(all.length / q.pageSize) };
  }

  /** Distinct values for type-ahead, drawn from the flows that pass the rest of the filter. */
  hints(type: HintType, filter: FlowFilter, range: TimeRange, limit: number): string[] {
    const w = compileFilter(filter, range);
    const col: Readonly<Record<HintType, string>> = {
      source_name: 'src_name',
      dest_name: 'dst_name',
      source_namespace: 'src_ns',
      dest_namespace: 'dst_ns',
      policy_tier: `json_extract(h.value, '$.tier')`,
      policy_name: `json_extract(h.value, '$.name')`,
      policy_namespace: `json_extract(h.value, '$.namespace')`,
      policy_kind: `json_extract(h.value, '$.kind')`,
    };
    const expr = col[type];
    const from = type.startsWith('policy_') ? `flows, json_each(flows.json, '$.policies.enforced') h` : 'flows';
    const rows = this.db.prepare(`SELECT DISTINCT ${expr} AS v FROM ${from} WHERE ${w.sql} AND ${expr} != '' ORDER BY v LIMIT ?`).all(...w.params, limit) as Array<{ v: string }>;
    return rows.map((r) => String(r.v));
  }

  /** Per policy or per rule: flows and counters by the hit's action (Goldmane's Statistics). */
  stats(groupBy: 'policy' | 'rule', filter: FlowFilter, range: TimeRange): StatRow[] {
    const w = compileFilter(filter, range);
    const rule = groupBy === 'rule' ? `, json_extract(h.value, '$.ruleIndex') AS ruleIndex` : '';
    const group = `kind, tier, namespace, name, action${groupBy === 'rule' ? ', ruleIndex' : ''}`;
    const rows = this.db
      .prepare(
        `SELECT json_extract(h.value, '$.kind') AS kind, json_extract(h.value, '$.tier') AS tier,
           json_extract(h.value, '$.namespace') AS namespace, json_extract(h.value, '$.name') AS name,
           json_extract(h.value, '$.action') AS action${rule}, COUNT(*) AS flows,
           SUM(packets_in) AS packetsIn, SUM(packets_out) AS packetsOut, SUM(bytes_in) AS bytesIn, SUM(bytes_out) AS bytesOut,
           SUM(started) AS connections
         FROM flows, json_each(flows.json, '$.policies.enforced') h WHERE ${w.sql}
         GROUP BY ${group} ORDER BY tier, namespace, name${groupBy === 'rule' ? ', ruleIndex' : ''}, action`,
      )
      .all(...w.params) as unknown as StatRow[];
    return rows.map((r) => ({ ...r }));
  }

  /**
   * Who talks to whom: namespace → namespace edges, or, for one namespace, endpoint → endpoint
   * edges touching it (names as `ns/name`).
   */
  graph(namespace: string | undefined, filter: FlowFilter, range: TimeRange): GraphEdge[] {
    const w = compileFilter(filter, range);
    const [s, d, extra, params] =
      namespace === undefined
        ? [`src_ns`, `dst_ns`, '', w.params]
        : [`src_ns || '/' || src_name`, `dst_ns || '/' || dst_name`, ' AND (src_ns = ? OR dst_ns = ?)', [...w.params, namespace, namespace]];
    return this.db
      .prepare(
        `SELECT ${s} AS source, ${d} AS dest, action, COUNT(*) AS flows, SUM(packets_in + packets_out) AS packets, SUM(bytes_in + bytes_out) AS bytes
         FROM flows WHERE ${w.sql}${extra} GROUP BY source, dest, action ORDER BY source, dest, action`,
      )
      .all(...params)
      .map((r) => ({ ...(r as unknown as GraphEdge) }));
  }

  get(id: string): StoredFlow | undefined {
    const f = this.stored(id);
    return f === undefined ? undefined : { id, flow: f };
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

function compareBy(sort: SortKey): (a: StoredFlow, b: StoredFlow) => number {
  const field = (f: FlowRecord): string => {
    switch (sort) {
      case 'dest_name':
        return f.dst.name;
      case 'dest_namespace':
        return f.dst.namespace;
      case 'dest_type':
        return f.dst.type;
      case 'source_name':
        return f.src.name;
      case 'source_namespace':
        return f.src.namespace;
      case 'source_type':
        return f.src.type;
      case 'time':
        return '';
    }
  };
  return (a, b) => {
    const x = field(a.flow);
    const y = field(b.flow);
    if (x !== y) return x < y ? -1 : 1;
    if (a.flow.end !== b.flow.end) return b.flow.end - a.flow.end;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  };
}
