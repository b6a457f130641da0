// `tricolor flows`: watch flows in the terminal like `hubble observe` (a list, or `--follow` for
// the live stream), and `tricolor flows serve`, the aggregator + web UI (Goldmane + Whisker).
// Plain `tricolor flows` finds the aggregator as plain commands find the datastore: `--server`,
// else TRICOLOR_FLOWS_URL, else the running lab's (`lab up --flow-logs`), else 127.0.0.1:8081.

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TricolorError, interval, quote, type IDisposable } from '../../base/index.ts';
import { CONFIG_FLAG, flagBool, flagString, flagStrings, parseArgs, usage } from '../args.ts';
import type { CliContext, Command } from '../command.ts';
import type { FlowFilter, FlowRecord, PolicyHit } from '../../flows/index.ts';

const HELP = `Usage: tricolor flows [--follow] [filters] [-o table|wide|json]
       tricolor flows stats [--group-by policy|rule] [filters] [-o table|json]
       tricolor flows serve [--host 127.0.0.1] [--port 8081] [--history FILE] [--retention 24h]

Show flows with the policy that allowed or denied each one (newest last), from the flow
aggregator: --server, else $TRICOLOR_FLOWS_URL, else the lab's ($TRICOLOR_LAB, else the newest
lab, as plain commands find the lab's datastore), else http://127.0.0.1:8081.

Filters (repeat a flag to OR values; different flags AND):
  -n, --namespace NS      either side in namespace NS
      --from NS/NAME      source (NAME may end in * or be omitted: NS/)
      --to NS/NAME        destination
      --action A          allow, deny or pass          --pending-action A   the staged verdict
      --port PORT         destination port             --protocol P         tcp, udp, icmp …
      --policy [TIER/]NAME  a policy in the enforced or pending trace
      --reporter src|dst  which side reported it       --ip ADDR            an address on either side
      --filter JSON       a filter in the API's JSON grammar (combined with the flags)
Options:
  -f, --follow            keep printing new flows as they arrive
      --since DURATION    how far back (default 5m; e.g. 30s, 2h, 1d)
      --last N            at most N flows (default 50)
  -o, --output FORMAT     table (default), wide or json (one flow per line)
      --server URL        the aggregator
      --token-file FILE   bearer token for an aggregator bound beyond loopback

serve options:
      --host ADDR         listen address (default 127.0.0.1; anything else needs --token-file)
      --port PORT         default 8081 (Whisker's)
      --history FILE      SQLite file for history (default: in memory, about an hour)
      --retention DUR     keep flows this long (default 1h in memory, 24h with --history)
      --max-flows N       cap on stored flow rows (default 1000000)
      --socket PATH       also listen on a unix socket (agents in other namespaces push there)
      --url-file FILE     write {"url": …} once listening (for scripts and the lab)
      --no-datastore      no policy explain / staging / ipam metrics (no datastore access)
  -c, --config FILE       CalicoAPIConfig for explain and staging
`;

const DUR_RE = /^(\d+)(s|m|h|d)$/;

export function parseDuration(text: string, flag: string): number {
  const m = DUR_RE.exec(text);
  if (m === null) throw new TricolorError('ERR_USAGE', `${flag}: ${quote(text)} is not a duration (e.g. 30s, 5m, 2h, 7d)`, { field: flag, value: text });
  return Number(m[1]) * ({ s: 1, m: 60, h: 3600, d: 86400 } as const)[m[2] as 's' | 'm' | 'h' | 'd'];
}

function sideMatch(text: string, flag: string): { ns: string; name: string | undefined } {
  const slash = text.indexOf('/');
  if (slash < 0) throw new TricolorError('ERR_USAGE', `${flag}: ${quote(text)} is not NS/NAME (or NS/)`, { field: flag, value: text });
  const name = text.slice(slash + 1);
  return { ns: text.slice(0, slash), name: name === '' ? undefined : name };
}

