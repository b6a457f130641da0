import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FlowAggregator, MAX_BODY_BYTES } from './aggregator.ts';
import { FlowPusher } from './flow-sources.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API, PG, WEB, demoFlow, demoModels } from '../test-support.ts';
import { PolicyModel, updateOf } from '../../calc/index.ts';
import { demoResources } from '../test-support.ts';
import { ERROR_TABLE, parseMetricsText, type ErrorCode } from '../../base/index.ts';

const models = demoModels();

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

void describe('flow aggregator API', () => {
  const now = Math.floor(Date.now() / 1000);
  const agg = new FlowAggregator({
    host: '127.0.0.1',
    port: 0,
    historyPath: ':memory:',
    retentionS: 3600,
    maxStoredFlows: 100_000,
    policySource: { model: async () => PolicyModel.fromUpdates(demoResources().map(updateOf)) },
  });
  let base = '';
  before(async () => {
    await agg.start();
    base = agg.url;
  });
  after(async () => agg.stop());

  const flows = [
    demoFlow(models, { src: WEB, dst: API, port: 8080, start: now - 20 }),
    demoFlow(models, { src: WEB, dst: API, port: 9090, start: now - 20 }),
    demoFlow(models, { src: WEB, dst: PG, port: 5432, start: now - 20 }),
  ];

  void it('accepts a batch and lists it with Goldmane filter semantics', async () => {
    const r = await post(`${base}/api/v1/flows`, { node: 'node-2', flows });
    assert.equal(r.status, 200, await r.clone().text());
    const q = (f: unknown) => fetch(`${base}/api/v1/flows?startTimeGte=-300&filter=${encodeURIComponent(JSON.stringify(f))}`).then((x) => x.json() as Promise<{ flows: Array<{ id: string; action: string; destPort: number }>; meta: { totalResults: number } }>);
    assert.equal((await q({})).meta.totalResults, 3);
    const denied = await q({ actions: ['deny'] });
    assert.deepEqual(denied.flows.map((f) => f.destPort), [9090]);
    assert.equal((await q({ dest_ports: [8080, 5432] })).meta.totalResults, 2); // OR within a field
    assert.equal((await q({ dest_ports: [8080, 5432], pending_actions: ['deny'] })).meta.totalResults, 1); // AND across
    assert.equal((await q({ dest_names: [{ value: 'pg', type: 'fuzzy' }] })).meta.totalResults, 1);
    assert.equal((await q({ dest_names: [{ value: 'pg', type: 'exact' }] })).meta.totalResults, 0);
    assert.equal((await q({ policies: [{ tier: 'default', name: 'default-deny' }] })).meta.totalResults, 1);
  });

  void it('explains a denied flow and suggests a staged allow policy', async () => {
    const list = (await (await fetch(`${base}/api/v1/flows?filter=${encodeURIComponent('{"actions":["deny"]}')}`)).json()) as { flows: Array<{ id: string }> };
    const id = list.flows[0]?.id ?? '';
    const r = (await (await fetch(`${base}/api/v1/flows/${id}/explain`)).json()) as { explain: { verdict: string; ingress: { tier: string } }; command: string; suggestion: { yaml: string; resource: { kind: string } } };
    assert.equal(r.explain.verdict, 'Deny');
    assert.equal(r.explain.ingress.tier, 'default');
    assert.equal(r.command, `tricolor policy explain --from ${WEB} --to ${API} --port 9090 --protocol TCP`);
    assert.equal(r.suggestion.resource.kind, 'StagedNetworkPolicy');
    assert.match(r.suggestion.yaml, /ports:\n\s+- 9090/);
    assert.match(r.suggestion.yaml, /namespaceSelector: projectcalico.org\/name == 'frontend'/);
  });

  void it('streams new flows over Server-Sent Events, filtered', async () => {
    const ac = new AbortController();
    const res = await fetch(`${base}/api/v1/flows?watch=1&startTimeGte=-1&filter=${encodeURIComponent('{"actions":["deny"]}')}`, { signal: ac.signal });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const later = now - 5;
    await post(`${base}/api/v1/flows`, { node: 'node-2', flows: [demoFlow(models, { src: WEB, dst: API, port: 8080, start: later }), demoFlow(models, { src: WEB, dst: API, port: 7777, start: later })] });
    let text = '';
    while (!text.includes('event: flow')) text += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    const data = JSON.parse(/data: (.*)/.exec(text)?.[1] ?? '{}') as { destPort: number; action: string };
    assert.equal(data.action, 'deny');
    assert.equal(data.destPort, 7777);
  });

  void it('statistics, hints and graph answer', async () => {
    const st = (await (await fetch(`${base}/api/v1/stats?groupBy=rule`)).json()) as { stats: Array<{ name: string; action: string }> };
    assert.ok(st.stats.some((s) => s.name === 'allow-web' && s.action === 'allow'));
    const h = (await (await fetch(`${base}/api/v1/filter-hints?type=dest_namespace`)).json()) as { hints: string[] };
    assert.deepEqual(h.hints, ['backend', 'db']);
    const g = (await (await fetch(`${base}/api/v1/graph`)).json()) as { edges: Array<{ source: string; dest: string }> };
    assert.ok(g.edges.some((e) => e.source === 'frontend' && e.dest === 'db'));
  });

  void it('refuses bad input with clear 4xx errors', async () => {
    const cases: Array<[Promise<Response>, number, RegExp]> = [
      [fetch(`${base}/api/v1/flows?filter=${encodeURIComponent('{"actions": [')}`), 400, /filter: .* is not valid JSON/],
      [fetch(`${base}/api/v1/flows?pageSize=1000000`), 400, /pageSize: "1000000" is out of range \(1\.\.1000\)/],
      [fetch(`${base}/api/v1/flows?colour=red`), 400, /query parameter "colour" is not known/],
      [fetch(`${base}/api/v1/flows?sortBy=size`), 400, /sortBy: "size" is not one of/],
      [fetch(`${base}/api/v1/flows?interval=20`), 400, /interval: 20 is not a multiple of 15/],
      [fetch(`${base}/api/v1/flows?startTimeGte=-10&startTimeLt=-20`), 400, /startTimeLt/],
      [fetch(`${base}/api/v1/filter-hints?type=colour`), 400, /type: "colour" is not one of/],
      [post(`${base}/api/v1/flows`, '{"node":'), 400, /body: not valid JSON/],
      [post(`${base}/api/v1/flows`, { node: 'node-2', flows: [{ ...flows[0], colour: 'red' }] }), 400, /batch\.flows\[0\]\.colour: "red" is not a known field/],
      [post(`${base}/api/v1/flows`, { node: 'node-2', flows: [{ ...flows[0], start: Date.now() }] }), 400, /batch\.flows\[0\]\.start: .* is not an integer in/],
      [post(`${base}/api/v1/flows`, { node: 'Node 2', flows: [] }), 400, /batch\.node: "Node 2" is not a valid node name/],
      [post(`${base}/api/v1/flows`, 'x'.repeat(MAX_BODY_BYTES + 10)), 413, /larger than/],
      [fetch(`${base}/api/v1/flows`, { method: 'POST', body: '{}' }), 415, /application\/json/],
      [post(`${base}/api/v1/flows`, { node: 'node-2', flows: [] }, { origin: 'http://evil.example' }), 403, /origin "http:\/\/evil.example" may not write here/],
      [fetch(`${base}/api/v1/flows/nope-nope`), 404, /flow "nope-nope" not found/],
    ];
    for (const [p, status, re] of cases) {
      const r = await p;
      const body = (await r.json()) as { error: { code: string; message: string } };
      assert.equal(r.status, status, body.error.message);
      assert.match(body.error.message, re);
      // The code is a row of the one error table, and that row's HTTP status is the response's.
      assert.ok(Object.hasOwn(ERROR_TABLE, body.error.code), body.error.code);
      assert.equal(ERROR_TABLE[body.error.code as ErrorCode].http, status, body.error.code);
      const byStatus: Record<number, string> = { 413: 'ERR_TOO_LARGE', 415: 'ERR_UNSUPPORTED_MEDIA_TYPE', 403: 'ERR_FORBIDDEN', 404: 'ERR_NOT_FOUND' };
      if (byStatus[status] !== undefined) assert.equal(body.error.code, byStatus[status]);
    }
  });

  void it('a flood of batches from one node is cut off with 429 and Retry-After; memory stays bounded', async () => {
    let limited: Response | undefined;
    for (let i = 0; i < 30 && limited === undefined; i++) {
      const r = await post(`${base}/api/v1/flows`, { node: 'flooder', flows: [{ ...flows[0], node: 'flooder' }] });
      if (r.status === 429) limited = r;
      else await r.arrayBuffer();
    }
    assert.ok(limited !== undefined, 'no 429 after 30 batches');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal(((await limited.json()) as { error: { code: string } }).error.code, 'ERR_RATE_LIMITED');
    const m = parseMetricsText(await (await fetch(`${base}/metrics`)).text());
    assert.ok((m.get('tricolor_flows_rejected_batches_total{reason="rate"}') ?? 0) >= 1);
    assert.ok((m.get('tricolor_flows_rejected_batches_total{reason="invalid"}') ?? 0) >= 1);
    assert.ok((m.get('tricolor_flows_stored_flows') ?? 0) >= 3);
  });
});

