// The kernel side of flow collection for the nftables dataplane, run inside the node's network
// namespace (the agent's own): ulogd2 reads NFLOG groups 1 and 2 (Node cannot open NFLOG
// netlink sockets without a native addon) and writes one JSON object per logged packet, which we
// tail; `conntrack -L -o extended` snapshots give the counters and the flows' ends (Felix polls
// conntrack every 5 s too). ulogd is supervised like BIRD: restarted with back-off if it dies,
// killed when flow logs are turned off or the agent stops. Also the pusher that POSTs batches to
// the aggregator.

import { closeSync, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Backoff, DisposableStore, MutableDisposable, interval, timeout } from '../../base/index.ts';
import { exec, startChild, type ChildHandle } from '../../base/io/index.ts';
import type { ConntrackEntry, VerdictEvent } from '../collector.ts';
import type { FlowRecord } from '../flow.ts';
import { NFLOG_GROUP_EGRESS, NFLOG_GROUP_INGRESS } from '../rule-id.ts';

const ULOGD_PLUGINS = '/usr/lib/x86_64-linux-gnu/ulogd';

export function ulogdConfig(dir: string, pluginDir = ULOGD_PLUGINS): string {
  const groups = [NFLOG_GROUP_INGRESS, NFLOG_GROUP_EGRESS];
  return [
    '[global]',
    `logfile="${join(dir, 'ulogd.log')}"`,
    'loglevel=5',
    ...['ulogd_inppkt_NFLOG.so', 'ulogd_raw2packet_BASE.so', 'ulogd_filter_IP2STR.so', 'ulogd_output_JSON.so'].map((p) => `plugin="${join(pluginDir, p)}"`),
    ...groups.map((g) => `stack=log${g}:NFLOG,base${g}:BASE,ip2str${g}:IP2STR,json${g}:JSON`),
    // The kernel batches up to 32 logged packets per netlink message (or sends what it has after
    // 50 ms): one wakeup of ulogd per batch instead of per new connection. A large socket buffer
    // (grown on demand) keeps bursts of new connections from overrunning it (lost verdict logs).
    ...groups.flatMap((g) => [
      `[log${g}]`,
      `group=${g}`,
      'netlink_qthreshold=32',
      'netlink_qtimeout=5',
      'netlink_socket_buffer_size=1048576',
      'netlink_socket_buffer_maxsize=8388608',
      `[json${g}]`,
      'sync=1',
      `file="${join(dir, `nflog-${g}.json`)}"`,
    ]),
    '',
  ].join('\n');
}

/** One ulogd JSON line → a verdict event (undefined for lines that are not logged IP packets). */
export function parseUlogdLine(line: string, group: number): VerdictEvent | undefined {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const prefix = typeof o['oob.prefix'] === 'string' ? o['oob.prefix'].trim() : '';
  const src = o['src_ip'];
  const dst = o['dest_ip'];
  const proto = o['ip.protocol'];
  if (prefix === '' || typeof src !== 'string' || typeof dst !== 'string' || typeof proto !== 'number') return undefined;
  const sec = typeof o['oob.time.sec'] === 'number' ? o['oob.time.sec'] : Math.floor(Date.now() / 1000);
  return {
    prefix,
    group,
    srcIP: src,
    dstIP: dst,
    proto,
    ...(typeof o['src_port'] === 'number' ? { srcPort: o['src_port'] } : {}),
    ...(typeof o['dest_port'] === 'number' ? { dstPort: o['dest_port'] } : {}),
    timeS: sec,
  };
}

/** Parse `conntrack -L -o extended` output (conntrack-tools 1.4.x has no JSON output). */
export function parseConntrack(text: string): ConntrackEntry[] {
  const out: ConntrackEntry[] = [];
  for (const line of text.split('\n')) {
    const w = line.trim().split(/\s+/);
    if (w.length < 6 || (w[0] !== 'ipv4' && w[0] !== 'ipv6')) continue;
    const proto = Number(w[3]);
    const kv: Array<[string, string]> = [];
    let state: string | undefined;
    for (const x of w.slice(5)) {
      const eq = x.indexOf('=');
      if (eq > 0) kv.push([x.slice(0, eq), x.slice(eq + 1)]);
      else if (/^[A-Z_]+$/.test(x) && state === undefined && kv.length === 0) state = x;
    }
    // Two tuples: the first src/dst/sport/dport/packets/bytes is the original direction, the second the reply.
    const first = (k: string): string | undefined => kv.find(([a]) => a === k)?.[1];
    const second = (k: string): string | undefined => kv.filter(([a]) => a === k)[1]?.[1];
    const origSrc = first('src');
    const origDst = first('dst');
    const replySrc = second('src');
    if (origSrc === undefined || origDst === undefined || replySrc === undefined || !Number.isFinite(proto)) continue;
    const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
    out.push({
      proto,
      origSrc,
      origDst,
      ...(first('sport') === undefined ? {} : { origSport: num(first('sport')) as number }),
      ...(first('dport') === undefined ? {} : { origDport: num(first('dport')) as number }),
      replySrc,
      ...(second('sport') === undefined ? {} : { replySport: num(second('sport')) as number }),
      packetsOrig: num(first('packets')) ?? 0,
      bytesOrig: num(first('bytes')) ?? 0,
      packetsReply: num(second('packets')) ?? 0,
      bytesReply: num(second('bytes')) ?? 0,
      ...(state === undefined ? {} : { state }),
    });
  }
  return out;
}

