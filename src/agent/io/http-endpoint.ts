// Small HTTP servers for the agent: health (`/liveness`, `/readiness`: 200 when good, 503 when
// not, node contract §4.20) and Prometheus metrics (`/metrics`, §4.21). Each can be rebound when
// FelixConfiguration moves it to another host or port.

import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { TricolorError } from '../../base/index.ts';

export type Handler = (path: string) => { readonly status: number; readonly body: string; readonly contentType?: string };

export class HttpEndpoint {
  private server: Server | undefined;
  private bound: string | undefined;
  private readonly handler: Handler;

  constructor(handler: Handler) {
    this.handler = handler;
  }

  /** `host:port` being served, or undefined. */
  get address(): string | undefined {
    return this.bound;
  }

  /** Serve on host:port (port undefined or 0 = off); rebinding only when it changed. */
  async bind(host: string, port: number | undefined): Promise<void> {
    const want = port === undefined || port === 0 ? undefined : `${host}:${port}`;
    if (want === this.bound) return;
    await this.close();
    if (want === undefined || port === undefined) return;
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const r = req.method === 'GET' || req.method === 'HEAD' ? this.handler(path) : { status: 405, body: 'method not allowed\n' };
      res.writeHead(r.status, { 'content-type': r.contentType ?? 'text/plain; charset=utf-8', connection: 'close' });
      res.end(req.method === 'HEAD' ? undefined : r.body);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new TricolorError('ERR_IO', `cannot listen on ${want}: ${e.message}`, { cause: e })));
      server.listen(port, host, () => resolve());
    });
    server.unref();
    this.server = server;
    this.bound = want;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    this.bound = undefined;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
