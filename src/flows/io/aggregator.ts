// The flow aggregator (`tricolor flows serve`, Goldmane's and whisker-backend's roles in one):
// agents POST their batches, the store aggregates them into 15-second buckets, and an HTTP/JSON
// API serves lists with Goldmane's filters, paging and sorting, filter hints, per-policy and
// per-rule statistics, a who-talks-to-whom graph, a live stream (Server-Sent Events), and — with a
// policy source — `policy explain` for a flow and a suggested allow policy that can be staged.
// The web UI's static files are served from the same port.
//
// Exposure: bound to 127.0.0.1 by default. Bound anywhere else it refuses to start without a
// bearer token; with a token every API call needs `Authorization: Bearer <token>` (or the cookie
// the UI gets from opening `/?token=<token>` once). Agents push with the same token.

import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { chmodSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join, extname, normalize } from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import { DisposableStore, MetricsRegistry, TricolorError, interval, isTricolorError, quote, registerProcessMetrics, type ErrorCode } from '../../base/index.ts';
import type { PolicyModel, ExplainResult } from '../../calc/index.ts';
import { explain } from '../../calc/index.ts';
import { parseFlowBatch } from '../batch.ts';
import { matchFlow, parseFilterText } from '../filter.ts';
import type { FlowFilter } from '../filter.ts';
import type { FlowRecord } from '../flow.ts';
import { suggestAllowPolicy } from '../suggest-policy.ts';
import type { SuggestedPolicy } from '../suggest-policy.ts';
import { BUCKET_S, FlowStore, HINT_TYPES, SORT_KEYS } from './flow-store.ts';
import type { HintType, SortKey, StoredFlow, TimeRange } from './flow-store.ts';

/** What the aggregator needs from the cluster for explain and staging (the CLI wires a datastore). */
export interface PolicySource {
  model(): Promise<PolicyModel>;
  /** Create (or replace) a staged policy; only Staged* kinds are accepted. */
  stage?(resource: Record<string, unknown>): Promise<void>;
}

export interface AggregatorOptions {
  readonly host: string;
  readonly port: number;
  /** Required when host is not a loopback address. */
  readonly token?: string;
  /**
   * Also listen on this unix socket (mode 0660). Agents in other network namespaces reach the
   * aggregator through it (the lab's nodes cannot reach the host's loopback); the file's
   * permissions are its access control.
   */
  readonly socketPath?: string;
  /** SQLite file for history, or `:memory:` (about an hour, like Goldmane). */
  readonly historyPath: string;
  readonly retentionS: number;
  readonly maxStoredFlows: number;
  /** Directory holding index.html and the UI's assets; no UI when undefined. */
  readonly webDir?: string;
  readonly policySource?: PolicySource;
  readonly nowS?: () => number;
  readonly log?: (line: string) => void;
}

export const MAX_BODY_BYTES = 8 * 1024 * 1024;
export const MAX_PAGE_SIZE = 1000;
const MAX_STREAMS = 64;
/** Token bucket per node: 10 batches, refilled one per 1.5 s (a flush every 15 s leaves ample room). */
const NODE_BURST = 10;
const NODE_REFILL_MS = 1500;
const STREAM_BACKLOG_BYTES = 1024 * 1024;

const LIST_PARAMS = ['startTimeGte', 'startTimeLt', 'page', 'pageSize', 'sortBy', 'filter', 'interval', 'watch', 'token'] as const;

const MIME: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost' || /^127\./.test(host);
}

interface Stream {
  readonly res: ServerResponse;
  readonly filter: FlowFilter;
}

/** An HTTP refusal: a code of the error table, plus response headers (Retry-After, WWW-Authenticate) in its detail. */
function refusal(code: ErrorCode, message: string, headers: Record<string, string> = {}): TricolorError {
  return new TricolorError(code, message, { detail: { headers } });
}

function headersOf(e: TricolorError): Record<string, string> {
  const h = (e.detail as { headers?: unknown } | undefined)?.headers;
  return typeof h === 'object' && h !== null ? (h as Record<string, string>) : {};
}

