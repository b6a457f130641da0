// Flow logs in the node agent: on while FelixConfiguration names an aggregator
// (`flowLogsGoldmaneServer`, Calico's switch), flushed every `flowLogsFlushInterval` (Calico's
// default 300 s; 15 s matches the aggregator's buckets and is what the lab sets). While on: ulogd
// reads the verdict logs the dataplane renders, conntrack is polled, the collector joins them
// into flow records enriched from the calc graph's state (names, labels, enforced trace from the
// log, pending trace from the oracle with staged policies in force), and the pusher sends them.
// While off nothing runs (and the dataplane renders no log rule).

import { join } from 'node:path';
import { MutableDisposable, interval } from '../../base/index.ts';
import type { MetricsRegistry } from '../../base/index.ts';
import { PolicyModel } from '../../calc/index.ts';
import type { ClusterState } from '../../calc/index.ts';
import { FlowCollector, RuleIdLookup, ServiceIndex, ruleLookupFromState, traceModels } from '../../flows/index.ts';
import type { FlowRecord } from '../../flows/index.ts';
import { FlowPusher, FlowSources } from '../../flows/io/index.ts';

export interface FlowLogConfig {
  /** The aggregator's base URL (http://host:port). */
  readonly server: string;
  readonly flushIntervalS: number;
}

export interface FlowLogManagerOptions {
  readonly nodeName: string;
  readonly runDir: string;
  readonly state: ClusterState;
  /** Changes whenever the calc state does (the models and lookup are rebuilt then). */
  readonly stateVersion: () => number;
  readonly metrics: MetricsRegistry;
  readonly log?: (line: string) => void;
}

/** Parse the FelixConfiguration fields; undefined = flow logs off. */
export function flowLogConfig(spec: Readonly<Record<string, unknown>> | undefined): FlowLogConfig | undefined {
  const server = spec?.['flowLogsGoldmaneServer'];
  if (typeof server !== 'string' || server.trim() === '') return undefined;
  // Calico gives Goldmane as host:port; Tricolor also takes http(s):// URLs and unix:///path.
  const url = /^(https?|unix):\/\//.test(server) ? server : `http://${server}`;
  const interval = spec?.['flowLogsFlushInterval'];
  let flushIntervalS = 300;
  if (typeof interval === 'string') {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(interval);
    if (m !== null) flushIntervalS = Math.max(1, Number(m[1]) * ({ ms: 0.001, s: 1, m: 60, h: 3600 } as const)[m[2] as 'ms' | 's' | 'm' | 'h']);
  } else if (typeof interval === 'number' && interval > 0) flushIntervalS = interval;
  return { server: url, flushIntervalS };
}

export class FlowLogManager {
  private readonly opts: FlowLogManagerOptions;
  private cfg: FlowLogConfig | undefined;
  private sources: FlowSources | undefined;
  private collector: FlowCollector | undefined;
  private pusher: FlowPusher | undefined;
  private readonly timer = new MutableDisposable();
  /** Flow sources being stopped (ulogd exiting). */
  private stopping: Promise<void> = Promise.resolve();
  private built: { version: number; models: ReturnType<typeof traceModels>; lookup: RuleIdLookup } | undefined;
  private readonly ruleHits = new Map<string, { labels: Record<string, string>; n: number }>();
  private flushed = 0;
  /** Kubernetes Services by cluster IP and port: the service a flow was sent to before DNAT. */
  readonly services = new ServiceIndex();

  constructor(opts: FlowLogManagerOptions) {
    this.opts = opts;
    const r = opts.metrics;
    r.counter('felix_nflog_logs_received', 'Verdict log entries received, by NFLOG group.', {
      collect: () => [...(this.sources?.logsByGroup ?? new Map<number, number>())].map(([g, n]) => [{ groupNum: String(g) }, n] as const),
    });
    r.counter('felix_nflog_parse_errors', 'Verdict log lines that did not parse.', { collect: () => this.sources?.parseErrors ?? 0 });
    r.gauge('felix_collector_epstats', 'Connections the flow collector holds.', () => this.collector?.size ?? 0);
    r.gauge('felix_collector_lookupcache_services', 'Services the flow collector can name a pre-DNAT destination after.', () => this.services.size);
    r.counter('tricolor_flows_flushed_total', 'Flow records sent towards the aggregator.', { collect: () => this.flushed });
    r.counter('tricolor_flows_push_dropped_total', 'Flow records dropped (aggregator unreachable or refusing).', { collect: () => this.pusher?.dropped ?? 0 });
    r.counter('tricolor_policy_rule_hits_total', 'New connections decided by each policy rule (flow logs on).', {
      collect: () => [...this.ruleHits.values()].map((h) => [h.labels, h.n] as const),
    });
  }

