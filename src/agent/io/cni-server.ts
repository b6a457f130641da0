// The node agent's CNI socket: the installed `tricolor-cni` wrapper forwards each call (CNI_*
// environment + netconf) here and the agent runs the whole plugin in-process — no Node
// start-up, no datastore connection per call, IPAM on the agent's open backend. Wire format:
// src/cni/agent-protocol.ts. Requests run concurrently; the plugin is stateless per call and
// IPAM serialises through compare-and-swap. The socket is created mode 0600 (root only): a
// caller can plug interfaces into any namespace.

import { chmod, lstat, mkdir, rename, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DatastoreBackend, DatastoreConfig } from '../../datastore/index.ts';
import {
  AGENT_PROTOCOL_MAGIC,
  encodeAgentReply,
  errorObject,
  loadSharedCniPlugin,
  MAX_AGENT_REQUEST_BYTES,
  parseAgentRequest,
  runCni,
  type CniPlugin,
} from '../../cni/index.ts';
import { TricolorError, quote } from '../../base/index.ts';

export const CNI_SOCKET_NAME = 'cni.sock';
/** A connection that sends nothing for this long is dropped (the wrapper sends at once). */
const IDLE_TIMEOUT_MS = 30_000;

export interface CniServerOptions {
  readonly socketPath: string;
  /** The agent's open backend; requests naming this datastore run on it. */
  readonly backend: DatastoreBackend;
  readonly datastore: DatastoreConfig;
  readonly log?: (line: string) => void;
}

export interface CniServerStats {
  readonly requests: number;
  readonly failures: number;
  readonly badRequests: number;
}

/** Is something accepting connections on this unix socket path? */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export class CniServer {
  readonly socketPath: string;
  readonly #opts: CniServerOptions;
  #server: Server | undefined;
  #plugin: CniPlugin | undefined;
  readonly #open = new Set<Socket>();
  readonly #inFlight = new Set<Promise<void>>();
  #requests = 0;
  #failures = 0;
  #badRequests = 0;

  constructor(opts: CniServerOptions) {
    this.socketPath = opts.socketPath;
    this.#opts = opts;
  }

  get stats(): CniServerStats {
    return { requests: this.#requests, failures: this.#failures, badRequests: this.#badRequests };
  }

  #log(line: string): void {
    this.#opts.log?.(`${new Date().toISOString()} cni: ${line}`);
  }

  /**
   * Listen. A stale socket left by a dead agent is replaced; one that still answers belongs to
   * a live agent and is an error. The socket is bound under a temporary name, restricted to
   * 0600 and only then renamed into place, so it is never reachable with looser permissions.
   */
  async start(): Promise<void> {
    if (this.#server !== undefined) return;
    const path = this.socketPath;
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    const existing = await lstat(path).catch(() => undefined);
    if (existing !== undefined) {
      if (!existing.isSocket()) throw new TricolorError('ERR_ALREADY_EXISTS', `CNI socket ${quote(path)} exists and is not a socket`, { value: path });
      if (await socketAnswers(path)) {
        throw new TricolorError('ERR_ALREADY_EXISTS', `CNI socket ${quote(path)} is served by another running agent`, { value: path });
      }
      await unlink(path);
    }
    this.#plugin = await loadSharedCniPlugin(this.#opts.backend, this.#opts.datastore);
    const server = createServer({ allowHalfOpen: true }, (sock) => this.#accept(sock));
    const tmp = `${path}.${process.pid}.tmp`;
    await unlink(tmp).catch(() => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(tmp, () => {
        server.off('error', reject);
        resolve();
      });
    });
    try {
      await chmod(tmp, 0o600);
      await rename(tmp, path);
    } catch (e) {
      server.close();
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    server.on('error', (e) => this.#log(`socket error: ${e.message}`));
    server.unref();
    this.#server = server;
    this.#log(`serving CNI requests on ${path}`);
  }

  /** Stop accepting, let requests in flight finish (their plugin work is not interrupted), remove the socket. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await unlink(this.socketPath).catch(() => undefined);
    await Promise.allSettled([...this.#inFlight]);
    for (const s of this.#open) s.destroy();
    await closed;
  }

  #accept(sock: Socket): void {
    const acceptedAt = performance.now();
    this.#open.add(sock);
    sock.on('close', () => this.#open.delete(sock));
    sock.on('error', () => undefined); // a vanished client: nothing to answer
    sock.setTimeout(IDLE_TIMEOUT_MS, () => sock.destroy());
    sock.write(`${AGENT_PROTOCOL_MAGIC}\n`);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    sock.on('data', (b: Buffer) => {
      if (tooBig) return;
      size += b.length;
      if (size > MAX_AGENT_REQUEST_BYTES) {
        tooBig = true;
        chunks.length = 0;
        return;
      }
      chunks.push(b);
    });
    sock.once('end', () => {
      sock.setTimeout(0);
      const work = this.#handle(sock, tooBig ? undefined : Buffer.concat(chunks), size, acceptedAt);
      this.#inFlight.add(work);
      void work.finally(() => this.#inFlight.delete(work));
    });
  }

  async #handle(sock: Socket, data: Buffer | undefined, size: number, acceptedAt: number): Promise<void> {
    const t0 = performance.now();
    let stdout = '';
    let status: number;
    let what = 'request';
    try {
      if (data === undefined) {
        throw new TricolorError('ERR_PARSE', `CNI agent request: more than the ${MAX_AGENT_REQUEST_BYTES} bytes allowed`, { field: 'request' });
      }
      const req = parseAgentRequest(data);
      const plugin = this.#plugin;
      if (plugin === undefined) throw new TricolorError('ERR_INTERNAL', 'CNI server is not started');
      what = `${req.env.CNI_COMMAND ?? '?'} ${req.env.CNI_CONTAINERID ?? ''}`.trim();
      this.#requests++;
      const err: string[] = [];
      status = await runCni(() => Promise.resolve(plugin), {
        env: req.env,
        stdin: req.stdin,
        stdout: (t) => {
          stdout += t;
        },
        stderr: (t) => {
          err.push(t);
        },
      });
      if (status !== 0) {
        this.#failures++;
        this.#log(`${what} failed: ${(stdout + err.join('')).trim()}`);
      }
    } catch (e) {
      // Only framing errors reach here: runCni turns every plugin failure into a reply.
      this.#badRequests++;
      status = 1;
      stdout = JSON.stringify(errorObject(e, '1.0.0')) + '\n';
      this.#log(`malformed request (${size} bytes) refused: ${e instanceof Error ? e.message : String(e)}`);
    }
    // "receiving" is accept → whole request read: the client's writing plus any wait for this event loop
    if (status === 0) this.#log(`${what} ok in ${(performance.now() - t0).toFixed(1)} ms (receiving ${(t0 - acceptedAt).toFixed(1)} ms)`);
    if (sock.destroyed) return;
    sock.write(encodeAgentReply(status, stdout));
    // A unix-socket write that went through at once is already in the peer's receive queue, so
    // close right now: end() would send the EOF the wrapper waits for only on a later turn of
    // this event loop, which may by then be busy programming the endpoint just written.
    if (sock.writableLength === 0) sock.destroy();
    else sock.end();
  }
}