function params(url: URL, allowed: readonly string[]): URLSearchParams {
  for (const k of url.searchParams.keys()) {
    if (!allowed.includes(k)) throw new TricolorError('ERR_VALIDATION', `query parameter ${quote(k)} is not known (one of ${allowed.join(', ')})`, { field: k });
  }
  return url.searchParams;
}

function intParam(q: URLSearchParams, name: string, dflt: number, min: number, max: number): number {
  const v = q.get(name);
  if (v === null || v === '') return dflt;
  if (!/^-?\d+$/.test(v)) throw new TricolorError('ERR_VALIDATION', `${name}: ${quote(v)} is not an integer`, { field: name, value: v });
  const n = Number(v);
  if (n < min || n > max) throw new TricolorError('ERR_VALIDATION', `${name}: ${quote(v)} is out of range (${min}..${max})`, { field: name, value: v });
  return n;
}

/** Goldmane's time parameters: 0 = oldest (gte) or now (lt); negative = seconds before now; positive = Unix seconds. */
export function timeRange(q: URLSearchParams, nowS: number): TimeRange {
  const rel = (name: string, zero: number): number => {
    const n = intParam(q, name, 0, -10 * 365 * 86400, 100_000_000_000);
    return n === 0 ? zero : n < 0 ? nowS + n : n;
  };
  const gte = rel('startTimeGte', 0);
  const lt = rel('startTimeLt', nowS + 1);
  if (lt <= gte) throw new TricolorError('ERR_VALIDATION', `startTimeLt: ${lt} is not after startTimeGte ${gte}`, { field: 'startTimeLt', value: lt });
  return { gte, lt };
}

function wireFlow(s: StoredFlow): Record<string, unknown> {
  return { id: s.id, ...s.flow };
}

/** Bearer token comparison in constant time. */
function tokenMatches(given: string | undefined, want: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}

export class FlowAggregator {
  readonly store: FlowStore;
  readonly metrics = new MetricsRegistry();
  private readonly opts: AggregatorOptions;
  private server: Server | undefined;
  private unixServer: Server | undefined;
  private readonly streams = new Set<Stream>();
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();
  /** The prune and stream keep-alive intervals. */
  private readonly timers = new DisposableStore();
  private readonly m;
  private boundPort = 0;

  constructor(opts: AggregatorOptions) {
    if (!isLoopback(opts.host) && (opts.token === undefined || opts.token === '')) {
      throw new TricolorError('ERR_USAGE', `flows serve: binding to ${quote(opts.host)} (not loopback) needs a bearer token (--token-file); the flow API shows who talks to whom and can stage policies`, { field: '--host', value: opts.host });
    }
    this.opts = opts;
    this.store = new FlowStore({ path: opts.historyPath, retentionS: opts.retentionS, maxRows: opts.maxStoredFlows });
    const r = this.metrics;
    registerProcessMetrics(r, new Date());
    this.m = {
      received: r.counter('tricolor_flows_received_flows_total', 'Flow records received from agents.'),
      rejected: r.counter('tricolor_flows_rejected_batches_total', 'Batches refused, by reason.', { labelNames: ['reason'] }),
      dropped: r.counter('tricolor_flows_dropped_flows_total', 'Stored flows dropped by retention or the size cap.'),
      batches: r.counter('tricolor_flows_batches_total', 'Batches accepted.'),
      ingest: r.summary('tricolor_flows_ingest_latency_seconds', 'Time to store one batch.'),
      query: r.summary('tricolor_flows_query_latency_seconds', 'Time to answer one list query.'),
    };
    r.gauge('tricolor_flows_stored_flows', 'Flow rows stored (15-second buckets).', () => this.store.size);
    r.gauge('tricolor_flows_streams', 'Open live streams.', () => this.streams.size);
  }

  private nowS(): number {
    return this.opts.nowS?.() ?? Math.floor(Date.now() / 1000);
  }

