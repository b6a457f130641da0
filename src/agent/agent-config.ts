// The agent's node-level configuration (node contract §4.1): FelixConfiguration `default` merged
// with `node.<name>` (the per-node object wins field by field), command-line overrides on top,
// and the IP pools the dataplane needs. Defaults live here, next to the code that owns them.

import type { FelixConfiguration, IPPool } from '../api/index.ts';
import { TricolorError, quote } from '../base/index.ts';
import type { FelixDataplaneFields, IPPoolInfo } from '../dataplane/index.ts';

export const DEFAULT_HEALTH_HOST = 'localhost';
export const DEFAULT_HEALTH_PORT = 9099;
export const DEFAULT_METRICS_PORT = 9091;
/** Felix's PrometheusMetricsHost default is empty: every address. */
export const DEFAULT_METRICS_HOST = '0.0.0.0';
export const DEFAULT_RUN_DIR = '/var/run/tricolor';
/** Felix's nftablesRefreshInterval default is 180 s; we read back more often (drift is cheap to find). */
export const DEFAULT_NFT_REFRESH_MS = 90_000;
export const DEFAULT_ROUTE_REFRESH_MS = 90_000;

/** Command-line settings of `tricolor node run`; each one overrides FelixConfiguration. */
export interface AgentFlags {
  readonly nodeName: string;
  readonly runDir?: string;
  readonly healthPort?: number;
  readonly healthHost?: string;
  /** Given: metrics are served on this port whatever prometheusMetricsEnabled says. */
  readonly metricsPort?: number;
  readonly metricsHost?: string;
  readonly nftRefreshMs?: number;
  readonly routeRefreshMs?: number;
}

/** Everything the agent runs with, resolved from flags + FelixConfiguration. */
export interface AgentSettings {
  readonly nodeName: string;
  readonly runDir: string;
  readonly healthHost: string;
  /** 0 = health server off. */
  readonly healthPort: number;
  /** undefined = metrics off. */
  readonly metricsPort: number | undefined;
  readonly metricsHost: string;
  readonly nftRefreshMs: number;
  readonly routeRefreshMs: number;
}

/** A FelixConfiguration spec as stored (only the fields we read are typed precisely). */
export type FelixSpec = Readonly<Record<string, unknown>>;

/** Merge FelixConfiguration `default` and `node.<name>`: per-node fields win (§4.1 precedence). */
export function mergeFelixSpecs(global: FelixConfiguration | undefined, node: FelixConfiguration | undefined): FelixSpec {
  const g = (global?.spec ?? {}) as Record<string, unknown>;
  const n = (node?.spec ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = { ...g };
  for (const [k, v] of Object.entries(n)) if (v !== undefined) out[k] = v;
  return out;
}

const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("90s", "1m30s", "250ms") in milliseconds; throws ERR_VALIDATION naming `field`. */
export function parseDurationMs(text: string, field: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? 0);
    matched = re.lastIndex;
  }
  if (text === '0') return 0;
  if (matched === 0 || matched !== text.length) {
    throw new TricolorError('ERR_VALIDATION', `FelixConfiguration: spec.${field}: ${quote(text)} is not a duration`, { field: `spec.${field}`, value: text });
  }
  return total;
}

function num(spec: FelixSpec, field: string): number | undefined {
  const v = spec[field];
  return typeof v === 'number' ? v : undefined;
}

function durationMs(spec: FelixSpec, field: string): number | undefined {
  const v = spec[field];
  return typeof v === 'string' ? parseDurationMs(v, field) : undefined;
}

/** Resolve the agent's settings: flags first, then FelixConfiguration, then the defaults. */
export function resolveAgentSettings(flags: AgentFlags, spec: FelixSpec): AgentSettings {
  const healthEnabled = spec['healthEnabled'] !== false; // on unless turned off: the agent's readiness is how tests and kubelet see it
  const metricsEnabled = spec['prometheusMetricsEnabled'] === true;
  const healthHost = flags.healthHost ?? (typeof spec['healthHost'] === 'string' ? spec['healthHost'] : DEFAULT_HEALTH_HOST);
  return {
    nodeName: flags.nodeName,
    runDir: flags.runDir ?? DEFAULT_RUN_DIR,
    healthHost,
    healthPort: flags.healthPort ?? (healthEnabled ? (num(spec, 'healthPort') ?? DEFAULT_HEALTH_PORT) : 0),
    metricsHost: flags.metricsHost ?? (typeof spec['prometheusMetricsHost'] === 'string' && spec['prometheusMetricsHost'] !== '' ? spec['prometheusMetricsHost'] : DEFAULT_METRICS_HOST),
    metricsPort: flags.metricsPort ?? (metricsEnabled ? (num(spec, 'prometheusMetricsPort') ?? DEFAULT_METRICS_PORT) : undefined),
    nftRefreshMs: flags.nftRefreshMs ?? durationMs(spec, 'nftablesRefreshInterval') ?? DEFAULT_NFT_REFRESH_MS,
    routeRefreshMs: flags.routeRefreshMs ?? durationMs(spec, 'routeRefreshInterval') ?? DEFAULT_ROUTE_REFRESH_MS,
  };
}

/** The FelixConfiguration fields the nft dataplane reads (validation already typed them). */
export function dataplaneFields(spec: FelixSpec): FelixDataplaneFields {
  return spec;
}

/** Enabled pools, sorted by CIDR so the rendered NAT sets do not depend on arrival order. */
export function poolInfos(pools: Iterable<IPPool>): IPPoolInfo[] {
  const out: IPPoolInfo[] = [];
  for (const p of pools) {
    const spec = p.spec;
    if (spec === undefined || spec.disabled === true) continue;
    out.push({ cidr: spec.cidr, natOutgoing: spec.natOutgoing === true });
  }
  return out.sort((a, b) => (a.cidr < b.cidr ? -1 : a.cidr > b.cidr ? 1 : 0));
}
