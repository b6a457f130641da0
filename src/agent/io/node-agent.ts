// The node agent (`tricolor node run`, node contract §4.1–4.4): UpdateSource (decoded and
// validated by the datastore codec) → calc graph → nft dataplane, plus workload routes and sysctls, health, metrics and a
// status file, all in the network namespace the process runs in. Nothing is programmed before the
// syncer is InSync; the first apply after that replaces whatever an earlier agent left in one nft
// transaction (there is never a window without rules), and stopping never flushes anything.

import { join } from 'node:path';
import type { AnyResource, ResourceKind, BGPConfiguration, BGPFilter, BGPPeer, FelixConfiguration, IPPool, Node } from '../../api/index.ts';
import { BirdInputs, renderBirdConfig } from '../../bgp/index.ts';
import { CalcGraph } from '../../calc/index.ts';
import type { BGPMode, CalcMessage, CalcUpdate, WorkloadEndpointUpdate } from '../../calc/index.ts';
import { DEFAULT_DATAPLANE_CONFIG, dataplaneKindOf, resolveDataplaneConfig } from '../../dataplane/index.ts';
import type { ApplyReport, Dataplane, DataplaneConfig, DataplaneKind, DataplaneOptions, ResyncReport } from '../../dataplane/index.ts';
import { createDataplane, removeOtherDataplanes } from '../../dataplane/io/index.ts';
import { localUpdateSource } from '../../datastore/index.ts';
import type { ConnectionState, DatastoreBackend, StoredUpdate, SyncStatus, UpdateSource } from '../../datastore/index.ts';
import { dataplaneFields, mergeFelixSpecs, poolInfos, resolveAgentSettings } from '../agent-config.ts';
import { fieldsNotInEffect } from '../felix-fields-in-effect.ts';
import { registerWireGuardMetrics } from '../wireguard-status.ts';
import type { AgentFlags, AgentSettings, FelixSpec } from '../agent-config.ts';
import type { AgentStatus } from '../agent-status.ts';
import { APPLY_BUCKETS_S, MetricsRegistry, registerProcessMetrics } from '../metrics.ts';
import { DisposableStore, MutableDisposable, RunOnceScheduler, timeout } from '../../base/index.ts';
import { conntrackFill, linkStat, openFds } from './node-metrics.ts';
import { FlowLogManager, flowLogConfig } from './flow-log-manager.ts';
import { AGENT_SELECTION, calcUpdateOf, isCalcUpdate } from '../update-selection.ts';
import { BGPManager } from './bgp-manager.ts';
import { NodeRoutingManager } from './node-routing-manager.ts';
import { NodeTunnelWriter } from './node-tunnel-writer.ts';
import { HttpEndpoint } from './http-endpoint.ts';
import { RouteManager } from './route-manager.ts';
import { writeStatusFile } from './status-file.ts';
import { PodMtuWriter } from './pod-mtu-writer.ts';
import { WireGuardManager } from './wireguard-manager.ts';

export interface NodeAgentOptions extends AgentFlags {
  /** An open datastore backend; the agent closes it on stop. */
  readonly backend: DatastoreBackend;
  /**
   * Where the agent's view of the cluster comes from (default: the local syncer over `backend`,
   * decoded by the datastore codec; a Typha client is the other implementation).
   */
  readonly updateSource?: UpdateSource;
  readonly log?: (line: string) => void;
  readonly nftBin?: string;
  /** eBPF: the compiled object to load instead of the built one (`TRICOLOR_BPF_OBJECT`). */
  readonly bpfObject?: string;
  /** Coalescing of datastore churn into applies (default 2 ms delay, at most every 10 ms). */
  readonly coalesceDelayMs?: number;
  readonly minApplyIntervalMs?: number;
  /** Liveness turns bad when applies have failed for this long (Felix's DataplaneWatchdogTimeout). */
  readonly watchdogMs?: number;
  /** Grace before removing a route to a workload interface nobody claims (default 10 s). */
  readonly routeGraceMs?: number;
  /** Run BIRD: auto (unless every pool is VXLAN; default), enabled, disabled. */
  readonly bgpMode?: BGPMode;
  readonly birdPath?: string;
  /** Quiet time before a changed BIRD configuration is applied (default 200 ms). */
  readonly bgpDebounceMs?: number;
  /** The wireguard-go executable (default: on PATH). */
  readonly wireguardGoPath?: string;
  /** Where the pod MTU goes for the CNI plugin (Calico: /var/lib/calico/mtu; default: not written). */
  readonly mtuFile?: string | null;
}

const SYNC_STATE_NUMBER: Readonly<Record<SyncStatus, number>> = { WaitForDatastore: 1, ResyncInProgress: 2, InSync: 3 };
const MAX_RECENT_ERRORS = 20;

