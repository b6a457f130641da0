// The etcd v3 datastore, with no client library: etcd's own JSON gRPC gateway over HTTP/1.1
// (`/v3/kv/*`, `/v3/watch`), which every etcd 3.4+ serves on its client port. Keys and values
// travel base64-encoded and int64 fields as decimal strings; fields at their zero value are
// omitted (so an absent `succeeded` means false, an absent `type` means PUT).
//
// Writes use exactly the transactions of node contract §1.3 so that a real Calico sharing the
// etcd sees the same CAS behaviour: create = IF version(key)==0, update/delete = IF
// mod_revision(key)==R, ELSE range(key) to return the current value.
//
// Watches are long-lived streaming POSTs. When the stream drops (etcd restarted, endpoint
// down) the watch reconnects with backoff, on the next endpoint, from the last delivered
// revision + 1, so consumers see neither gaps nor duplicates; a compacted start revision ends
// the watch with onCompacted.
//
// An endpoint may also be a unix socket, `unix:///abs/path/to/socket`: etcd listens on one with
// `--listen-client-urls unix://NAME:PORT` (a socket file `NAME:PORT` in its working directory).
// The lab uses that so that processes in every network namespace, and the host's CLI, reach the
// same etcd through the file system without any address in the host's network namespace.

import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { Backoff, MutableDisposable, TricolorError, quote, timeout, type IDisposable } from '../base/index.ts';
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

export interface EtcdBackendOptions {
  readonly endpoints: readonly string[];
  readonly caCertFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Connection-establishment timeout per endpoint (Calico: 10 s). */
  readonly dialTimeoutMs?: number;
  /** Whole-request timeout for unary calls. */
  readonly requestTimeoutMs?: number;
  /** The server's --max-txn-ops (etcd's default: 128); larger transactions are nested to fit. */
  readonly maxTxnOps?: number;
}

/** etcd's default --max-txn-ops. */
export const ETCD_DEFAULT_MAX_TXN_OPS = 128;
/** Attempts at a large transaction whose range compares keep failing on keys it does not compare. */
const LARGE_TXN_ATTEMPTS = 5;

const DEFAULT_DIAL_TIMEOUT_MS = 10_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const WATCH_BACKOFF_MIN_MS = 50;
const WATCH_BACKOFF_MAX_MS = 2_000;
const TCP_KEEPALIVE_MS = 30_000;

// ---- wire shapes (only the fields we read) -------------------------------------------------

interface WireKv {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
}
interface WireHeader {
  revision?: string;
}
interface WireRangeResponse {
  header?: WireHeader;
  kvs?: WireKv[];
}
interface WirePutResponse {
  header?: WireHeader;
  prev_kv?: WireKv;
}
interface WireDeleteResponse {
  header?: WireHeader;
  deleted?: string;
  prev_kvs?: WireKv[];
}
interface WireTxnResponse {
  header?: WireHeader;
  succeeded?: boolean;
  responses?: {
    response_range?: WireRangeResponse;
    response_put?: WirePutResponse;
    response_delete_range?: WireDeleteResponse;
  }[];
}
interface WireWatchResult {
  header?: WireHeader;
  created?: boolean;
  canceled?: boolean;
  cancel_reason?: string;
  compact_revision?: string;
  events?: { type?: string; kv?: WireKv; prev_kv?: WireKv }[];
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string => (s === undefined ? '' : Buffer.from(s, 'base64').toString('utf8'));
const int = (s: string | undefined): number => (s === undefined ? 0 : Number(s));

function kvOf(w: WireKv): KeyValue {
  return {
    key: unb64(w.key),
    value: unb64(w.value),
    modRevision: int(w.mod_revision),
    createRevision: int(w.create_revision),
    version: int(w.version),
  };
}

/** Errors that mean "this endpoint never got the request": safe to try the next one. */
const DIAL_ERRORS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ENOENT', 'ETRICOLOR_DIAL_TIMEOUT']);

/** How an endpoint is named in messages: `http://host:port`, or `unix:///path` for a socket. */
function originOf(u: URL): string {
  return u.protocol === 'unix:' || u.protocol === 'unixs:' ? `${u.protocol}//${u.pathname}` : u.origin;
}

class DialError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** The endpoint list, agents and one JSON request with failover. */
class EtcdTransport {
  readonly endpoints: readonly URL[];
  private current = 0;
  private readonly tlsOpts: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  private readonly tlsFiles: { ca?: string; cert?: string };
  private readonly clientCert: X509Certificate | undefined;
  private readonly httpAgent = new HttpAgent({ keepAlive: true, keepAliveMsecs: TCP_KEEPALIVE_MS });
  private readonly httpsAgent: HttpsAgent;
  private readonly streamHttpAgent = new HttpAgent({ keepAlive: false });
  private readonly streamHttpsAgent: HttpsAgent;
  readonly dialTimeoutMs: number;
  readonly requestTimeoutMs: number;