/** The CLI flags as one filter (the API's JSON grammar). */
export function filterFromFlags(p: ReturnType<typeof parseArgs>, base: FlowFilter): { raw: Record<string, unknown[]>; namespaces: readonly string[] } {
  const f: Record<string, unknown[]> = {};
  const add = (k: string, v: unknown): void => {
    (f[k] ??= []).push(v);
  };
  for (const [k, v] of Object.entries(base)) if (Array.isArray(v)) for (const x of v) add(k, x);
  const nsList = flagStrings(p, 'namespace');
  for (const [flag, nsKey, nameKey] of [
    ['from', 'source_namespaces', 'source_names'],
    ['to', 'dest_namespaces', 'dest_names'],
  ] as const) {
    for (const t of flagStrings(p, flag)) {
      const s = sideMatch(t, `--${flag}`);
      if (s.ns !== '') add(nsKey, { value: s.ns, type: 'exact' });
      if (s.name !== undefined) add(nameKey, s.name.endsWith('*') && !s.name.slice(0, -1).includes('*') ? { value: s.name.slice(0, -1), type: 'fuzzy' } : { value: s.name, type: 'exact' });
    }
  }
  for (const a of flagStrings(p, 'action')) add('actions', a);
  for (const a of flagStrings(p, 'pending-action')) add('pending_actions', a);
  for (const a of flagStrings(p, 'port')) add('dest_ports', a);
  for (const a of flagStrings(p, 'protocol')) add('protocols', a);
  for (const a of flagStrings(p, 'reporter')) add('reporters', a);
  for (const a of flagStrings(p, 'ip')) add('ips', a);
  for (const a of flagStrings(p, 'policy')) {
    const slash = a.lastIndexOf('/');
    // TIER/NAME when the first part names no namespace we can tell apart: `--policy default/x`
    // means tier default; a namespaced policy is matched by name (and --namespace narrows it).
    add('policies', slash < 0 ? { name: a } : { tier: a.slice(0, slash), name: a.slice(slash + 1) });
  }
  return { raw: f, namespaces: nsList };
}

async function flowsModule(): Promise<typeof import('../../flows/index.ts')> {
  return import('../../flows/index.ts');
}

interface Target {
  readonly url: string;
  readonly token: string | undefined;
}

/** Where the aggregator is: --server, $TRICOLOR_FLOWS_URL, the running lab's, or the default. */
export async function findAggregator(p: ReturnType<typeof parseArgs>, ctx: CliContext): Promise<Target> {
  const tokenFile = flagString(p, 'token-file');
  const token = tokenFile === undefined ? undefined : readFileSync(resolve(ctx.cwd, tokenFile), 'utf8').trim();
  const server = flagString(p, 'server') ?? ctx.env['TRICOLOR_FLOWS_URL'];
  if (server !== undefined && server !== '') return { url: server.replace(/\/+$/, ''), token };
  const lab = await import('../../lab/index.ts');
  const name = ctx.env['TRICOLOR_LAB'] ?? lab.currentLabName();
  if (name !== undefined) {
    const file = join(lab.labRunDir(name), 'flows.json');
    if (existsSync(file)) {
      const j = JSON.parse(readFileSync(file, 'utf8')) as { url?: string };
      if (typeof j.url === 'string') return { url: j.url, token };
    }
  }
  return { url: 'http://127.0.0.1:8081', token };
}

async function getJson(t: Target, path: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${t.url}${path}`, { headers: t.token === undefined ? {} : { authorization: `Bearer ${t.token}` } });
  } catch (e) {
    throw new TricolorError('ERR_DATASTORE_UNAVAILABLE', `cannot reach the flow aggregator at ${t.url}: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message} (start one with \`tricolor flows serve\` or \`tricolor lab up --flow-logs\`)`);
  }
  const body = (await res.json()) as { error?: { code: string; message: string } };
  if (!res.ok) throw new TricolorError(res.status === 404 ? 'ERR_NOT_FOUND' : 'ERR_VALIDATION', `flow aggregator: ${body.error?.message ?? res.statusText}`);
  return body;
}

function clock(s: number): string {
  return new Date(s * 1000).toISOString().slice(11, 19);
}

function side(e: FlowRecord['src']): string {
  if (e.type === 'net') return e.name === 'pub' ? 'PUBLIC NETWORK' : e.name === 'pvt' ? 'PRIVATE NETWORK' : e.name;
  const n = e.type === 'hep' ? `hep:${e.name}` : e.type === 'ns' ? `netset:${e.name}` : e.name;
  return e.namespace === '' ? n : `${e.namespace}/${n}`;
}

export function hitText(h: PolicyHit): string {
  if (h.kind === 'EndOfTier') return `tier ${h.tier}: end of tier ${h.action}${h.trigger === undefined ? '' : ` (${h.trigger.namespace === '' ? '' : h.trigger.namespace + '/'}${h.trigger.name})`}`;
  if (h.kind === 'Profile') return h.name === '__NO_MATCH__' ? 'no profile allowed' : `profile ${h.name} rule ${h.ruleIndex}`;
  return `${h.tier}/${h.namespace === '' ? '' : h.namespace + '/'}${h.name} rule ${h.ruleIndex}`;
}

function decidedBy(f: FlowRecord): string {
  const last = f.policies.enforced[f.policies.enforced.length - 1];
  return last === undefined ? '-' : hitText(last);
}