export class NodeAgent {
  readonly calc: CalcGraph;
  /** Made once in sync, of the kind FelixConfiguration selects; undefined until then or when unavailable. */
  private dataplane: Dataplane | undefined;
  /** Whether what other dataplanes left has been removed (once, after the first apply). */
  private othersRemoved = false;
  /** The running dataplane's own problem last reported (e.g. a refused eBPF object). */
  private lastDataplaneProblem: string | undefined;
  /** Why the selected dataplane is not the one running (not built in, or a switch needing a restart). */
  private dataplaneProblem: { readonly kind: DataplaneKind; readonly message: string } | undefined;
  /** Local workload endpoints as last sent to the dataplane (the workload routes follow them). */
  private readonly workloads = new Map<string, WorkloadEndpointUpdate>();
  /** The calc graph's InSync has been passed on. */
  private calcInSyncSent = false;
  readonly routes: RouteManager;
  readonly metrics = new MetricsRegistry();
  /** Bumped on every batch of calc updates (the flow logs rebuild their policy model on change). */
  private calcVersion = 0;
  private readonly flowLogs: FlowLogManager;
  private readonly opts: NodeAgentOptions;
  private readonly backend: DatastoreBackend;
  private readonly source: UpdateSource;
  /** Coalesces datastore churn into calc flushes (at most one per minApplyIntervalMs). */
  private readonly flusher: RunOnceScheduler;
  private readonly health: HttpEndpoint;
  private readonly metricsServer: HttpEndpoint;
  private settings: AgentSettings;
  private syncStatus: SyncStatus = 'WaitForDatastore';
  /** undefined while the datastore is reachable; else since when (ISO) and why not. */
  private datastoreLost: { since: string; detail: string } | undefined;
  private inSyncSeen = false;
  private readonly startedAt = new Date();
  private readonly pools = new Map<string, IPPool>();
  private readonly felixConfigs = new Map<string, FelixConfiguration>();
  private readonly fieldsNotInEffectLogged = new Set<string>();
  private fieldsNotInEffect: string[] = [];
  /** BIRD's render input (src/bgp); routing itself is resolved by the calc graph. */
  private readonly birdInputs: BirdInputs;
  private bgpDirty = true;
  readonly bgp: BGPManager;
  readonly routing: NodeRoutingManager;
  readonly tunnelWriter: NodeTunnelWriter;
  readonly wireguard: WireGuardManager;
  readonly podMtu: PodMtuWriter;
  private readonly invalid = new Map<string, string>();
  private configDirty = true;
  private lastConfig: DataplaneConfig | undefined;
  private lastApplyMs: number | undefined;
  private failingSince: number | undefined;
  private errorCount = 0;
  private readonly recentErrors: { at: string; message: string }[] = [];
  /** Every timer and scheduler the agent owns, disposed together on stop. */
  private readonly store = new DisposableStore();
  private readonly routeTimer = this.store.add(new MutableDisposable());
  private readonly routeRetry = this.store.add(new MutableDisposable());
  private readonly nftTimer = this.store.add(new MutableDisposable());
  private readonly datastoreLostTimer = this.store.add(new MutableDisposable());
  private readonly statusWriter = this.store.add(new RunOnceScheduler(() => this.writeStatus(), { delayMs: 100 }));
  private stopped = false;
  private readonly m;

  constructor(opts: NodeAgentOptions) {
    this.opts = opts;
    this.backend = opts.backend;
    this.settings = resolveAgentSettings(opts, {});
    this.calc = new CalcGraph({ hostname: opts.nodeName, bgpMode: opts.bgpMode ?? 'auto' });
    this.birdInputs = new BirdInputs(opts.nodeName);
    this.routes = new RouteManager({ graceMs: opts.routeGraceMs ?? 10_000, log: (m) => this.log(m) });
    this.bgp = new BGPManager({
      runDir: this.settings.runDir,
      ...(opts.birdPath === undefined ? {} : { birdPath: opts.birdPath }),
      ...(opts.bgpDebounceMs === undefined ? {} : { debounceMs: opts.bgpDebounceMs }),
      log: (m) => this.log(m),
      onError: (m) => this.recordError(m),
      onChange: () => this.scheduleStatus(),
    });
    this.routing = new NodeRoutingManager({
      log: (m) => this.log(m),
      onError: (m) => this.recordError(m),
      onChange: () => this.scheduleStatus(),
    });
    this.tunnelWriter = new NodeTunnelWriter({ nodeName: opts.nodeName, backend: this.backend, log: (m) => this.log(m), onError: (m) => this.recordError(m) });
    this.wireguard = new WireGuardManager({
      nodeName: opts.nodeName,
      backend: this.backend,
      stateDir: join(this.settings.runDir, 'wireguard'),
      ...(opts.wireguardGoPath === undefined ? {} : { binary: opts.wireguardGoPath }),
      log: (m) => this.log(m),
      onError: (m) => this.recordError(m),
      onChange: () => this.scheduleStatus(),
    });
    this.podMtu = new PodMtuWriter({ file: opts.mtuFile ?? null, log: (m) => this.log(m), onError: (m) => this.recordError(m) });
    this.flusher = this.store.add(new RunOnceScheduler(() => this.flushCalc(), { delayMs: opts.coalesceDelayMs ?? 2, minIntervalMs: opts.minApplyIntervalMs ?? 10 }));
    this.source = opts.updateSource ?? localUpdateSource(this.backend, AGENT_SELECTION);
    this.health = new HttpEndpoint((path) => this.healthResponse(path));
    this.metricsServer = new HttpEndpoint((path) =>
      path === '/metrics' ? { status: 200, body: this.metrics.render(), contentType: 'text/plain; version=0.0.4; charset=utf-8' } : { status: 404, body: 'not found\n' },
    );
    this.m = this.defineMetrics();
    this.flowLogs = new FlowLogManager({
      nodeName: opts.nodeName,
      runDir: this.settings.runDir,
      state: this.calc.state,
      stateVersion: () => this.calcVersion,
      metrics: this.metrics,
      log: (l) => this.log(l),
    });
  }