  constructor(opts: EtcdBackendOptions) {
    if (opts.endpoints.length === 0) {
      throw new TricolorError('ERR_VALIDATION', 'etcd: endpoints: at least one endpoint is required', { field: 'endpoints' });
    }
    this.endpoints = opts.endpoints.map((e, i) => {
      let u: URL;
      try {
        u = new URL(e);
      } catch {
        throw new TricolorError('ERR_VALIDATION', `etcd: endpoints[${i}]: ${quote(e)} is not a URL (expected http(s)://host:port or unix:///path)`, { field: `endpoints[${i}]`, value: e });
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:' && u.protocol !== 'unix:' && u.protocol !== 'unixs:') {
        throw new TricolorError('ERR_VALIDATION', `etcd: endpoints[${i}]: ${quote(e)} must use http, https, unix or unixs`, { field: `endpoints[${i}]`, value: e });
      }
      if ((u.protocol === 'unix:' || u.protocol === 'unixs:') && (u.host !== '' || !u.pathname.startsWith('/') || u.pathname === '/')) {
        throw new TricolorError('ERR_VALIDATION', `etcd: endpoints[${i}]: ${quote(e)} must name an absolute socket path (unix:///path/to/socket)`, { field: `endpoints[${i}]`, value: e });
      }
      return u;
    });
    const read = (field: string, file: string | undefined): Buffer | undefined => {
      if (file === undefined || file === '') return undefined;
      try {
        return readFileSync(file);
      } catch (e) {
        throw new TricolorError('ERR_IO', `etcd: ${field}: cannot read ${quote(file)}: ${(e as Error).message}`, { field, value: file, cause: e });
      }
    };
    const ca = read('caCertFile', opts.caCertFile);
    const cert = read('certFile', opts.certFile);
    const key = read('keyFile', opts.keyFile);
    this.tlsOpts = { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
    this.tlsFiles = { ...(opts.caCertFile ? { ca: opts.caCertFile } : {}), ...(opts.certFile ? { cert: opts.certFile } : {}) };
    if (cert !== undefined) {
      try {
        this.clientCert = new X509Certificate(cert);
      } catch (e) {
        throw new TricolorError('ERR_VALIDATION', `etcd: certFile: ${quote(opts.certFile ?? '')} is not a PEM certificate: ${(e as Error).message}`, { field: 'certFile', value: opts.certFile, cause: e });
      }
    }
    this.httpsAgent = new HttpsAgent({ keepAlive: true, keepAliveMsecs: TCP_KEEPALIVE_MS, ...this.tlsOpts });
    this.streamHttpsAgent = new HttpsAgent({ keepAlive: false, ...this.tlsOpts });
    this.dialTimeoutMs = opts.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /**
   * A TLS failure in words a user can act on (issue 16 item 4): which side refused which
   * certificate, and the setting that names it. Undefined for anything that is not TLS.
   */
  explainTls(err: NodeJS.ErrnoException): string | undefined {
    const code = err.code ?? '';
    const msg = err.message;
    const caFile = this.tlsFiles.ca === undefined ? 'no ETCD_CA_CERT_FILE is set' : `ETCD_CA_CERT_FILE ${quote(this.tlsFiles.ca)}`;
    if (/^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_SIGNATURE_FAILURE)$/.test(code)) {
      return `the etcd server certificate is not signed by the CA in ${caFile} (${code}); point ETCD_CA_CERT_FILE at the CA that issued etcd's certificate`;
    }
    if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return `the etcd server certificate is not valid now (${code}); renew etcd's certificate`;
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the etcd server certificate does not name this endpoint (${msg})`;
    if (!/alert (bad certificate|certificate required|certificate expired|unknown ca|certificate unknown|unsupported certificate)|ERR_SSL_.*ALERT/i.test(`${code} ${msg}`)) return undefined;
    const c = this.clientCert;
    if (c === undefined || this.tlsFiles.cert === undefined) {
      return 'etcd requires a client certificate and none was given: set ETCD_CERT_FILE and ETCD_KEY_FILE (etcd_cert_file/etcd_key_file in a CNI config) to a certificate signed by the CA etcd trusts';
    }
    const now = Date.now();
    const name = `client certificate ETCD_CERT_FILE ${quote(this.tlsFiles.cert)} (${c.subject.replace(/\n/g, ', ')})`;
    if (Date.parse(c.validTo) < now) return `etcd refused the ${name}: it expired on ${new Date(Date.parse(c.validTo)).toISOString()}; issue a new one`;
    if (Date.parse(c.validFrom) > now) return `etcd refused the ${name}: it is not valid before ${new Date(Date.parse(c.validFrom)).toISOString()}`;
    return `etcd refused the ${name}: it is not signed by a CA etcd trusts (issuer ${c.issuer.replace(/\n/g, ', ')}); use a client certificate issued by etcd's client CA`;
  }

  get endpointList(): string {
    return this.endpoints.map(originOf).join(',');
  }

  /** The endpoint to use now; `rotate()` moves on after a failure. */
  pick(): URL {
    return this.endpoints[this.current % this.endpoints.length]!;
  }
  rotate(): void {
    this.current = (this.current + 1) % this.endpoints.length;
  }

  /** Start a POST; the dial timer destroys it if the connection is not up in time. */
  open(url: URL, path: string, body: string, stream: boolean): ClientRequest {
    // unixs:// is etcd's TLS over a unix socket; the server certificate must name "localhost"
    const https = url.protocol === 'https:' || url.protocol === 'unixs:';
    const options = {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      agent: stream ? (https ? this.streamHttpsAgent : this.streamHttpAgent) : https ? this.httpsAgent : this.httpAgent,
    };
    const req =
      url.protocol === 'unixs:'
        ? httpsRequest({ ...options, socketPath: url.pathname, host: 'localhost', servername: 'localhost', path })
        : url.protocol === 'unix:'
        ? httpRequest({ ...options, socketPath: url.pathname, host: 'localhost', path })
        : https
          ? httpsRequest(new URL(path, url), options)
          : httpRequest(new URL(path, url), options);
    const dial = setTimeout(() => {
      req.destroy(new DialError('ETRICOLOR_DIAL_TIMEOUT', `no connection within ${this.dialTimeoutMs} ms`));
    }, this.dialTimeoutMs);
    req.on('socket', (s) => {
      s.setKeepAlive(true, TCP_KEEPALIVE_MS);
      if (!s.connecting) clearTimeout(dial);
      else s.once('connect', () => clearTimeout(dial));
    });
    req.once('close', () => clearTimeout(dial));
    req.end(body);
    return req;
  }

  /** One unary JSON call, failing over to the next endpoint when one cannot be reached. */
  async call<T>(path: string, body: unknown): Promise<T> {
    const text = JSON.stringify(body);
    const errors: string[] = [];
    for (let attempt = 0; attempt < this.endpoints.length; attempt++) {
      const url = this.pick();
      try {
        return await this.callOnce<T>(url, path, text, true);
      } catch (e) {
        if (e instanceof DialError || (e instanceof Error && DIAL_ERRORS.has((e as NodeJS.ErrnoException).code ?? ''))) {
          errors.push(`${originOf(url)}: ${e.message}`);
          this.rotate();
          continue;
        }
        throw e;
      }
    }
    throw new TricolorError('ERR_DATASTORE_UNAVAILABLE', `etcd unreachable at ${quote(this.endpointList)}: ${errors.join('; ')}`, {
      value: this.endpointList,
    });
  }

  private callOnce<T>(url: URL, path: string, body: string, retryStale: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const req = this.open(url, path, body, false);
      let settled = false;
      const timer = setTimeout(() => {
        req.destroy(new Error(`no response within ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      const done = (f: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        f();
      };
      req.on('error', (err: NodeJS.ErrnoException) => {
        // a kept-alive socket the server already closed: the request never arrived (Node docs'
        // recommended pattern); retry once on a fresh connection
        if (retryStale && req.reusedSocket && err.code === 'ECONNRESET') {
          done(() => {
            this.callOnce<T>(url, path, body, false).then(resolve, reject);
          });
          return;
        }
        done(() => {
          if (err instanceof DialError || DIAL_ERRORS.has(err.code ?? '')) reject(err);
          else reject(new TricolorError('ERR_DATASTORE_UNAVAILABLE', `etcd ${originOf(url)}${path}: ${this.explainTls(err) ?? err.message}`, { value: originOf(url), cause: err }));
        });
      });
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => done(() => reject(new TricolorError('ERR_DATASTORE_UNAVAILABLE', `etcd ${originOf(url)}${path}: ${err.message}`, { cause: err }))));
        res.on('end', () => {
          done(() => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              reject(new TricolorError('ERR_DATASTORE_UNAVAILABLE', `etcd ${originOf(url)}${path}: HTTP ${res.statusCode}: unparsable response ${quote(text.slice(0, 200))}`, { value: originOf(url) }));
              return;
            }
            if (res.statusCode !== 200) {
              reject(gatewayError(originOf(url), path, res.statusCode ?? 0, parsed));
              return;
            }
            resolve(parsed as T);
          });
        });
      });
    });
  }

  destroy(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    this.streamHttpAgent.destroy();
    this.streamHttpsAgent.destroy();
  }
}

function gatewayError(origin: string, path: string, status: number, body: unknown): TricolorError {
  const o = typeof body === 'object' && body !== null ? (body as { error?: unknown; message?: unknown }) : {};
  const msg = typeof o.message === 'string' ? o.message : typeof o.error === 'string' ? o.error : JSON.stringify(body);
  if (msg.includes('required revision has been compacted')) {
    return new TricolorError('ERR_COMPACTED', `etcd ${origin}${path}: ${msg}`, { value: origin });
  }
  if (msg.includes('duplicate key')) {
    return new TricolorError('ERR_VALIDATION', `etcd ${origin}${path}: ${msg}`, { value: origin });
  }
  if (msg.includes('request is too large') || msg.includes('too many operations')) {
    // refused whole by etcd's --max-request-bytes / --max-txn-ops: nothing was written
    return new TricolorError('ERR_VALIDATION', `etcd ${origin}${path}: ${msg}: nothing was written; split the request, or raise etcd's --max-request-bytes / --max-txn-ops`, { value: origin });
  }
  if (msg.includes('permission denied') || status === 401 || status === 403) {
    return new TricolorError('ERR_FORBIDDEN', `etcd ${origin}${path}: HTTP ${status}: ${msg}`, { value: origin });
  }
  return new TricolorError('ERR_DATASTORE_UNAVAILABLE', `etcd ${origin}${path}: HTTP ${status}: ${msg}`, { value: origin });
}

// ---- the backend ---------------------------------------------------------------------------

type WireCompare = Record<string, string>;

function modCompare(key: string, modRevision: number): WireCompare {
  // node contract §1.3: "must not exist" is version==0; otherwise the mod revision
  return modRevision === 0
    ? { key: b64(key), target: 'VERSION', result: 'EQUAL', version: '0' }
    : { key: b64(key), target: 'MOD', result: 'EQUAL', mod_revision: String(modRevision) };
}

function wireOp(op: TxnOp): unknown {
  return op.op === 'put' ? { request_put: { key: b64(op.key), value: b64(op.value) } } : { request_delete_range: { key: b64(op.key) } };
}

/** Ops per nested transaction so that `n` ops fit under `compares` top-level compares, if they can. */
function nestedChunkSize(n: number, compares: number, limit: number): number | undefined {
  for (let k = 1; k <= limit; k++) {
    const per = limit - Math.max(compares, k);
    if (per >= 1 && k * per >= n) return Math.ceil(n / k);
  }
  return undefined;
}

function maxNestedOps(compares: number, limit: number): number {
  let best = 0;
  for (let k = 1; k <= limit; k++) best = Math.max(best, k * Math.max(0, limit - Math.max(compares, k)));
  return best;
}

export class EtcdBackend implements DatastoreBackend {
  readonly type = 'etcdv3' as const;
  private readonly t: EtcdTransport;
  private readonly watches = new Set<EtcdWatch>();
  private readonly maxTxnOps: number;
  private closed = false;

  constructor(opts: EtcdBackendOptions) {
    this.t = new EtcdTransport(opts);
    this.maxTxnOps = opts.maxTxnOps ?? ETCD_DEFAULT_MAX_TXN_OPS;
  }

  private ensureOpen(): void {
    if (this.closed) throw new TricolorError('ERR_DATASTORE_UNAVAILABLE', `etcd backend for ${quote(this.t.endpointList)} is closed`);
  }

  private async txnRaw(compare: WireCompare[], success: unknown[], failure: unknown[]): Promise<WireTxnResponse> {
    this.ensureOpen();
    return this.t.call<WireTxnResponse>('/v3/kv/txn', { compare, success, failure });
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.ensureOpen();
    const r = await this.t.call<WireRangeResponse>('/v3/kv/range', { key: b64(key) });
    const first = r.kvs?.[0];
    return first ? kvOf(first) : undefined;
  }

  async list(prefix: string): Promise<ListResult> {
    this.ensureOpen();
    const end = prefixEnd(prefix);
    // the empty prefix is "every key": key "\0" with range_end "\0" in etcd's encoding
    const body = prefix === '' ? { key: b64('\0'), range_end: b64('\0') } : { key: b64(prefix), range_end: end === undefined ? b64('\0') : b64(end) };
    const r = await this.t.call<WireRangeResponse>('/v3/kv/range', body);
    return { items: (r.kvs ?? []).map(kvOf), revision: int(r.header?.revision) };
  }

  async create(key: string, value: string): Promise<KeyValue> {
    const r = await this.txnRaw([modCompare(key, 0)], [{ request_put: { key: b64(key), value: b64(value) } }], [{ request_range: { key: b64(key) } }]);
    const rev = int(r.header?.revision);
    if (r.succeeded === true) return { key, value, modRevision: rev, createRevision: rev, version: 1 };
    const cur = r.responses?.[0]?.response_range?.kvs?.[0];
    if (!cur) throw new TricolorError('ERR_INTERNAL', `etcd create ${quote(key)}: compare failed but the key is absent`);
    throw alreadyExists(key, kvOf(cur));
  }

  async update(key: string, value: string, expectedRevision: number): Promise<KeyValue> {
    if (expectedRevision <= 0) {
      // mod_revision==0 would match an absent key and create it; an update never creates
      const cur = await this.get(key);
      if (!cur) throw notFound(key);
      throw updateConflict(key, expectedRevision, cur);
    }
    const r = await this.txnRaw(
      [modCompare(key, expectedRevision)],
      [{ request_put: { key: b64(key), value: b64(value), prev_kv: true } }],
      [{ request_range: { key: b64(key) } }],
    );
    const rev = int(r.header?.revision);
    if (r.succeeded === true) {
      const prevWire = r.responses?.[0]?.response_put?.prev_kv;
      const prev = prevWire ? kvOf(prevWire) : undefined;
      return { key, value, modRevision: rev, createRevision: prev?.createRevision ?? rev, version: (prev?.version ?? 0) + 1 };
    }
    const cur = r.responses?.[0]?.response_range?.kvs?.[0];
    if (!cur) throw notFound(key);
    throw updateConflict(key, expectedRevision, kvOf(cur));
  }

  async put(key: string, value: string): Promise<KeyValue> {
    this.ensureOpen();
    const r = await this.t.call<WirePutResponse>('/v3/kv/put', { key: b64(key), value: b64(value), prev_kv: true });
    const rev = int(r.header?.revision);
    const prev = r.prev_kv ? kvOf(r.prev_kv) : undefined;
    return { key, value, modRevision: rev, createRevision: prev?.createRevision ?? rev, version: (prev?.version ?? 0) + 1 };
  }

  async delete(key: string, expectedRevision?: number): Promise<KeyValue> {
    if (expectedRevision === undefined) {
      this.ensureOpen();
      const r = await this.t.call<WireDeleteResponse>('/v3/kv/deleterange', { key: b64(key), prev_kv: true });
      const prev = r.prev_kvs?.[0];
      if (int(r.deleted) === 0 || !prev) throw notFound(key);
      return kvOf(prev);
    }
    if (expectedRevision <= 0) {
      const cur = await this.get(key);
      if (!cur) throw notFound(key);
      throw updateConflict(key, expectedRevision, cur);
    }
    const r = await this.txnRaw(
      [modCompare(key, expectedRevision)],
      [{ request_delete_range: { key: b64(key), prev_kv: true } }],
      [{ request_range: { key: b64(key) } }],
    );
    if (r.succeeded === true) {
      const prev = r.responses?.[0]?.response_delete_range?.prev_kvs?.[0];
      if (!prev) throw new TricolorError('ERR_INTERNAL', `etcd delete ${quote(key)}: compare held but nothing was deleted`);
      return kvOf(prev);
    }
    const cur = r.responses?.[0]?.response_range?.kvs?.[0];
    if (!cur) throw notFound(key);
    throw updateConflict(key, expectedRevision, kvOf(cur));
  }

  async txn(compares: readonly TxnCompare[], ops: readonly TxnOp[]): Promise<TxnResult> {
    checkTxnOps(ops);
    const limit = this.maxTxnOps;
    if (compares.length <= limit && ops.length <= limit) return this.flatTxn(compares, ops.map(wireOp));
    return this.largeTxn(compares, ops);
  }

  private async flatTxn(compares: readonly TxnCompare[], success: unknown[]): Promise<TxnResult> {
    const r = await this.txnRaw(
      compares.map((c) => modCompare(c.key, c.modRevision)),
      success,
      compares.map((c) => ({ request_range: { key: b64(c.key) } })),
    );
    const revision = int(r.header?.revision);
    if (r.succeeded === true) return { succeeded: true, revision, current: new Map() };
    const current = new Map<string, KeyValue | undefined>();
    compares.forEach((c, i) => {
      const kv = r.responses?.[i]?.response_range?.kvs?.[0];
      current.set(c.key, kv ? kvOf(kv) : undefined);
    });
    return { succeeded: false, revision, current };
  }

  /**
   * A transaction over etcd's --max-txn-ops, still ONE etcd transaction (one revision, one watch
   * batch, nothing for a reader to resolve, no recovery after a crash): the ops go into nested
   * transactions (etcd 3.3+), which etcd bounds level by level — k nested transactions under
   * c top-level compares may hold max(c, k) + … ≤ limit, i.e. k × (limit − max(c, k)) ops (4096
   * at the default 128). Few compares are checked exactly. Many are checked as at most limit/4
   * range compares "nothing in [first, last] modified after R", after reading every compared key
   * at revision R and checking it exactly: a range compare that fails only because a key between
   * ours changed is re-read and retried, so the result keeps the per-key contract. Beyond the
   * nesting bound the transaction is refused whole (and etcd itself refuses one over its
   * --max-request-bytes whole): all or nothing, never chunks.
   */
  private async largeTxn(compares: readonly TxnCompare[], ops: readonly TxnOp[]): Promise<TxnResult> {
    const limit = this.maxTxnOps;
    const exact = compares.length <= Math.floor(limit / 4);
    const groups = exact ? compares.length : Math.floor(limit / 4);
    const perNested = nestedChunkSize(ops.length, groups, limit);
    if (perNested === undefined) {
      throw new TricolorError(
        'ERR_VALIDATION',
        `a transaction of ${ops.length} operations is more than one etcd transaction can hold (at most ${maxNestedOps(groups, limit)} with --max-txn-ops ${limit}); nothing was written: split it, or raise etcd's --max-txn-ops`,
        { field: 'ops', value: ops.length },
      );
    }
    const success: unknown[] = [];
    for (let i = 0; i < ops.length; i += perNested) success.push({ request_txn: { success: ops.slice(i, i + perNested).map(wireOp) } });
    if (exact) return this.flatTxn(compares, success);
    for (let attempt = 1; ; attempt++) {
      const seen = await this.readCompared(compares, groups);
      const holds = compares.every((c) => (seen.current.get(c.key)?.modRevision ?? 0) === c.modRevision);
      if (!holds || attempt > LARGE_TXN_ATTEMPTS) return { succeeded: false, revision: seen.revision, current: seen.current };
      const r = await this.txnRaw(
        seen.ranges.map(([first, last]) => ({ key: b64(first), range_end: b64(`${last}\0`), target: 'MOD', result: 'LESS', mod_revision: String(seen.revision + 1) })),
        success,
        [],
      );
      if (r.succeeded === true) return { succeeded: true, revision: int(r.header?.revision), current: new Map() };
      // a key inside one of the ranges changed after we read: read again and re-check
    }
  }

  /** Every compared key read at one revision, through at most `groups` range reads. */
  private async readCompared(
    compares: readonly TxnCompare[],
    groups: number,
  ): Promise<{ revision: number; current: Map<string, KeyValue | undefined>; ranges: [string, string][] }> {
    this.ensureOpen();
    const keys = [...new Set(compares.map((c) => c.key))].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const per = Math.ceil(keys.length / groups);
    const ranges: [string, string][] = [];
    for (let i = 0; i < keys.length; i += per) ranges.push([keys[i]!, keys[Math.min(i + per, keys.length) - 1]!]);
    const wanted = new Set(keys);
    const current = new Map<string, KeyValue | undefined>(keys.map((k) => [k, undefined]));
    let revision: number | undefined;
    for (const [first, last] of ranges) {
      const body: Record<string, string> = { key: b64(first), range_end: b64(`${last}\0`) };
      if (revision !== undefined) body['revision'] = String(revision);
      const r = await this.t.call<WireRangeResponse>('/v3/kv/range', body);
      revision ??= int(r.header?.revision);
      for (const w of r.kvs ?? []) {
        const kv = kvOf(w);
        if (wanted.has(kv.key)) current.set(kv.key, kv);
      }
    }
    return { revision: revision ?? (await this.revision()), current, ranges };
  }

  async revision(): Promise<number> {
    this.ensureOpen();
    const r = await this.t.call<WireRangeResponse>('/v3/kv/range', { key: b64('\0'), count_only: true });
    return int(r.header?.revision);
  }

  /** etcd compaction (what calico-kube-controllers does periodically). Not part of DatastoreBackend. */
  async compact(revision: number): Promise<void> {
    this.ensureOpen();
    await this.t.call('/v3/kv/compaction', { revision: String(revision), physical: true });
  }

  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Watch {
    this.ensureOpen();
    const w = new EtcdWatch(this.t, prefix, fromRevision, handlers, () => this.watches.delete(w));
    this.watches.add(w);
    w.start();
    return { close: () => w.close() };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.watches].map((w) => w.close()));
    this.t.destroy();
  }
}

/** One streaming watch with reconnect-and-resume. */
class EtcdWatch {
  private readonly t: EtcdTransport;
  private readonly prefix: string;
  private readonly handlers: WatchHandlers;
  private readonly onEnd: () => void;
  /** The next revision we have not delivered; 0 = "from now" until the first creation. */
  private next: number;
  private closed = false;
  private req: ClientRequest | undefined;
  private readonly retryTimer = new MutableDisposable<IDisposable>();
  /** Watch reconnects: 50 ms doubling to 2 s, reset once a watch is established. */
  private readonly backoff = new Backoff({ initialMs: WATCH_BACKOFF_MIN_MS, maxMs: WATCH_BACKOFF_MAX_MS });
  /**
   * What the consumer was last told (nothing yet at first). A first attempt that fails before
   * etcd confirmed the watch is reported as 'disconnected' too: the consumer's list just
   * succeeded, so for it the datastore was up, and an outage in that window must not go unsaid.
   */
  private reported: 'connected' | 'disconnected' | undefined;

  constructor(t: EtcdTransport, prefix: string, fromRevision: number, handlers: WatchHandlers, onEnd: () => void) {
    this.t = t;
    this.prefix = prefix;
    this.handlers = handlers;
    this.onEnd = onEnd;
    this.next = fromRevision > 0 ? fromRevision : 0;
  }

  start(): void {
    if (this.closed) return;
    const end = prefixEnd(this.prefix);
    const create: Record<string, unknown> = {
      key: b64(this.prefix === '' ? '\0' : this.prefix),
      range_end: b64(end ?? '\0'),
      prev_kv: true,
    };
    if (this.next > 0) create['start_revision'] = String(this.next);
    const url = this.t.pick();
    const req = this.t.open(url, '/v3/watch', JSON.stringify({ create_request: create }), true);
    this.req = req;
    let buf = '';
    let failed = false;
    const fail = (): void => {
      if (failed || this.closed || this.req !== req) return;
      failed = true;
      req.destroy();
      this.req = undefined;
      this.t.rotate();
      this.disconnected();
    };
    req.on('error', fail);
    req.on('close', fail);
    req.on('response', (res: IncomingMessage) => {
      if (res.statusCode !== 200) {
        res.resume();
        fail();
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        for (;;) {
          const nl = buf.indexOf('\n');
          if (nl < 0) break;
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line === '' || this.closed || this.req !== req) continue;
          let msg: { result?: WireWatchResult; error?: unknown };
          try {
            msg = JSON.parse(line) as typeof msg;
          } catch {
            fail();
            return;
          }
          if (!this.handle(msg)) {
            if (!this.closed) fail();
            return;
          }
        }
      });
      res.on('error', fail);
      res.on('end', fail);
    });
  }

  /** Process one stream message; false = this stream is finished (reconnect unless closed). */
  private handle(msg: { result?: WireWatchResult; error?: unknown }): boolean {
    const r = msg.result;
    if (!r) return false;
    const compactRev = int(r.compact_revision);
    if (compactRev > 0) {
      this.finish();
      this.safely(() => this.handlers.onCompacted(compactRev));
      return false;
    }
    if (r.canceled === true) return false;
    if (r.created === true) {
      if (this.next === 0) this.next = int(r.header?.revision) + 1;
      this.backoff.reset();
      this.report('connected');
    }
    const events = r.events ?? [];
    let batch: WatchEvent[] = [];
    let batchRev = -1;
    const flush = (): void => {
      if (batch.length === 0 || this.closed) return;
      const b = batch;
      batch = [];
      this.next = batchRev + 1;
      this.safely(() => this.handlers.onEvents(b));
    };
    for (const e of events) {
      const kv = kvOf(e.kv ?? {});
      const rev = kv.modRevision;
      if (rev < this.next) continue; // already delivered before a reconnect
      if (rev !== batchRev) {
        flush();
        batchRev = rev;
      }
      const prev = e.prev_kv ? kvOf(e.prev_kv) : undefined;
      batch.push(e.type === 'DELETE' ? { type: 'delete', key: kv.key, revision: rev, prev } : { type: 'put', kv, prev });
    }
    flush();
    return !this.closed;
  }

  private disconnected(): void {
    if (this.closed) return;
    this.report('disconnected');
    this.retryTimer.value = timeout(() => {
      this.retryTimer.clear();
      this.start();
    }, this.backoff.next());
  }

  /** Tell the consumer the connection state, on change only. */
  private report(state: 'connected' | 'disconnected'): void {
    if (this.reported === state) return;
    this.reported = state;
    this.safely(() => this.handlers.onConnectionState?.(state));
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }

  private finish(): void {
    this.closed = true;
    this.retryTimer.dispose();
    const req = this.req;
    this.req = undefined;
    req?.destroy();
    this.onEnd();
  }

  async close(): Promise<void> {
    this.finish();
  }
}