export function renderFlowLine(f: FlowRecord, wide: boolean): string {
  const port = f.destPort > 0 ? `${f.proto.toUpperCase()}/${f.destPort}` : f.proto.toUpperCase();
  const verdict = f.action.toUpperCase();
  let line = `${clock(f.end)}  ${side(f.src)} -> ${side(f.dst)}  ${port}  ${verdict.padEnd(5)}  ${decidedBy(f)}`;
  if (wide) {
    const pendingLast = f.policies.pending[f.policies.pending.length - 1];
    const pend = pendingLast === undefined ? '-' : `${pendingLast.action}${pendingLast.action === f.action ? '' : ` by ${hitText(pendingLast)}`}`;
    line += `  reporter=${f.reporter} node=${f.node} src=${f.src.ips.join(',') || '-'} dst=${f.dst.ips.join(',') || '-'}` +
      ` pending=${pend} pkts=${f.stats.packetsIn}/${f.stats.packetsOut} bytes=${f.stats.bytesIn}/${f.stats.bytesOut} conns=${f.stats.started}` +
      (f.service === undefined ? '' : ` service=${f.service.namespace}/${f.service.name}:${f.service.port}`);
  }
  return line;
}

const FILTER_FLAGS = [
  { name: 'namespace', short: 'n', value: true, repeatable: true },
  { name: 'from', value: true, repeatable: true },
  { name: 'to', value: true, repeatable: true },
  { name: 'action', value: true, repeatable: true },
  { name: 'pending-action', value: true, repeatable: true },
  { name: 'port', value: true, repeatable: true },
  { name: 'protocol', value: true, repeatable: true },
  { name: 'policy', value: true, repeatable: true },
  { name: 'reporter', value: true, repeatable: true },
  { name: 'ip', value: true, repeatable: true },
  { name: 'filter', value: true },
  { name: 'server', value: true },
  { name: 'token-file', value: true },
  { name: 'since', value: true },
  { name: 'output', short: 'o', value: true },
] as const;

/** The filters of the flags (namespace = either side, so it is applied as two queries' union client-side). */
async function buildFilter(p: ReturnType<typeof parseArgs>): Promise<{ filter: FlowFilter; namespaces: readonly string[] }> {
  const fl = await flowsModule();
  const base = fl.parseFilterText(flagString(p, 'filter'));
  const { raw, namespaces } = filterFromFlags(p, base);
  return { filter: fl.parseFilter(raw), namespaces };
}

function eitherNamespace(f: FlowRecord, namespaces: readonly string[]): boolean {
  return namespaces.length === 0 || namespaces.includes(f.src.namespace) || namespaces.includes(f.dst.namespace);
}

async function runList(args: readonly string[], ctx: CliContext): Promise<number> {
  const p = parseArgs(args, [...FILTER_FLAGS, { name: 'follow', short: 'f' }, { name: 'last', value: true }]);
  if (p.positionals.length > 0) throw usage(`unexpected argument ${quote(p.positionals[0])}`);
  const out = flagString(p, 'output') ?? 'table';
  if (!['table', 'wide', 'json'].includes(out)) throw usage(`--output: ${quote(out)} is not one of table, wide, json`);
  const since = parseDuration(flagString(p, 'since') ?? '5m', '--since');
  const lastText = flagString(p, 'last') ?? '50';
  if (!/^\d+$/.test(lastText) || Number(lastText) < 1 || Number(lastText) > 1000) throw usage(`--last: ${quote(lastText)} is not a number in 1..1000`);
  const { filter, namespaces } = await buildFilter(p);
  const target = await findAggregator(p, ctx);
  const print = (f: FlowRecord): void => {
    if (!eitherNamespace(f, namespaces)) return;
    ctx.stdout.write(out === 'json' ? JSON.stringify(f) + '\n' : renderFlowLine(f, out === 'wide') + '\n');
  };
  const q = `filter=${encodeURIComponent(JSON.stringify(filter))}&startTimeGte=${-since}`;
  if (!flagBool(p, 'follow')) {
    const body = (await getJson(target, `/api/v1/flows?${q}&pageSize=${namespaces.length > 0 ? 1000 : Number(lastText)}`)) as { flows: FlowRecord[] };
    const rows = body.flows.filter((f) => eitherNamespace(f, namespaces)).slice(0, Number(lastText));
    for (const f of rows.reverse()) print(f);
    return 0;
  }
  return follow(target, `/api/v1/flows?watch=1&${q}`, print, ctx);
}