  private defineMetrics() {
    const r = this.metrics;
    const st = () => this.dataplane?.status();
    const n = () => this.dataplane?.counters();
    const cs = this.calc.state;
    const VXLAN_DEV = 'vxlan.calico';
    // Series under Felix's names and types (observability contract §3.1), then Tricolor's own.
    registerProcessMetrics(r, this.startedAt);
    r.gauge('process_open_fds', 'Number of open file descriptors.', () => openFds() ?? 0);
    r.gauge('felix_host', 'Always 1; the host label names the node.', { labelNames: ['host'], collect: () => [[{ host: this.opts.nodeName }, 1]] });
    r.gauge('felix_active_local_endpoints', 'Local workload and host endpoints programmed.', () => (st()?.workloadEndpoints ?? 0) + (st()?.hostEndpoints ?? 0));
    r.gauge('felix_active_local_policies', 'Policies active on this node.', () => st()?.policies ?? 0);
    r.gauge('tricolor_active_local_profiles', 'Profiles active on this node.', () => st()?.profiles ?? 0);
    r.gauge('felix_ipsets_calico', 'IP sets programmed.', () => st()?.ipSets ?? 0);
    r.gauge('felix_ipsets_total', 'IP sets programmed (all of them are ours).', () => st()?.ipSets ?? 0);
    r.gauge('felix_route_table_num_routes', 'Local workload routes held.', () => this.routes.programmed);
    r.gauge('felix_cluster_num_hosts', 'Nodes in the cluster.', () => this.calc.routing.nodeCount);
    const count = (pred: (kind: string) => boolean): number => {
      let k = 0;
      for (const e of cs.entities.values()) if (pred(e.kind)) k++;
      return k;
    };
    r.gauge('felix_cluster_num_workload_endpoints', 'Workload endpoints in the cluster.', () => count((k) => k === 'WorkloadEndpoint'));
    r.gauge('felix_cluster_num_host_endpoints', 'Host endpoints in the cluster.', () => count((k) => k === 'HostEndpoint'));
    r.gauge('felix_cluster_num_policies', 'Policies in the cluster (staged ones included).', () => cs.policies.size);
    r.gauge('felix_cluster_num_tiers', 'Tiers in the cluster (default included).', () => new Set(['default', ...cs.tiers.keys()]).size);
    r.gauge('felix_resync_state', 'Datastore sync state: 1 waiting, 2 resyncing, 3 in sync.', () => SYNC_STATE_NUMBER[this.syncStatus]);
    r.counter('felix_nft_calls', 'nft transactions run.', { collect: () => n()?.applies ?? 0 });
    r.counter('felix_nft_errors', 'nft transactions that failed.', { collect: () => n()?.failures ?? 0 });
    r.counter('felix_int_dataplane_failures', 'Failed dataplane applies.', { collect: () => n()?.failures ?? 0 });
    const prog = (pick: (p: NonNullable<ReturnType<typeof st>>['programmed']) => number | undefined) => (): ReadonlyArray<readonly [Record<string, string>, number]> => {
      const v = pick(st()?.programmed);
      return v === undefined ? [] : [[{ ip_version: 'all' }, v]];
    };
    r.gauge('felix_nft_chains', 'nft chains programmed in our table (one inet table holds both families).', { labelNames: ['ip_version'], collect: prog((p) => p?.chains) });
    r.gauge('felix_nft_rules', 'nft rules programmed in our table.', { labelNames: ['ip_version'], collect: prog((p) => p?.rules) });
    r.gauge('felix_nft_sets', 'nft sets programmed in our table.', { labelNames: ['ip_version'], collect: prog((p) => p?.sets) });
    r.gauge('tricolor_nft_set_elements', 'Elements in our nft sets (the nft counterpart of BPF map fill).', () => st()?.programmed?.setElements ?? 0);
    r.counter('tricolor_nft_resync_repairs', 'Periodic resyncs that found drift in our table and repaired it.', { collect: () => n()?.repairs ?? 0 });
    r.counter('tricolor_errors', 'Errors (applies, routes, datastore values) since start.', { collect: () => this.errorCount });
    r.gauge('tricolor_invalid_values', 'Stored values treated as absent because they do not validate.', () => this.invalid.size);
    r.gauge('tricolor_conntrack_entries', 'Conntrack entries in the node namespace (nf_conntrack_count).', { collect: () => { const c = conntrackFill(); return c === undefined ? [] : [[{}, c.entries]]; } });
    r.gauge('tricolor_conntrack_limit', 'Conntrack table size of the node namespace (nf_conntrack_max).', { collect: () => { const c = conntrackFill(); return c === undefined ? [] : [[{}, c.limit]]; } });
    for (const stat of ['rx_packets', 'tx_packets', 'rx_bytes', 'tx_bytes'] as const) {
      r.counter(`tricolor_vxlan_${stat}_total`, `${stat.replace('_', ' ')} on ${VXLAN_DEV}.`, { collect: () => { const v = linkStat(VXLAN_DEV, stat); return v === undefined ? [] : [[{}, v]]; } });
    }
    r.gauge('tricolor_bgp_sessions', 'BGP sessions of this node by state (BIRD protocol state: up, start, …).', {
      labelNames: ['state'],
      collect: () => {
        const by = new Map<string, number>();
        for (const p of this.bgp.state.peers ?? []) by.set(p.state, (by.get(p.state) ?? 0) + 1);
        return [...by].map(([state, v]) => [{ state }, v] as const);
      },
    });
    r.gauge('tricolor_ipip_pools_not_served', 'IPIP pools in use that this node cannot serve (the kernel has no ipip device).', () => this.podMtu.state?.ipipNotServed.length ?? 0);
    r.gauge('tricolor_pod_mtu_bytes', 'The pod MTU written for the CNI plugin.', () => this.podMtu.state?.podMtu ?? 0);
    // eBPF map fill (the seeds' "BPF maps overflow breaks the network"): entries vs capacity per map
    const maps = () => st()?.maps ?? [];
    r.gauge('felix_bpf_map_entries', 'eBPF dataplane: entries in use per map.', { labelNames: ['map'], collect: () => maps().map((m) => [{ map: m.name }, m.entries] as const) });
    r.gauge('felix_bpf_map_capacity', 'eBPF dataplane: capacity (max entries) per map.', { labelNames: ['map'], collect: () => maps().map((m) => [{ map: m.name }, m.capacity] as const) });
    r.gauge('felix_bpf_conntrack_used', 'eBPF dataplane: BPF conntrack entries in use.', { collect: () => maps().filter((m) => m.name === 'tri1_ct').map((m) => [{}, m.entries] as const) });
    r.gauge('felix_bpf_dataplane_endpoints', 'eBPF dataplane: workload endpoints programmed.', { collect: () => (this.dataplane?.kind === 'bpf' ? [[{}, st()?.workloadEndpoints ?? 0] as const] : []) });
    r.gauge('felix_bpf_num_ip_sets', 'eBPF dataplane: IP sets programmed.', { collect: () => (this.dataplane?.kind === 'bpf' ? [[{}, st()?.ipSets ?? 0] as const] : []) });
    registerWireGuardMetrics(r, () => this.wireguard.state);
    return {
      // Felix exports the apply time as a summary (the dashboard's p99 panel reads {quantile="0.99"});
      // the histogram stays, under our own name, because histograms aggregate across nodes.
      apply: r.summary('felix_int_dataplane_apply_time_seconds', 'Time to program one dataplane change.'),
      applyHist: r.histogram('tricolor_dataplane_apply_time_seconds', 'Time to program one dataplane change.', APPLY_BUCKETS_S),
      calcUpdateTime: r.summary('felix_calc_graph_update_time_seconds', 'Time to feed one batch of datastore updates through the calc graph.'),
      calcUpdates: r.counter('felix_calc_graph_updates_processed', 'Datastore updates fed to the calc graph.', { labelNames: ['type'] }),
      calcOutput: r.counter('felix_calc_graph_output_events', 'Messages the calc graph emitted.'),
      resyncs: r.counter('tricolor_nft_resyncs', 'Periodic read-backs of our nft table.'),
      resyncsStarted: r.counter('felix_resyncs_started', 'Datastore resyncs started.'),
    };
  }

