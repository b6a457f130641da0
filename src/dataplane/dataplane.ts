// The contract between the node agent and a dataplane (nftables today, eBPF next). The agent
// hands a dataplane the calc graph's messages in flush order and the node-level configuration;
// the dataplane keeps its own desired state, programs the kernel on its own schedule (see
// ApplyLoop), repairs drift when asked, and reports status and counters. The agent never reads
// a dataplane's internals: what it needs about endpoints it takes from the messages themselves.
// docs/design/seams.md says what a new dataplane implements.

import type { IDisposable } from '../base/index.ts';
import type { CalcMessage } from '../calc/index.ts';
import type { DataplaneConfig } from './dataplane-state.ts';

/** The dataplanes FelixConfiguration can select (`bpfEnabled`); not every one need be built in. */
export const DATAPLANE_KINDS = ['nft', 'bpf'] as const;
export type DataplaneKind = (typeof DATAPLANE_KINDS)[number];

/** One successful programming step. */
export interface ApplyReport {
  /** Kernel operations in the step (0 = nothing to do). */
  readonly operations: number;
  /** The same for a log line, in the dataplane's own terms (`12 nft commands`). */
  readonly detail: string;
  readonly durationMs: number;
}

/** One read-back of what the dataplane programmed. */
export interface ResyncReport {
  /** Differences found between the kernel and what was last applied (empty = no drift). */
  readonly drift: readonly string[];
  /** True when a repair was applied. */
  readonly repaired: boolean;
}

/** What a dataplane holds, for the status file and metrics. */
export interface DataplaneStatus {
  readonly kind: DataplaneKind;
  /** The calc graph's InSync has arrived (nothing is programmed before it). */
  readonly inSync: boolean;
  /** When the last apply succeeded (undefined: never yet). */
  readonly lastApplyAt: Date | undefined;
  readonly workloadEndpoints: number;
  readonly hostEndpoints: number;
  /** Size of what is programmed in the dataplane's own terms (nft: chains, rules, sets, set elements). */
  readonly programmed?: { readonly chains: number; readonly rules: number; readonly sets: number; readonly setElements: number };
  readonly policies: number;
  readonly profiles: number;
  readonly ipSets: number;
  /**
   * A fault the dataplane works around and the operator should see (e.g. eBPF programs the
   * kernel refused: the last good ones stay in force). Undefined when there is none.
   */
  readonly problem?: string;
  /** eBPF: entries in use and capacity of each map (read from the kernel after applies, at most every few seconds). */
  readonly maps?: readonly { readonly name: string; readonly entries: number; readonly capacity: number }[];
}

/** Monotonic counters since the dataplane was made. */
export interface DataplaneCounters {
  /** Programming transactions run (nft batches, map update rounds). */
  readonly applies: number;
  readonly failures: number;
  /** Resyncs that found drift and repaired it. */
  readonly repairs: number;
}

/** Callbacks a dataplane reports through (all optional; never thrown into). */
export interface DataplaneEvents {
  readonly onApplied?: (r: ApplyReport) => void;
  /** A failed apply or resync; the dataplane retries by itself and keeps the previous state. */
  readonly onError?: (e: unknown) => void;
  readonly onResync?: (r: ResyncReport) => void;
}

/** Options every dataplane factory receives; a dataplane ignores those that are not its own. */
export interface DataplaneOptions extends DataplaneEvents {
  readonly config?: DataplaneConfig;
  /** Periodic read-back and repair; 0 disables (the agent runs its own timer). */
  readonly resyncIntervalMs?: number;
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** Do not program anything before the calc graph's InSync (default true), as Felix. */
  readonly waitForInSync?: boolean;
  /** Network namespace to program (a path); omitted: the one the process runs in. */
  readonly netnsPath?: string;
  /** nft: the binary (default `nft` from PATH). */
  readonly nftBin?: string;
  /** bpf: the node's own bpffs mount point for pinned programs and maps. */
  readonly bpffsDir?: string;
  /** bpf: the compiled object to load (default build/bpf/tricolor.bpf.o, built when stale). */
  readonly bpfObject?: string;
}

export interface Dataplane extends IDisposable {
  readonly kind: DataplaneKind;
  /** Start background work (the periodic resync, when configured). */
  start(): void;
  /** Calc messages in the sequencer's flush order; bookkeeping only, programming follows. */
  onMessages(msgs: Iterable<CalcMessage>): void;
  setConfig(config: DataplaneConfig): void;
  /** Program now if anything changed; resolves after the attempt, rejects with its error. */
  flush(): Promise<void>;
  /** Read back what is programmed and repair drift (serialised with applies). */
  resyncNow(): Promise<ResyncReport>;
  status(): DataplaneStatus;
  counters(): DataplaneCounters;
  /** Stop timers and release resources; what is programmed stays in force. */
  dispose(): void;
}

/**
 * The dataplane FelixConfiguration selects (fields merged global → node): `bpfEnabled: true`
 * → eBPF, anything else → nftables (Tricolor has no iptables mode; Calico's `nftablesMode` is
 * implied).
 */
export function dataplaneKindOf(felix: { readonly [field: string]: unknown }): DataplaneKind {
  return felix['bpfEnabled'] === true ? 'bpf' : 'nft';
}

/**
 * Felix's normal priority for workload routes (node contract §4.15). BIRD's aggregation filter
 * exports a more-specific route inside one of the node's blocks only when its metric is below
 * this, so pod /32s never leave the node. The CNI plugin adds the route at this metric from the
 * start and the agent keeps it there: no moment at metric 0 for BIRD to export.
 */
export const WORKLOAD_ROUTE_METRIC = 1024;
