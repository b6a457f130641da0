import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { FlowStore, compileFilter } from './flow-store.ts';
import type { FlowFilter } from '../filter.ts';
import { matchFlow, parseFilter, parseFilterText } from '../filter.ts';
import type { FlowRecord } from '../flow.ts';
import { API, PG, WEB, demoFlow, demoModels } from '../test-support.ts';

const T = 1_800_000_000;
const models = demoModels();
const PAIRS: Array<[string, string, number]> = [
  [WEB, API, 8080],
  [WEB, API, 9090],
  [WEB, PG, 5432],
  [API, PG, 5432],
  [WEB, '8.8.8.8', 53],
];

function sample(n: number): FlowRecord[] {
  const out: FlowRecord[] = [];
  for (let i = 0; i < n; i++) {
    const [src, dst, port] = PAIRS[i % PAIRS.length] as [string, string, number];
    out.push(demoFlow(models, { src, dst, port, start: T + 15 * Math.floor(i / 7), reporter: i % 3 === 0 ? 'src' : 'dst', node: i % 2 === 0 ? 'node-1' : 'node-2' }));
  }
  return out;
}

function store(): FlowStore {
  return new FlowStore({ path: ':memory:', retentionS: 3600, maxRows: 100_000 });
}

void describe('flow store (SQLite)', () => {
  void it('aggregates per 15 s bucket and key: counters add, the row keeps one id', () => {
    const s = store();
    const a = demoFlow(models, { src: WEB, dst: API, port: 8080, start: T });
    s.ingest([a]);
    const [row] = s.ingest([{ ...a, start: T + 5, end: T + 14 }]);
    assert.equal(s.size, 1);
    assert.equal(row?.flow.stats.packetsIn, 20);
    assert.equal(row?.flow.end, T + 14);
    s.ingest([{ ...a, start: T + 15, end: T + 20 }]);
    assert.equal(s.size, 2);
    const merged = s.list({ filter: {}, range: { gte: 0, lt: T + 100 }, sortBy: 'time', page: 0, pageSize: 10, interval: 60 });
    assert.equal(merged.totalResults, 1);
    assert.equal(merged.flows[0]?.flow.stats.packetsIn, 30);
    s.close();
  });

  void it('SQL filtering agrees with matchFlow for any filter (property)', () => {
    const s = store();
    const all = s.ingest(sample(60));
    const sm = (vals: string[]) => fc.array(fc.record({ value: fc.constantFrom(...vals), type: fc.constantFrom('exact' as const, 'fuzzy' as const) }), { maxLength: 2 });
    const arb = fc.record(
      {
        source_namespaces: sm(['frontend', 'backend', 'front', 'nope']),
        dest_names: sm(['api-1', 'pg-1', 'pg', 'pub']),
        dest_ports: fc.array(fc.constantFrom(8080, 9090, 5432, 53), { maxLength: 2 }),
        actions: fc.array(fc.constantFrom('allow', 'deny'), { maxLength: 1 }),
        pending_actions: fc.array(fc.constantFrom('allow', 'deny'), { maxLength: 1 }),
        reporters: fc.array(fc.constantFrom('src', 'dst'), { maxLength: 1 }),
        ips: fc.array(fc.constantFrom(WEB, PG, '8.8.8.8'), { maxLength: 1 }),
        policies: fc.array(
          fc.record({ name: fc.constantFrom('default-deny', 'allow-web', 'deny-all', 'kns.db'), action: fc.constantFrom('allow', 'deny') }, { requiredKeys: ['name'] }),
          { maxLength: 2 },
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(arb, (raw) => {
        const filter = parseFilter(raw);
        const got = s.list({ filter, range: { gte: 0, lt: T + 10_000 }, sortBy: 'time', page: 0, pageSize: 1000, interval: 15 });
        const want = all.filter((r) => matchFlow(filter, r.flow)).map((r) => r.id).sort();
        assert.deepEqual(got.flows.map((r) => r.id).sort(), want);
        assert.equal(got.totalResults, want.length);
      }),
      { numRuns: 150 },
    );
    s.close();
  });

  void it('pages and sorts; hints, statistics and the namespace graph come from the same rows', () => {
    const s = store();
    s.ingest(sample(35));
    const p0 = s.list({ filter: {}, range: { gte: 0, lt: T + 1000 }, sortBy: 'dest_name', page: 0, pageSize: 4, interval: 15 });
    const p1 = s.list({ filter: {}, range: { gte: 0, lt: T + 1000 }, sortBy: 'dest_name', page: 1, pageSize: 4, interval: 15 });
    assert.equal(p0.flows.length, 4);
    assert.equal(p0.totalPages, Math.ceil(p0.totalResults / 4));
    assert.ok(p0.flows.every((r) => !p1.flows.some((q) => q.id === r.id)));
    const names = [...p0.flows, ...p1.flows].map((r) => r.flow.dst.name);
    assert.deepEqual(names, [...names].sort());
    assert.deepEqual(s.hints('dest_namespace', {}, { gte: 0, lt: T + 1000 }, 10), ['backend', 'db']);
    assert.deepEqual(s.hints('policy_name', parseFilterText('{"dest_namespaces":["backend"]}'), { gte: 0, lt: T + 1000 }, 10), ['__NO_MATCH__', 'allow-web', 'kns.frontend']);
    const stats = s.stats('policy', {}, { gte: 0, lt: T + 1000 });
    const eot = stats.find((r) => r.kind === 'EndOfTier' && r.tier === 'default');
    assert.ok(eot !== undefined && eot.action === 'deny' && eot.flows > 0);
    const edges = s.graph(undefined, {}, { gte: 0, lt: T + 1000 });
    assert.ok(edges.some((e) => e.source === 'frontend' && e.dest === 'backend' && e.action === 'deny'));
    const nsEdges = s.graph('db', {}, { gte: 0, lt: T + 1000 });
    assert.ok(nsEdges.every((e) => e.source.startsWith('db/') || e.dest.startsWith('db/')));
    s.close();
  });

  void it('retention and the row cap drop the oldest rows', () => {
    const s = new FlowStore({ path: ':memory:', retentionS: 60, maxRows: 10 });
    s.ingest(sample(70));
    assert.ok(s.size > 10);
    s.prune(T + 60);
    assert.equal(s.size, 10);
    const left = s.list({ filter: {}, range: { gte: 0, lt: T + 10_000 }, sortBy: 'time', page: 0, pageSize: 100, interval: 15 });
    assert.ok(left.flows.every((r) => r.flow.end >= T + 15 * 7));
    s.prune(T + 10_000);
    assert.equal(s.size, 0);
    s.close();
  });
});

void describe('flow store indexes', () => {
  void it('counting matches of the usual filters reads a covering index, never the wide rows', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tri-flowstore-'));
    try {
      const path = join(dir, 'flows.db');
      new FlowStore({ path, retentionS: 3600, maxRows: 10 }).close();
      const db = new DatabaseSync(path);
      const range = { gte: 0, lt: 2_000_000_000 };
      const filters: FlowFilter[] = [
        {},
        { dest_namespaces: [{ value: 'backend', type: 'exact' }], actions: ['deny'] },
        { source_namespaces: [{ value: 'front', type: 'fuzzy' }], dest_ports: [80, 443], reporters: ['dst'] },
        { source_names: [{ value: 'client-4', type: 'fuzzy' }], protocols: ['tcp'], pending_actions: ['deny'] },
        { dest_names: [{ value: 'api', type: 'exact' }], nodes: ['node-1'] },
      ];
      for (const f of filters) {
        const w = compileFilter(f, range);
        const plan = (db.prepare(`EXPLAIN QUERY PLAN SELECT COUNT(*) AS n FROM flows WHERE ${w.sql}`).all(...w.params) as { detail: string }[]).map((r) => r.detail).join('; ');
        assert.match(plan, /USING COVERING INDEX/, `${JSON.stringify(f)}: ${plan}`);
      }
      // and a filter on a field outside the indexes is not mistaken for one (the check can fail)
      const w = compileFilter({ ips: ['10.0.0.1'] }, range);
      const plan = (db.prepare(`EXPLAIN QUERY PLAN SELECT COUNT(*) AS n FROM flows WHERE ${w.sql}`).all(...w.params) as { detail: string }[]).map((r) => r.detail).join('; ');
      assert.doesNotMatch(plan, /SEARCH flows USING COVERING INDEX/, plan);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

void describe('filter parsing', () => {
  const bad: Array<[string, RegExp]> = [
    ['{"source_names": [', /filter: .* is not valid JSON/],
    ['[1]', /filter: .* is not a JSON object/],
    ['{"colour": ["red"]}', /filter\.colour: .* is not a filter field/],
    ['{"dest_ports": [70000]}', /filter\.dest_ports\[0\]: 70000 is not a port number/],
    ['{"actions": ["maybe"]}', /filter\.actions\[0\]: "maybe" is not one of allow, deny, pass/],
    ['{"source_names": [{"value": "a", "type": "regex"}]}', /filter\.source_names\[0\]\.type: "regex" is not one of exact, fuzzy/],
    ['{"policies": [{"tier": "x", "colour": "y"}]}', /filter\.policies\[0\]\.colour/],
    ['{"source_names": [{"value": 3}]}', /filter\.source_names\[0\]\.value: 3 is not a string/],
  ];
  for (const [text, re] of bad) {
    void it(`rejects ${text}`, () => assert.throws(() => parseFilterText(text), re));
  }
  void it('accepts bare strings as exact matches and single values as lists', () => {
    assert.deepEqual(parseFilterText('{"source_names": "a", "actions": "Deny", "dest_ports": "80"}'), {
      source_names: [{ value: 'a', type: 'exact' }],
      actions: ['deny'],
      dest_ports: [80],
    });
  });
});