  private log(msg: string): void {
    this.opts.log?.(`${new Date().toISOString()} [${this.opts.nodeName}] ${msg}`);
  }

  private recordError(msg: string): void {
    this.errorCount++;
    this.recentErrors.push({ at: new Date().toISOString(), message: msg });
    if (this.recentErrors.length > MAX_RECENT_ERRORS) this.recentErrors.shift();
    this.log(`error: ${msg}`);
    this.scheduleStatus();
  }

  /** Start syncing; servers named by flags start now, FelixConfiguration's once it is known. */
  async start(): Promise<void> {
    await this.bindServers();
    this.source.start({
      onStatus: (s) => this.onSyncStatus(s),
      onUpdates: (u) => this.onStoredUpdates(u),
      onConnection: (c) => this.onDatastoreConnection(c),
    });
    this.scheduleRouteRefresh();
    this.scheduleNftRefresh();
    this.writeStatus();
    this.log(`started: syncing from ${this.source.description}`);
  }

  /**
   * Close watches and servers, stop timers; the programmed ruleset and routes stay as they are.
   * `leaveBird`: BIRD keeps running unsupervised (a restart: the next agent adopts it), else it
   * is stopped.
   */
  async stop(opts: { readonly leaveBird?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.store.dispose();
    await this.flowLogs.dispose();
    await this.source.dispose();
    const birdLeft = await this.bgp.stop({ leaveRunning: opts.leaveBird === true });
    await this.routing.settle().catch(() => undefined);
    await this.tunnelWriter.settle().catch(() => undefined);
    await this.wireguard.stop();
    // let an apply in progress finish so the kernel is never left mid-way through our bookkeeping
    await this.dataplane?.flush().catch(() => undefined);
    this.dataplane?.dispose();
    await this.health.close();
    await this.metricsServer.close();
    this.writeStatus();
    await this.backend.close();
    this.log(`stopped (nftables left in force${birdLeft === undefined ? '' : `; BIRD left running, pid ${birdLeft}, for the next agent to adopt`})`);
  }

  // ---- datastore → calc --------------------------------------------------------------------

  /**
   * The datastore went away or came back. Nothing is reprogrammed: the last applied state stays
   * in force while the syncer reconnects (and resumes its watches or re-lists). Shown in the
   * status at once; counted as an error when it lasts over a second (the embedded store can
   * report a lock held by a checkpoint as a momentary loss).
   */
  private onDatastoreConnection(state: ConnectionState): void {
    if (!state.connected) {
      if (this.datastoreLost !== undefined) return;
      const lost = { since: new Date().toISOString(), detail: state.detail };
      this.datastoreLostTimer.value = timeout(() => {
        if (this.datastoreLost === lost) this.recordError(`datastore unreachable since ${lost.since}: ${lost.detail}; the last programmed state stays in force, reconnecting`);
      }, 1000);
      this.datastoreLost = lost;
      this.log(`datastore connection lost: ${lost.detail}`);
    } else if (this.datastoreLost !== undefined) {
      this.datastoreLostTimer.clear();
      this.log(`datastore connection restored (lost since ${this.datastoreLost.since})`);
      this.datastoreLost = undefined;
    }
    this.scheduleStatus();
  }

  private onSyncStatus(s: SyncStatus): void {
    if (s === 'ResyncInProgress' && this.syncStatus !== 'ResyncInProgress') this.m.resyncsStarted.inc();
    this.syncStatus = s;
    this.log(`datastore: ${s}`);
    if (s === 'InSync' && !this.inSyncSeen) {
      this.inSyncSeen = true;
      this.calc.markInSync();
    }
    this.flusher.schedule();
    this.scheduleStatus();
  }

  private onStoredUpdates(updates: readonly StoredUpdate[]): void {
    const calcUpdates: CalcUpdate[] = [];
    for (const u of updates) {
      if (u.type === 'blockAffinity') {
        this.calc.onRoutingUpdates([{ kind: 'BlockAffinity', key: u.key, value: u.value }]);
        this.birdInputs.onUpdate({ kind: 'BlockAffinity', key: u.key, value: u.value });
        this.bgpDirty = true;
        continue;
      }
      if (u.problem !== undefined) {
        if (this.invalid.get(u.key) !== u.problem.message) {
          this.invalid.set(u.key, u.problem.message);
          this.recordError(`${u.problem.message} (treated as absent)`);
        }
      } else {
        this.invalid.delete(u.key);
      }
      if (isCalcUpdate(u)) calcUpdates.push(calcUpdateOf(u));
      else if (u.info.kind === 'Service') this.flowLogs.services.update(u.namespace ?? '', u.name, u.value);
      else this.onConfigValue(u.info.kind, u.key, u.name, u.value);
    }
    if (calcUpdates.length > 0) {
      const t0 = performance.now();
      this.calc.onUpdates(calcUpdates);
      this.m.calcUpdateTime.observe((performance.now() - t0) / 1000);
      const byType = new Map<string, number>();
      for (const u of calcUpdates) byType.set(u.kind, (byType.get(u.kind) ?? 0) + 1);
      for (const [type, k] of byType) this.m.calcUpdates.labels(type).inc(k);
      this.calcVersion++;
    }
    this.flusher.schedule();
  }

  /** Configuration kinds: routing inputs go to the calc graph and BIRD's input, the rest is ours. */
  private onConfigValue(kind: ResourceKind, key: string, name: string, value: AnyResource | undefined): void {
    switch (kind) {
      case 'IPPool':
        if (value === undefined) this.pools.delete(key);
        else this.pools.set(key, value as IPPool);
        this.calc.onRoutingUpdates([{ kind, name, value: value as IPPool | undefined }]);
        this.birdInputs.onUpdate({ kind, name, value: value as IPPool | undefined });
        this.configDirty = true;
        break;
      case 'Node':
        this.calc.onRoutingUpdates([{ kind, name, value: value as Node | undefined }]);
        this.birdInputs.onUpdate({ kind, name, value: value as Node | undefined });
        break;
      case 'BGPConfiguration':
        this.calc.onRoutingUpdates([{ kind, name, value: value as BGPConfiguration | undefined }]);
        this.birdInputs.onUpdate({ kind, name, value: value as BGPConfiguration | undefined });
        break;
      case 'BGPPeer':
        this.birdInputs.onUpdate({ kind, name, value: value as BGPPeer | undefined });
        break;
      case 'BGPFilter':
        this.birdInputs.onUpdate({ kind, name, value: value as BGPFilter | undefined });
        break;
      case 'FelixConfiguration':
        if (value === undefined) this.felixConfigs.delete(name);
        else this.felixConfigs.set(name, value as FelixConfiguration);
        this.configDirty = true;
        break;
      default:
        return;
    }
    this.bgpDirty = true;
  }

  /** Accepted FelixConfiguration fields this agent does not act on: logged once each, listed in the status. */
  private reportFieldsNotInEffect(spec: FelixSpec): void {
    const now = fieldsNotInEffect(spec);
    const fresh = now.filter((f) => !this.fieldsNotInEffectLogged.has(f));
    for (const f of fresh) this.fieldsNotInEffectLogged.add(f);
    if (fresh.length > 0) this.log(`FelixConfiguration: accepted but not acted on by Tricolor: ${fresh.join(', ')}`);
    this.fieldsNotInEffect = now;
  }

  private felixSpec(): FelixSpec {
    return mergeFelixSpecs(this.felixConfigs.get('default'), this.felixConfigs.get(`node.${this.opts.nodeName}`));
  }

  /** The throttled step: config → dataplane, calc output → dataplane (which applies on its own). */
  private flushCalc(): void {
    if (this.stopped) return;
    if (this.configDirty) {
      this.configDirty = false;
      const spec = this.felixSpec();
      this.reportFieldsNotInEffect(spec);
      try {
        const config = resolveDataplaneConfig(dataplaneFields(spec), poolInfos(this.pools.values()));
        if (JSON.stringify(config) !== JSON.stringify(this.lastConfig)) {
          this.lastConfig = config;
          this.dataplane?.setConfig(config);
        }
      } catch (e) {
        this.recordError(`FelixConfiguration: ${(e as Error).message} (keeping the previous dataplane configuration)`);
      }
      this.flowLogs.configure(flowLogConfig(spec));
      try {
        this.calc.routing.setFelixConfig(spec);
        const next = resolveAgentSettings(this.opts, spec);
        const intervalsChanged = next.nftRefreshMs !== this.settings.nftRefreshMs || next.routeRefreshMs !== this.settings.routeRefreshMs;
        this.settings = next;
        if (intervalsChanged) {
          this.scheduleNftRefresh();
          this.scheduleRouteRefresh();
        }
        this.bindServers().catch((e: unknown) => this.recordError((e as Error).message));
      } catch (e) {
        this.recordError((e as Error).message);
      }
    }
    // The calc graph holds its output (coalesced per object) until a dataplane takes it: the
    // dataplane is chosen once in sync, when FelixConfiguration is known.
    const dp = this.inSyncSeen ? this.selectDataplane(this.felixSpec()) : undefined;
    if (dp === undefined) return;
    const msgs: CalcMessage[] = this.calc.flush();
    // WireGuard's peers come from the calc graph's host messages; its settings from FelixConfiguration
    let wireguardDirty = this.wireguard.onMessages(msgs);
    if (this.bgpDirty) {
      this.bgpDirty = false;
      this.updateBGP();
      this.updatePodMtu();
      wireguardDirty = true;
    }
    if (msgs.length === 0) {
      if (wireguardDirty) this.updateWireGuard();
      return;
    }
    this.m.calcOutput.inc(msgs.length);
    dp.onMessages(msgs);
    if (this.routing.onMessages(msgs)) void this.routing.reconcile();
    this.tunnelWriter.onMessages(msgs);
    let workloadsChanged = false;
    for (const m of msgs) {
      if (m.type === 'WorkloadEndpointUpdate') this.workloads.set(m.key, m);
      else if (m.type === 'WorkloadEndpointRemove') this.workloads.delete(m.key);
      else if (m.type === 'InSync') this.calcInSyncSent = true;
      else continue;
      workloadsChanged = true;
    }
    if (workloadsChanged) {
      this.routes.setDesired(this.workloads.values(), (this.lastConfig ?? DEFAULT_DATAPLANE_CONFIG).interfacePrefixes);
      if (this.calcInSyncSent) this.reconcileRoutes();
    }
    if (wireguardDirty || workloadsChanged) this.updateWireGuard();
  }

  /** What every dataplane of this agent is made with. */
  private dataplaneOptions(): DataplaneOptions {
    return {
      ...(this.opts.nftBin === undefined ? {} : { nftBin: this.opts.nftBin }),
      // eBPF pins: a bpffs of this node's own under its run dir (the lab mounts it before start)
      bpffsDir: join(this.settings.runDir, 'bpf'),
      ...(this.opts.bpfObject === undefined ? {} : { bpfObject: this.opts.bpfObject }),
      ...(this.lastConfig === undefined ? {} : { config: this.lastConfig }),
    };
  }

  /**
   * The dataplane FelixConfiguration selects, made on first use. A kind this build lacks is a
   * coded error in the status (nothing is programmed; the calc graph keeps its output until a
   * dataplane can take it). Switching kinds needs a restart, as in Felix: the running dataplane
   * stays in force and the status says so.
   */
  private selectDataplane(spec: FelixSpec): Dataplane | undefined {
    const kind = dataplaneKindOf(spec);
    const problem = (message: string): void => {
      if (this.dataplaneProblem?.kind === kind && this.dataplaneProblem.message === message) return;
      this.dataplaneProblem = { kind, message };
      this.recordError(message);
    };
    if (this.dataplane !== undefined) {
      if (kind === this.dataplane.kind) this.dataplaneProblem = undefined;
      else problem(`FelixConfiguration selects the ${JSON.stringify(kind)} dataplane; the ${JSON.stringify(this.dataplane.kind)} dataplane stays in force until the agent restarts`);
      return this.dataplane;
    }
    try {
      this.dataplane = createDataplane(kind, {
        ...this.dataplaneOptions(),
        resyncIntervalMs: 0, // our own timer, so the interval can follow FelixConfiguration
        onApplied: (r) => this.onApplied(r),
        onError: (e) => this.onDataplaneError(e),
        onResync: (r) => this.onResync(r),
      });
    } catch (e) {
      problem(`${(e as Error).message}; nothing is programmed`);
      return undefined;
    }
    this.dataplaneProblem = undefined;
    this.dataplane.start();
    this.log(`dataplane: ${kind}`);
    this.scheduleStatus();
    return this.dataplane;
  }

  // ---- BGP and node routing -----------------------------------------------------------------

  /** Render BIRD's configuration, or decide on no BIRD (the calc graph's decision). */
  private updateBGP(): void {
    if (this.stopped) return;
    const decision = this.calc.routing.bgpDecision();
    if (decision.run) {
      try {
        this.bgp.setDesired(renderBirdConfig(this.birdInputs.renderInput()).text, decision.reason);
      } catch (e) {
        this.recordError(`BGP: cannot render BIRD's configuration (keeping the running one): ${(e as Error).message}`);
      }
    } else {
      this.bgp.setDesired(undefined, decision.reason);
    }
  }

  /** The pod MTU follows FelixConfiguration, the IP pools and this namespace's links. */
  private updatePodMtu(): void {
    if (this.stopped) return;
    this.podMtu.setInputs({ felix: this.felixSpec(), pools: [...this.pools.values()] });
    void this.podMtu.reconcile();
  }

  /** WireGuard takes the calc graph's host messages plus the local workload addresses (throw routes). */
  private updateWireGuard(): void {
    if (this.stopped || !this.inSyncSeen) return;
    const localWorkloadIPs = [...this.workloads.values()].flatMap((w) => w.ipv4Nets.map((n) => n.split('/')[0] ?? ''));
    this.wireguard.setInputs({ felix: this.felixSpec(), pools: [...this.pools.values()], localWorkloadIPs, invalidNodes: this.invalidNodeNames() });
    void this.wireguard.reconcile();
  }

  /** Nodes whose stored value does not validate (their last good WireGuard key stays in use). */
  private invalidNodeNames(): ReadonlySet<string> {
    const out = new Set<string>();
    for (const key of this.invalid.keys()) {
      const m = /\/nodes\/([^/]+)$/.exec(key);
      if (m?.[1] !== undefined) out.add(m[1]);
    }
    return out;
  }

  // ---- dataplane ---------------------------------------------------------------------------

  private onApplied(r: ApplyReport): void {
    this.lastApplyMs = r.durationMs;
    this.failingSince = undefined;
    const problem = this.dataplane?.status().problem;
    if (problem !== this.lastDataplaneProblem) {
      this.lastDataplaneProblem = problem;
      if (problem !== undefined) this.recordError(`${this.dataplaneLabel}: ${problem}`);
    }
    if (!this.othersRemoved && this.dataplane !== undefined) {
      // first apply in force: now what another dataplane left on this node can go (no window)
      this.othersRemoved = true;
      const kind = this.dataplane.kind;
      removeOtherDataplanes(kind, this.dataplaneOptions()).catch((e: unknown) => this.recordError(`removing what another dataplane left (${kind} is in force): ${(e as Error).message}`));
    }
    if (r.operations > 0) {
      this.m.apply.observe(r.durationMs / 1000);
      this.m.applyHist.observe(r.durationMs / 1000);
      this.log(`applied ${r.detail} in ${r.durationMs.toFixed(1)} ms`);
    }
    this.scheduleStatus();
  }

  private onDataplaneError(e: unknown): void {
    this.failingSince ??= performance.now();
    this.recordError(`${this.dataplaneLabel} apply failed (retrying; the previous ruleset stays in force): ${(e as Error).message}`);
  }

  private get dataplaneLabel(): string {
    return this.dataplane?.kind === 'bpf' ? 'eBPF' : 'nftables';
  }

  private onResync(r: ResyncReport): void {
    this.m.resyncs.inc();
    if (r.drift.length > 0) {
      this.log(`${this.dataplaneLabel} drift repaired (${r.drift.length}): ${r.drift.slice(0, 5).join('; ')}`);
      this.scheduleStatus();
    }
  }

  private scheduleNftRefresh(): void {
    this.nftTimer.clear();
    if (this.stopped || this.settings.nftRefreshMs <= 0) return;
    this.nftTimer.value = timeout(() => {
      this.resyncNow()
        .catch((e: unknown) => this.recordError(`${this.dataplaneLabel} resync failed: ${(e as Error).message}`))
        .finally(() => this.scheduleNftRefresh());
    }, this.settings.nftRefreshMs);
  }

  /** Read what the dataplane programmed back and repair drift now (also run periodically). */
  async resyncNow(): Promise<ResyncReport> {
    return this.dataplane === undefined ? { drift: [], repaired: false } : this.dataplane.resyncNow();
  }

  // ---- routes ------------------------------------------------------------------------------

  private reconcileRoutes(): void {
    if (this.stopped) return;
    this.routes
      .reconcile()
      .then((r) => {
        for (const e of r.errors) this.recordError(`routes: ${e}`);
        if (r.waiting > 0 && this.routeRetry.value === undefined && !this.stopped) {
          // an endpoint arrived before its interface: look again soon
          this.routeRetry.value = timeout(() => {
            this.routeRetry.clear();
            this.reconcileRoutes();
          }, 1000);
        }
        this.scheduleStatus();
      })
      .catch((e: unknown) => this.recordError(`routes: ${(e as Error).message}`));
  }

  private scheduleRouteRefresh(): void {
    this.routeTimer.clear();
    if (this.stopped || this.settings.routeRefreshMs <= 0) return;
    this.routeTimer.value = timeout(() => {
      if (this.calcInSyncSent) this.reconcileRoutes();
      if (this.inSyncSeen && this.dataplane !== undefined) {
        void this.routing.reconcile();
        this.tunnelWriter.check();
        void this.wireguard.reconcile();
        void this.podMtu.reconcile();
      }
      this.scheduleRouteRefresh();
    }, this.settings.routeRefreshMs);
  }

  // ---- health, metrics, status -------------------------------------------------------------

  private async bindServers(): Promise<void> {
    if (this.stopped) return;
    await this.health.bind(this.settings.healthHost, this.settings.healthPort);
    // Felix serves metrics on all addresses by default (PrometheusMetricsHost unset)
    await this.metricsServer.bind(this.settings.metricsHost, this.settings.metricsPort);
  }

  /** Live unless applies have failed without a break for longer than the watchdog timeout. */
  get live(): boolean {
    return this.failingSince === undefined || performance.now() - this.failingSince < (this.opts.watchdogMs ?? 90_000);
  }

  /** Ready once in sync and the first apply after that has succeeded, and not failing now. */
  get ready(): boolean {
    return this.syncStatus === 'InSync' && this.dataplane?.status().lastApplyAt !== undefined && this.failingSince === undefined;
  }

  private healthResponse(path: string): { status: number; body: string } {
    if (path === '/liveness') return this.live ? { status: 200, body: 'live\n' } : { status: 503, body: 'not live\n' };
    if (path === '/readiness') return this.ready ? { status: 200, body: 'ready\n' } : { status: 503, body: 'not ready\n' };
    return { status: 404, body: 'not found\n' };
  }

  status(): AgentStatus {
    const st = this.dataplane?.status();
    const counters = this.dataplane?.counters();
    const health = this.health.address;
    const metrics = this.metricsServer.address;
    return {
      nodeName: this.opts.nodeName,
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      updatedAt: new Date().toISOString(),
      live: this.live && !this.stopped,
      ready: this.ready && !this.stopped,
      datastore: this.syncStatus,
      ...(this.datastoreLost === undefined ? {} : { datastoreUnreachable: { since: this.datastoreLost.since, detail: this.datastoreLost.detail } }),
      healthEndpoint: health === undefined ? undefined : `http://${health}`,
      metricsEndpoint: metrics === undefined ? undefined : `http://${metrics}/metrics`,
      dataplane: {
        kind: this.dataplaneProblem?.kind ?? this.dataplane?.kind ?? dataplaneKindOf(this.felixSpec()),
        running: this.dataplane?.kind,
        ...(this.dataplaneProblem !== undefined ? { problem: this.dataplaneProblem.message } : st?.problem !== undefined ? { problem: st.problem } : {}),
      },
      endpoints: { workload: st?.workloadEndpoints ?? 0, host: st?.hostEndpoints ?? 0 },
      policies: st?.policies ?? 0,
      profiles: st?.profiles ?? 0,
      ipSets: st?.ipSets ?? 0,
      routes: this.routes.programmed,
      lastApplyAt: st?.lastApplyAt?.toISOString(),
      lastApplyMs: this.lastApplyMs,
      applies: counters?.applies ?? 0,
      resyncRepairs: counters?.repairs ?? 0,
      errors: this.errorCount,
      recentErrors: [...this.recentErrors],
      invalidValues: Object.fromEntries(this.invalid),
      felixFieldsNotInEffect: [...this.fieldsNotInEffect],
      bgp: this.bgp.state.running ? (this.bgp.state.peers ?? []) : undefined,
      bird: { running: this.bgp.state.running, pid: this.bgp.state.pid, restarts: this.bgp.state.restarts, reason: this.bgp.state.reason, socket: this.bgp.socketPath },
      routing: this.routing.state,
      wireguard: this.wireguard.state,
      podMtu: this.podMtu.state,
    };
  }

  private scheduleStatus(): void {
    if (!this.stopped) this.statusWriter.schedule();
  }

  private writeStatus(): void {
    try {
      writeStatusFile(this.settings.runDir, this.status());
    } catch (e) {
      this.log(`cannot write status: ${(e as Error).message}`);
    }
  }
}