  get enabled(): boolean {
    return this.cfg !== undefined;
  }

  /** Apply the current configuration: start, stop or retime. */
  configure(cfg: FlowLogConfig | undefined): void {
    const same = cfg?.server === this.cfg?.server && cfg?.flushIntervalS === this.cfg?.flushIntervalS;
    if (same) return;
    this.stop();
    this.cfg = cfg;
    if (cfg === undefined) return;
    this.collector = new FlowCollector({ node: this.opts.nodeName });
    this.pusher = new FlowPusher({ url: cfg.server, node: this.opts.nodeName });
    const collector = this.collector;
    this.sources = new FlowSources({
      dir: join(this.opts.runDir, 'flowlogs'),
      // the policies in force as the verdict is read (the end-of-tier trigger is taken then)
      onVerdict: (ev) => collector.addVerdict(ev, this.models()),
      onConntrack: (entries) => collector.updateConntrack(entries, Math.floor(Date.now() / 1000)),
      conntrackPollMs: Math.min(5000, cfg.flushIntervalS * 1000),
      ...(this.opts.log === undefined ? {} : { log: this.opts.log }),
    });
    this.sources.start();
    this.timer.value = interval(() => this.flush(), cfg.flushIntervalS * 1000);
    this.opts.log?.(`flow logs on: pushing to ${cfg.server} every ${cfg.flushIntervalS}s`);
  }

  private models(): { models: ReturnType<typeof traceModels>; lookup: RuleIdLookup } {
    const v = this.opts.stateVersion();
    if (this.built === undefined || this.built.version !== v) {
      this.built = { version: v, models: traceModels(new PolicyModel(this.opts.state)), lookup: ruleLookupFromState(this.opts.state) };
    }
    return this.built;
  }

  /** Flush now (also called by the timer). */
  flush(): FlowRecord[] {
    const collector = this.collector;
    const pusher = this.pusher;
    if (collector === undefined || pusher === undefined) return [];
    this.sources?.tail();
    const { models, lookup } = this.models();
    let flows: FlowRecord[];
    try {
      flows = collector.flush(Math.floor(Date.now() / 1000), models, lookup, this.services);
    } catch (e) {
      this.opts.log?.(`flow logs: flush failed: ${(e as Error).message}`);
      return [];
    }
    for (const f of flows) {
      if (f.stats.started === 0) continue;
      const last = f.policies.enforced[f.policies.enforced.length - 1];
      if (last === undefined) continue;
      const policy = last.kind === 'EndOfTier' ? '' : last.namespace === '' ? last.name : `${last.namespace}/${last.name}`;
      const labels = { tier: last.tier, policy, rule: String(last.ruleIndex), action: last.action };
      const k = JSON.stringify(labels);
      const h = this.ruleHits.get(k) ?? { labels, n: 0 };
      h.n += f.stats.started;
      this.ruleHits.set(k, h);
    }
    this.flushed += flows.length;
    if (flows.length > 0) void pusher.push(flows);
    return flows;
  }

  /** Turn flow logs off (ulogd is stopped in the background; dispose() waits for it). */
  stop(): void {
    this.timer.clear();
    const sources = this.sources;
    if (sources !== undefined) this.stopping = Promise.all([this.stopping, sources.stop()]).then(() => undefined);
    this.sources = undefined;
    this.collector = undefined;
    this.pusher = undefined;
    if (this.cfg !== undefined) this.opts.log?.('flow logs off');
    this.cfg = undefined;
  }

  /** Turn flow logs off and wait until ulogd and the conntrack polls are gone. */
  async dispose(): Promise<void> {
    this.stop();
    await this.stopping;
  }
}