  private log(line: string): void {
    this.opts.log?.(`${new Date().toISOString()} [flows] ${line}`);
  }

  get url(): string {
    const h = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
    return `http://${h}:${this.boundPort}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => this.fail(res, e));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new TricolorError('ERR_IO', `flows serve: cannot listen on ${this.opts.host}:${this.opts.port}: ${e.message}`, { cause: e })));
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    const sock = this.opts.socketPath;
    if (sock !== undefined) {
      rmSync(sock, { force: true });
      const us = createServer((req, res) => {
        this.handle(req, res).catch((e: unknown) => this.fail(res, e));
      });
      await new Promise<void>((resolve, reject) => {
        us.once('error', (e) => reject(new TricolorError('ERR_IO', `flows serve: cannot listen on ${sock}: ${e.message}`, { cause: e })));
        us.listen(sock, () => resolve());
      });
      chmodSync(sock, 0o660);
      this.unixServer = us;
    }
    const a = server.address();
    this.boundPort = typeof a === 'object' && a !== null ? a.port : this.opts.port;
    this.server = server;
    this.timers.add(interval(() => this.prune(), BUCKET_S * 1000, { unref: true }));
    this.timers.add(
      interval(
        () => {
          for (const s of this.streams) s.res.write(': keep-alive\n\n');
        },
        15_000,
        { unref: true },
      ),
    );
    this.log(`serving on ${this.url} (history ${this.opts.historyPath}, retention ${this.opts.retentionS}s)`);
  }

  prune(): void {
    const n = this.store.prune(this.nowS());
    if (n > 0) this.m.dropped.inc(n);
  }

  async stop(): Promise<void> {
    this.timers.clear();
    for (const s of this.streams) s.res.end();
    this.streams.clear();
    for (const srv of [this.server, this.unixServer]) {
      if (srv === undefined) continue;
      srv.closeAllConnections();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    }
    this.server = undefined;
    this.unixServer = undefined;
    if (this.opts.socketPath !== undefined) rmSync(this.opts.socketPath, { force: true });
    this.store.close();
  }

  /** Store a batch and fan the updated rows out to matching streams. */
  ingest(flows: readonly FlowRecord[]): StoredFlow[] {
    const t0 = performance.now();
    const stored = this.store.ingest(flows);
    this.m.ingest.observe((performance.now() - t0) / 1000);
    this.m.received.inc(flows.length);
    this.m.batches.inc();
    for (const s of this.streams) {
      for (const row of stored) if (matchFlow(s.filter, row.flow)) this.send(s, row);
    }
    return stored;
  }

  private send(s: Stream, row: StoredFlow): void {
    if (s.res.writableLength > STREAM_BACKLOG_BYTES) {
      // A client that does not read: drop it rather than buffer without bound.
      s.res.end();
      this.streams.delete(s);
      return;
    }
    s.res.write(`id: ${row.id}\nevent: flow\ndata: ${JSON.stringify(wireFlow(row))}\n\n`);
  }

  private fail(res: ServerResponse, e: unknown): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    let status = 500;
    let code = 'ERR_INTERNAL';
    let message = (e as Error).message ?? String(e);
    let headers: Record<string, string> = {};
    if (isTricolorError(e)) {
      status = e.httpStatus;
      code = e.code;
      headers = headersOf(e);
    } else {
      this.log(`internal error: ${(e as Error).stack ?? message}`);
      message = `internal error: ${message}`;
    }
    this.json(res, status, { error: { code, message } }, headers);
  }

  private json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(body));
  }

  private authorised(req: IncomingMessage): boolean {
    const want = this.opts.token;
    if (want === undefined || want === '') return true;
    const h = req.headers.authorization;
    if (h !== undefined && h.startsWith('Bearer ') && tokenMatches(h.slice(7).trim(), want)) return true;
    const cookie = /(?:^|;\s*)tricolor_flows_token=([^;]+)/.exec(req.headers.cookie ?? '');
    return cookie !== null && tokenMatches(decodeURIComponent(cookie[1] ?? ''), want);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path === '/healthz') return this.json(res, 200, { ok: true });
    if (this.opts.token !== undefined && this.opts.token !== '' && method === 'GET' && path === '/' && url.searchParams.has('token')) {
      // Open the UI once with ?token=…: the token moves into an HttpOnly cookie and out of the URL.
      if (!tokenMatches(url.searchParams.get('token') ?? '', this.opts.token)) throw refusal('ERR_UNAUTHORIZED', 'bad token');
      res.writeHead(303, { location: '/', 'set-cookie': `tricolor_flows_token=${encodeURIComponent(this.opts.token)}; HttpOnly; SameSite=Strict; Path=/` });
      res.end();
      return;
    }
    if (!this.authorised(req)) throw refusal('ERR_UNAUTHORIZED', 'a bearer token is required (Authorization: Bearer <token>)', { 'www-authenticate': 'Bearer' });
    if (path === '/metrics' && method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(this.metrics.render());
      return;
    }
    if (method === 'POST') {
      // Browsers cannot send a cross-site JSON POST without a preflight we never answer, and a
      // foreign Origin is refused outright: a page elsewhere cannot push flows or stage policies.
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== 'null' && new URL(origin).host !== req.headers.host) throw refusal('ERR_FORBIDDEN', `origin ${quote(origin)} may not write here`);
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) throw refusal('ERR_UNSUPPORTED_MEDIA_TYPE', 'POST bodies must be application/json');
    }
    if (path.startsWith('/api/')) return this.api(req, res, url, method);
    if (method !== 'GET' && method !== 'HEAD') throw refusal('ERR_METHOD_NOT_ALLOWED', `${method} not allowed on ${path}`);
    return this.staticFile(res, path);
  }

  private staticFile(res: ServerResponse, path: string): void {
    const dir = this.opts.webDir;
    if (dir === undefined) throw refusal('ERR_NOT_FOUND', 'no web UI configured');
    const rel = path === '/' ? 'index.html' : normalize(decodeURIComponent(path)).replace(/^([/\\])+/, '');
    if (rel.includes('..')) throw refusal('ERR_NOT_FOUND', 'not found');
    const file = join(dir, rel);
    if (!existsSync(file)) throw refusal('ERR_NOT_FOUND', `${path}: not found`);
    res.writeHead(200, {
      'content-type': MIME[extname(file)] ?? 'application/octet-stream',
      // Nothing loads from anywhere but here: no CDN, no analytics, no phone-home.
      'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; connect-src 'self'",
      'cache-control': 'no-cache',
    });
    res.end(readFileSync(file));
  }

  private async readBody(req: IncomingMessage): Promise<unknown> {
    const len = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(len) && len > MAX_BODY_BYTES) throw refusal('ERR_TOO_LARGE', `body of ${len} bytes is larger than ${MAX_BODY_BYTES}`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY_BYTES) {
        req.destroy();
        throw refusal('ERR_TOO_LARGE', `body is larger than ${MAX_BODY_BYTES} bytes`);
      }
      chunks.push(c as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      throw new TricolorError('ERR_PARSE', `body: not valid JSON: ${(e as Error).message}`, { field: 'body' });
    }
  }

  private admit(node: string): void {
    const now = Date.now();
    let b = this.buckets.get(node);
    if (b === undefined) {
      if (this.buckets.size > 10_000) this.buckets.clear();
      b = { tokens: NODE_BURST, atMs: now };
      this.buckets.set(node, b);
    }
    b.tokens = Math.min(NODE_BURST, b.tokens + (now - b.atMs) / NODE_REFILL_MS);
    b.atMs = now;
    if (b.tokens < 1) {
      this.m.rejected.labels('rate').inc();
      throw refusal('ERR_RATE_LIMITED', `node ${quote(node)} sends batches faster than ${NODE_BURST} per ${(NODE_BURST * NODE_REFILL_MS) / 1000}s`, { 'retry-after': String(Math.ceil(NODE_REFILL_MS / 1000)) });
    }
    b.tokens -= 1;
  }

  private async api(req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<void> {
    const path = url.pathname;
    if (path === '/api/v1/flows' && method === 'POST') {
      let batch;
      try {
        batch = parseFlowBatch(await this.readBody(req));
      } catch (e) {
        this.m.rejected.labels(isTricolorError(e, 'ERR_TOO_LARGE') ? 'size' : 'invalid').inc();
        throw e;
      }
      this.admit(batch.node);
      const stored = this.ingest(batch.flows);
      return this.json(res, 200, { accepted: batch.flows.length, rows: stored.length });
    }
    if (path === '/api/v1/policies/stage' && method === 'POST') {
      params(url, ['token']);
      const ps = this.opts.policySource;
      if (ps?.stage === undefined) throw refusal('ERR_NOT_FOUND', 'the aggregator has no datastore: staging is not available');
      const body = await this.readBody(req);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new TricolorError('ERR_VALIDATION', 'body: not a policy resource object', { field: 'body' });
      await ps.stage(body as Record<string, unknown>);
      const meta = (body as { metadata?: { name?: string; namespace?: string } }).metadata ?? {};
      return this.json(res, 200, { staged: { kind: (body as { kind?: string }).kind, namespace: meta.namespace ?? '', name: meta.name ?? '' } });
    }
    if (method !== 'GET') throw refusal('ERR_METHOD_NOT_ALLOWED', `${method} not allowed on ${path}`);
    if (path === '/api/v1/flows') {
      const q = params(url, LIST_PARAMS);
      const filter = parseFilterText(q.get('filter'));
      if (q.get('watch') === '1' || q.get('watch') === 'true') return this.watch(req, res, q, filter);
      const sortBy = (q.get('sortBy') ?? 'time') as SortKey;
      if (!SORT_KEYS.includes(sortBy)) throw new TricolorError('ERR_VALIDATION', `sortBy: ${quote(sortBy)} is not one of ${SORT_KEYS.join(', ')}`, { field: 'sortBy', value: sortBy });
      const interval = intParam(q, 'interval', BUCKET_S, BUCKET_S, 86400);
      if (interval % BUCKET_S !== 0) throw new TricolorError('ERR_VALIDATION', `interval: ${interval} is not a multiple of ${BUCKET_S}`, { field: 'interval', value: interval });
      const t0 = performance.now();
      const r = this.store.list({
        filter,
        range: timeRange(q, this.nowS()),
        sortBy,
        page: intParam(q, 'page', 0, 0, 1_000_000),
        pageSize: intParam(q, 'pageSize', 100, 1, MAX_PAGE_SIZE),
        interval,
      });
      this.m.query.observe((performance.now() - t0) / 1000);
      return this.json(res, 200, { flows: r.flows.map(wireFlow), meta: { totalResults: r.totalResults, totalPages: r.totalPages } });
    }
    const one = /^\/api\/v1\/flows\/([A-Za-z0-9_-]+)$/.exec(path);
    if (one !== null) {
      params(url, ['token']);
      const s = this.store.get(one[1] ?? '');
      if (s === undefined) throw refusal('ERR_NOT_FOUND', `flow ${quote(one[1])} not found (expired or never seen)`);
      return this.json(res, 200, wireFlow(s));
    }
    if (path === '/api/v1/filter-hints') {
      const q = params(url, ['type', 'filter', 'startTimeGte', 'startTimeLt', 'pageSize', 'token']);
      const type = q.get('type') as HintType;
      if (!HINT_TYPES.includes(type)) throw new TricolorError('ERR_VALIDATION', `type: ${quote(q.get('type'))} is not one of ${HINT_TYPES.join(', ')}`, { field: 'type', value: q.get('type') });
      const hints = this.store.hints(type, parseFilterText(q.get('filter')), timeRange(q, this.nowS()), intParam(q, 'pageSize', 50, 1, MAX_PAGE_SIZE));
      return this.json(res, 200, { type, hints });
    }
    if (path === '/api/v1/stats') {
      const q = params(url, ['groupBy', 'filter', 'startTimeGte', 'startTimeLt', 'token']);
      const groupBy = q.get('groupBy') ?? 'policy';
      if (groupBy !== 'policy' && groupBy !== 'rule') throw new TricolorError('ERR_VALIDATION', `groupBy: ${quote(groupBy)} is not one of policy, rule`, { field: 'groupBy', value: groupBy });
      return this.json(res, 200, { groupBy, stats: this.store.stats(groupBy, parseFilterText(q.get('filter')), timeRange(q, this.nowS())) });
    }
    if (path === '/api/v1/graph') {
      const q = params(url, ['namespace', 'filter', 'startTimeGte', 'startTimeLt', 'token']);
      const ns = q.get('namespace') ?? undefined;
      return this.json(res, 200, { namespace: ns ?? null, edges: this.store.graph(ns === '' ? undefined : ns, parseFilterText(q.get('filter')), timeRange(q, this.nowS())) });
    }
    const ex = /^\/api\/v1\/flows\/([A-Za-z0-9_-]+)\/explain$/.exec(path);
    if (ex !== null) {
      params(url, ['token']);
      const s = this.store.get(ex[1] ?? '');
      if (s === undefined) throw refusal('ERR_NOT_FOUND', `flow ${quote(ex[1])} not found (expired or never seen)`);
      return this.json(res, 200, await this.explainFlow(s.flow));
    }
    throw refusal('ERR_NOT_FOUND', `${path}: no such API`);
  }

  /** `policy explain` for a flow (needs an IP on both sides) and, for a deny, the allow policy. */
  async explainFlow(f: FlowRecord): Promise<{ explain: ExplainResult | null; command: string | null; suggestion: SuggestedPolicy | null; note?: string }> {
    const src = f.src.ips[0];
    const dst = f.dst.ips[0];
    const portPart = f.destPort > 0 ? ` --port ${f.destPort}` : '';
    const command = src !== undefined && dst !== undefined ? `tricolor policy explain --from ${src} --to ${dst}${portPart} --protocol ${f.proto.toUpperCase()}` : null;
    const src0 = this.opts.policySource;
    let result: ExplainResult | null = null;
    let note: string | undefined;
    let denyOrder: number | undefined;
    if (src0 === undefined) note = 'the aggregator has no datastore: explain is not available';
    else if (src === undefined || dst === undefined) note = 'the flow has no addresses recorded: explain needs both';
    else {
      const model = await src0.model();
      result = explain(model, { from: { ip: src }, to: { ip: dst }, protocol: f.proto, ...(f.destPort > 0 ? { port: f.destPort } : {}) });
      const deny = [...f.policies.enforced].reverse().find((h) => h.action === 'deny' && h.kind !== 'EndOfTier');
      if (deny !== undefined) denyOrder = model.enforcedPolicies().find((p) => p.id.name === deny.name && p.id.namespace === deny.namespace)?.order;
    }
    const suggestion = f.action === 'deny' ? suggestAllowPolicy(f, denyOrder === undefined ? {} : { denyOrder }) : null;
    return { explain: result, command, suggestion, ...(note === undefined ? {} : { note }) };
  }

  private watch(req: IncomingMessage, res: ServerResponse, q: URLSearchParams, filter: FlowFilter): void {
    if (this.streams.size >= MAX_STREAMS) throw refusal('ERR_BUSY', `too many live streams (${MAX_STREAMS})`);
    const nowS = this.nowS();
    const gte = q.get('startTimeGte') === null ? nowS - 300 : timeRange(q, nowS).gte;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(': stream open\n\n');
    // Backfill, oldest first, so a client that appends sees time move forward.
    const back = this.store.list({ filter, range: { gte, lt: nowS + 1 }, sortBy: 'time', page: 0, pageSize: MAX_PAGE_SIZE, interval: BUCKET_S });
    const s: Stream = { res, filter };
    for (const row of back.flows.reverse()) this.send(s, row);
    this.streams.add(s);
    req.on('close', () => this.streams.delete(s));
  }
}