/** Print the live stream until the aggregator closes it or the user interrupts. */
async function follow(t: Target, path: string, print: (f: FlowRecord) => void, ctx: CliContext): Promise<number> {
  const ac = new AbortController();
  const onSig = (): void => ac.abort();
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  try {
    const res = await fetch(`${t.url}${path}`, { signal: ac.signal, headers: t.token === undefined ? {} : { authorization: `Bearer ${t.token}` } });
    if (!res.ok || res.body === null) {
      const text = await res.text();
      throw new TricolorError('ERR_VALIDATION', `flow aggregator: ${text}`);
    }
    const seen = new Map<string, string>();
    let buf = '';
    const dec = new TextDecoder();
    for await (const chunk of res.body) {
      buf += dec.decode(chunk as Uint8Array, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const ev = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = ev.split('\n').find((l) => l.startsWith('data: '));
        if (data === undefined) continue;
        const f = JSON.parse(data.slice(6)) as FlowRecord & { id: string };
        // A row updates in place as its 15 s bucket fills: print it again only when it changed verdict or grew.
        const sig = `${f.action}|${f.stats.started}|${f.stats.packetsIn + f.stats.packetsOut}`;
        if (seen.get(f.id) === sig) continue;
        if (seen.size > 100_000) seen.clear();
        seen.set(f.id, sig);
        print(f);
      }
    }
  } catch (e) {
    if (ac.signal.aborted) return 0;
    if (e instanceof TricolorError) throw e;
    throw new TricolorError('ERR_DATASTORE_UNAVAILABLE', `flow stream from ${t.url}: ${(e as Error).message}`);
  } finally {
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
  }
  ctx.stderr.write('flow stream closed by the aggregator\n');
  return 0;
}

async function runStats(args: readonly string[], ctx: CliContext): Promise<number> {
  const p = parseArgs(args, [...FILTER_FLAGS, { name: 'group-by', value: true }]);
  const groupBy = flagString(p, 'group-by') ?? 'policy';
  const { filter } = await buildFilter(p);
  const since = parseDuration(flagString(p, 'since') ?? '1h', '--since');
  const target = await findAggregator(p, ctx);
  const body = (await getJson(target, `/api/v1/stats?groupBy=${encodeURIComponent(groupBy)}&startTimeGte=${-since}&filter=${encodeURIComponent(JSON.stringify(filter))}`)) as {
    stats: Array<Record<string, string | number>>;
  };
  if ((flagString(p, 'output') ?? 'table') === 'json') {
    ctx.stdout.write(JSON.stringify(body, null, 2) + '\n');
    return 0;
  }
  ctx.stdout.write('TIER  POLICY  ' + (groupBy === 'rule' ? 'RULE  ' : '') + 'ACTION  FLOWS  CONNECTIONS  PACKETS  BYTES\n');
  for (const s of body.stats) {
    const name = s['kind'] === 'EndOfTier' ? '(end of tier)' : `${s['namespace'] === '' ? '' : `${s['namespace']}/`}${s['name']}`;
    ctx.stdout.write(
      `${s['tier']}  ${name}  ${groupBy === 'rule' ? `${s['ruleIndex']}  ` : ''}${s['action']}  ${s['flows']}  ${s['connections']}  ${Number(s['packetsIn']) + Number(s['packetsOut'])}  ${Number(s['bytesIn']) + Number(s['bytesOut'])}\n`,
    );
  }
  return 0;
}