void describe('flow aggregator exposure', () => {
  void it('refuses to bind beyond loopback without a token', () => {
    assert.throws(() => new FlowAggregator({ host: '0.0.0.0', port: 0, historyPath: ':memory:', retentionS: 60, maxStoredFlows: 10 }), /needs a bearer token/);
  });

  void it('with a token, requires it on every API call (header or the UI cookie)', async () => {
    const token = 'a-test-token-of-sufficient-length';
    const agg = new FlowAggregator({ host: '127.0.0.1', port: 0, token, historyPath: ':memory:', retentionS: 60, maxStoredFlows: 10 });
    await agg.start();
    try {
      const refused = await fetch(`${agg.url}/api/v1/flows`);
      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get('www-authenticate'), 'Bearer');
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'ERR_UNAUTHORIZED');
      assert.equal((await fetch(`${agg.url}/api/v1/flows`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
      assert.equal((await fetch(`${agg.url}/api/v1/flows`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
      const login = await fetch(`${agg.url}/?token=${token}`, { redirect: 'manual' });
      assert.equal(login.status, 303);
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      assert.equal((await fetch(`${agg.url}/api/v1/flows`, { headers: { cookie } })).status, 200);
      assert.equal((await fetch(`${agg.url}/healthz`)).status, 200);
    } finally {
      await agg.stop();
    }
  });
});

void describe('agents push over a unix socket', () => {
  void it('the pusher delivers a batch through unix://', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tri-agg-'));
    const socketPath = join(dir, 'flows.sock');
    const agg = new FlowAggregator({ host: '127.0.0.1', port: 0, socketPath, historyPath: ':memory:', retentionS: 3600, maxStoredFlows: 100 });
    await agg.start();
    try {
      const pusher = new FlowPusher({ url: `unix://${socketPath}`, node: 'node-2' });
      await pusher.push([demoFlow(models, { src: WEB, dst: API, port: 8080, start: Math.floor(Date.now() / 1000) })]);
      assert.equal(pusher.lastError, undefined);
      assert.equal(pusher.sent, 1);
      assert.equal(agg.store.size, 1);
    } finally {
      await agg.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