export interface FlowSourcesOptions {
  /** Directory for ulogd's config, log and JSON output. */
  readonly dir: string;
  readonly onVerdict: (ev: VerdictEvent) => void;
  readonly onConntrack: (entries: ConntrackEntry[]) => void;
  readonly conntrackPollMs?: number;
  readonly log?: (line: string) => void;
  readonly ulogdPath?: string;
  readonly conntrackPath?: string;
  /** Run in this named network namespace instead of the caller's (tests; the agent is already inside its node's). */
  readonly netns?: string;
}

const MAX_JSON_BYTES = 4 * 1024 * 1024;

/** ulogd + conntrack polling for one network namespace (the calling process's). */
export class FlowSources {
  private readonly opts: FlowSourcesOptions;
  private child: ChildHandle | undefined;
  private stopped = false;
  /** ulogd restarts: 500 ms doubling to 30 s, reset once a run lasted 30 s. */
  private readonly backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
  /** The tail and conntrack intervals and a pending ulogd restart. */
  private readonly store = new DisposableStore();
  private readonly restartTimer = this.store.add(new MutableDisposable());
  /** ulogd starting or running (stop() waits for it). */
  private ulogd: Promise<void> = Promise.resolve();
  /** sysctl and conntrack runs not finished yet (stop() waits for them too). */
  private readonly inFlight = new Set<Promise<void>>();
  private readonly offsets = new Map<number, number>();
  private readonly partial = new Map<number, string>();
  restarts = 0;
  parseErrors = 0;
  logsReceived = 0;
  /** Logged packets per NFLOG group (felix_nflog_logs_received{groupNum}). */
  readonly logsByGroup = new Map<number, number>();
  conntrackEntries = 0;

  constructor(opts: FlowSourcesOptions) {
    this.opts = opts;
  }