async function runServe(args: readonly string[], ctx: CliContext): Promise<number> {
  const p = parseArgs(args, [
    CONFIG_FLAG,
    { name: 'host', value: true },
    { name: 'port', value: true },
    { name: 'history', value: true },
    { name: 'retention', value: true },
    { name: 'max-flows', value: true },
    { name: 'token-file', value: true },
    { name: 'no-datastore' },
    { name: 'url-file', value: true },
    { name: 'socket', value: true },
  ]);
  if (p.positionals.length > 0) throw usage(`unexpected argument ${quote(p.positionals[0])}`);
  const host = flagString(p, 'host') ?? '127.0.0.1';
  const portText = flagString(p, 'port') ?? '8081';
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) throw usage(`--port: ${quote(portText)} is not a port number`);
  const history = flagString(p, 'history');
  const retentionS = parseDuration(flagString(p, 'retention') ?? (history === undefined ? '1h' : '24h'), '--retention');
  const maxText = flagString(p, 'max-flows') ?? '1000000';
  if (!/^\d+$/.test(maxText) || Number(maxText) < 1) throw usage(`--max-flows: ${quote(maxText)} is not a positive number`);
  const tokenFile = flagString(p, 'token-file');
  const token = tokenFile === undefined ? undefined : readFileSync(resolve(ctx.cwd, tokenFile), 'utf8').trim();
  if (tokenFile !== undefined && (token === undefined || token.length < 16)) throw usage(`--token-file: the token in ${quote(tokenFile)} is shorter than 16 characters`);
  const io = await import('../../flows/io/index.ts');
  let policySource: import('../../flows/io/index.ts').PolicySource | undefined;
  if (!flagBool(p, 'no-datastore')) policySource = await datastorePolicySource(flagString(p, 'config'), ctx);
  const webDir = resolve(import.meta.dirname, '../../web');
  const agg = new io.FlowAggregator({
    host,
    port: Number(portText),
    ...(token === undefined ? {} : { token }),
    historyPath: history === undefined ? ':memory:' : resolve(ctx.cwd, history),
    retentionS,
    maxStoredFlows: Number(maxText),
    webDir,
    ...(flagString(p, 'socket') === undefined ? {} : { socketPath: resolve(ctx.cwd, flagString(p, 'socket') as string) }),
    ...(policySource === undefined ? {} : { policySource }),
    log: (l) => ctx.stderr.write(l + '\n'),
  });
  // The cluster-scope ipam_* series (calico-kube-controllers' names) are served here too.
  let ipamTimer: IDisposable | undefined;
  let closeBackend: (() => Promise<void>) | undefined;
  if (policySource !== undefined) {
    const { loadDatastoreConfig } = await import('../connection.ts');
    const { openBackend } = await import('../../datastore/index.ts');
    const { IPAMClient, IpamMetricsExporter } = await import('../../ipam/index.ts');
    const backend = await openBackend(await loadDatastoreConfig(flagString(p, 'config'), ctx));
    closeBackend = () => backend.close();
    const exporter = new IpamMetricsExporter(new IPAMClient({ backend }), agg.metrics);
    const refresh = (): void => {
      exporter.refresh().catch((e: unknown) => ctx.stderr.write(`ipam metrics: ${(e as Error).message}\n`));
    };
    refresh();
    ipamTimer = interval(refresh, 15_000);
  }
  await agg.start();
  ctx.stdout.write(`flow aggregator and UI on ${agg.url}/\n`);
  const urlFile = flagString(p, 'url-file');
  if (urlFile !== undefined) {
    const { writeJsonAtomic } = await import('../../base/io/index.ts');
    writeJsonAtomic(urlFile, { url: agg.url, pid: process.pid }, { compact: true });
  }
  await new Promise<void>((resolveStop) => {
    const stop = (): void => resolveStop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  ipamTimer?.dispose();
  await agg.stop();
  await closeBackend?.();
  return 0;
}

/** Explain and staging against the configured datastore (the model is rebuilt at most every 2 s). */
async function datastorePolicySource(configFlag: string | undefined, ctx: CliContext): Promise<import('../../flows/io/index.ts').PolicySource> {
  const { withClient } = await import('../connection.ts');
  const { kindInfoFor } = await import('../../api/index.ts');
  const calc = await import('../../calc/index.ts');
  let cached: { at: number; model: import('../../calc/index.ts').PolicyModel } | undefined;
  return {
    model: async () => {
      if (cached !== undefined && Date.now() - cached.at < 2000) return cached.model;
      const items = await withClient(configFlag, ctx, async (client) => {
        const out = [];
        for (const [apiVersion, kind] of calc.CALC_KINDS) {
          const info = kindInfoFor(apiVersion, kind);
          if (info === undefined) continue;
          out.push(...(await client.list(info)).items);
        }
        return out;
      });
      cached = { at: Date.now(), model: calc.PolicyModel.fromUpdates(items.map(calc.updateOf)) };
      return cached.model;
    },
    stage: async (resource) => {
      const kind = String(resource['kind']);
      if (!kind.startsWith('Staged')) throw new TricolorError('ERR_VALIDATION', `kind: ${quote(kind)} is not a staged policy kind; only staged policies can be created from the UI`, { field: 'kind', value: kind });
      await withClient(configFlag, ctx, async (client) => {
        await client.apply(resource);
      });
    },
  };
}

export const command: Command = {
  name: 'flows',
  summary: 'Show flows and the policy that decided each; serve the flow aggregator and web UI',
  async run(args, ctx) {
    if (args.includes('--help') || args.includes('-h')) {
      ctx.stdout.write(HELP);
      return 0;
    }
    if (args[0] === 'serve') return runServe(args.slice(1), ctx);
    if (args[0] === 'stats') return runStats(args.slice(1), ctx);
    return runList(args, ctx);
  },
};