  /** Turn conntrack accounting on (per namespace; off by default) and start reading. */
  start(): void {
    mkdirSync(this.opts.dir, { recursive: true });
    if (this.opts.netns === undefined) {
      try {
        writeFileSync('/proc/sys/net/netfilter/nf_conntrack_acct', '1');
      } catch (e) {
        this.opts.log?.(`flow logs: cannot enable conntrack accounting: ${(e as Error).message}`);
      }
    } else {
      this.track(exec(['ip', 'netns', 'exec', this.opts.netns, 'sysctl', '-qw', 'net.netfilter.nf_conntrack_acct=1']).then(
        (r) => {
          if (r.status !== 0) this.opts.log?.(`flow logs: cannot enable conntrack accounting: ${r.stderr.trim()}`);
        },
        (e: unknown) => this.opts.log?.(`flow logs: cannot enable conntrack accounting: ${(e as Error).message}`),
      ));
    }
    for (const g of [NFLOG_GROUP_INGRESS, NFLOG_GROUP_EGRESS]) {
      const f = this.file(g);
      writeFileSync(f, '');
      this.offsets.set(g, 0);
    }
    writeFileSync(join(this.opts.dir, 'ulogd.conf'), ulogdConfig(this.opts.dir));
    this.spawnUlogd();
    this.store.add(interval(() => this.tail(), 250));
    this.store.add(interval(() => this.pollConntrack(), this.opts.conntrackPollMs ?? 5000));
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private argv(file: string, args: readonly string[]): string[] {
    return this.opts.netns === undefined ? [file, ...args] : ['ip', 'netns', 'exec', this.opts.netns, file, ...args];
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private file(group: number): string {
    return join(this.opts.dir, `nflog-${group}.json`);
  }

  private spawnUlogd(): void {
    if (this.stopped) return;
    const startedAt = Date.now();
    const argv = this.argv(this.opts.ulogdPath ?? 'ulogd', ['-c', join(this.opts.dir, 'ulogd.conf')]);
    this.ulogd = startChild(argv, { onLine: (line) => this.opts.log?.(`ulogd: ${line.trim()}`) }).then(
      async (child) => {
        this.child = child;
        if (this.stopped) await child.stop();
        const { code, signal } = await child.exited;
        if (this.child === child) this.child = undefined;
        if (this.stopped) return;
        if (Date.now() - startedAt > 30_000) this.backoff.reset();
        const delayMs = this.backoff.next();
        this.opts.log?.(`ulogd exited (${code ?? signal}); restarting in ${delayMs} ms`);
        this.restarts++;
        this.restartTimer.value = timeout(() => this.spawnUlogd(), delayMs);
      },
      (e: unknown) => this.opts.log?.(`ulogd: ${(e as Error).message}`),
    );
  }

  /** Read what ulogd appended; truncate the file when it grows large (ulogd appends, O_APPEND). */
  tail(): void {
    for (const g of [NFLOG_GROUP_INGRESS, NFLOG_GROUP_EGRESS]) {
      const path = this.file(g);
      if (!existsSync(path)) continue;
      const fd = openSync(path, 'r+');
      try {
        const size = fstatSync(fd).size;
        let off = this.offsets.get(g) ?? 0;
        if (size < off) off = 0;
        if (size > off) {
          const buf = Buffer.alloc(size - off);
          readSync(fd, buf, 0, buf.length, off);
          off = size;
          const text = (this.partial.get(g) ?? '') + buf.toString('utf8');
          const lines = text.split('\n');
          this.partial.set(g, lines.pop() ?? '');
          for (const line of lines) {
            if (line.trim() === '') continue;
            const ev = parseUlogdLine(line, g);
            if (ev === undefined) this.parseErrors++;
            else {
              this.logsReceived++;
              this.logsByGroup.set(g, (this.logsByGroup.get(g) ?? 0) + 1);
              this.opts.onVerdict(ev);
            }
          }
        }
        if (off > MAX_JSON_BYTES && (this.partial.get(g) ?? '') === '') {
          ftruncateSync(fd, 0);
          off = 0;
        }
        this.offsets.set(g, off);
      } finally {
        closeSync(fd);
      }
    }
  }

  pollConntrack(): void {
    const argv = this.argv(this.opts.conntrackPath ?? 'conntrack', ['-L', '-o', 'extended']);
    this.track(exec(argv).then(
      ({ status, stdout, stderr }) => {
        if (this.stopped) return;
        if (status !== 0 && stdout === '') {
          this.opts.log?.(`conntrack -L: ${stderr.trim().split('\n')[0] ?? `exit ${status}`}`);
          return;
        }
        const entries = parseConntrack(stdout);
        this.conntrackEntries = entries.length;
        this.opts.onConntrack(entries);
      },
      (e: unknown) => {
        if (!this.stopped) this.opts.log?.(`conntrack -L: ${(e as Error).message}`);
      },
    ));
  }

  /** Stop polling and ulogd (TERM, then KILL); resolves once ulogd has exited. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.store.dispose();
    const child = this.child;
    this.child = undefined;
    await child?.stop();
    await this.ulogd;
    await Promise.all([...this.inFlight]);
  }
}

/**
 * POSTs batches to the aggregator. While it is unreachable, batches queue up to `maxQueued`
 * flows (oldest dropped first), so an aggregator restart loses little and memory stays bounded.
 */
export class FlowPusher {
  private queue: FlowRecord[] = [];
  private busy = false;
  dropped = 0;
  sent = 0;
  failures = 0;
  lastError: string | undefined;
  private readonly url: string;
  private readonly node: string;
  private readonly token: string | undefined;
  private readonly maxQueued: number;

  constructor(opts: { url: string; node: string; token?: string; maxQueued?: number }) {
    this.url = opts.url.replace(/\/+$/, '');
    this.node = opts.node;
    this.token = opts.token;
    this.maxQueued = opts.maxQueued ?? 50_000;
  }

  /** POST over TCP (http://host:port) or a unix socket (unix:///path/to/socket). */
  private post(body: string): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
    if (this.token !== undefined) headers['authorization'] = `Bearer ${this.token}`;
    const target = this.url.startsWith('unix://') ? { socketPath: this.url.slice('unix://'.length), path: '/api/v1/flows' } : (() => {
      const u = new URL(`${this.url}/api/v1/flows`);
      return { host: u.hostname, port: u.port === '' ? 80 : Number(u.port), path: u.pathname };
    })();
    return new Promise((resolve, reject) => {
      const req = httpRequest({ ...target, method: 'POST', headers, timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('timed out after 10 s')));
      req.on('error', reject);
      req.end(body);
    });
  }

  get queued(): number {
    return this.queue.length;
  }

  async push(flows: readonly FlowRecord[]): Promise<void> {
    this.queue.push(...flows);
    if (this.queue.length > this.maxQueued) {
      this.dropped += this.queue.length - this.maxQueued;
      this.queue = this.queue.slice(this.queue.length - this.maxQueued);
    }
    if (this.busy || this.queue.length === 0) return;
    this.busy = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.slice(0, 10_000);
        const res = await this.post(JSON.stringify({ node: this.node, flows: batch }));
        const text = res.text;
        if (res.status === 400) {
          // A batch the aggregator refuses will never be accepted: drop it, say why.
          this.dropped += batch.length;
          this.queue = this.queue.slice(batch.length);
          this.lastError = text;
          this.failures++;
          continue;
        }
        if (res.status < 200 || res.status > 299) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
        this.queue = this.queue.slice(batch.length);
        this.sent += batch.length;
        this.lastError = undefined;
      }
    } catch (e) {
      this.failures++;
      this.lastError = (e as Error).message;
    } finally {
      this.busy = false;
    }
  }
}
