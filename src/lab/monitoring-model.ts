// The lab's monitoring (`lab up --monitoring`), pure part: where Debian's Prometheus lives (a
// namespace of its own on the underlay, so it reaches every node's agent the way a cluster's
// Prometheus reaches Felix on each host), its data directory under the lab's run dir, and its
// scrape configuration: every agent (job `felix_metrics`, Calico's name for Felix's job), Typha
// replicas (`typha_metrics`), the controllers' ipam_* exporter, the flow aggregator when flow logs are on, and itself.

import { UNDERLAY_PREFIX, type LabNode } from './lab-model.ts';

/** The monitoring namespace's address on the underlay (nodes use .11 …, the tor .250). */
export const MONITORING_ADDRESS = `${UNDERLAY_PREFIX}.249`;
/** Prometheus' own port, on the monitoring namespace's underlay address. */
export const LAB_PROMETHEUS_PORT = 9090;
/** Short, so a test or a user sees rates after a few seconds (a real cluster scrapes every 15–60 s). */
export const LAB_SCRAPE_INTERVAL_S = 2;
/** Felix's metrics port (prometheusMetricsPort default), served by every lab agent on its node address. */
export const LAB_AGENT_METRICS_PORT = 9091;
/** calico-kube-controllers' metrics port, served by the lab's controllers on the first node's address. */
export const LAB_CONTROLLERS_METRICS_PORT = 9094;
/** Typha's metrics port (Calico's), served by each lab replica on its node address. */
export const LAB_TYPHA_METRICS_PORT = 9093;
/** Inside the monitoring namespace: a loopback bridge to the flow aggregator's unix socket (it listens on the host's loopback). */
export const LAB_FLOWS_BRIDGE_PORT = 9095;
/** How long the lab keeps samples: a lab lives hours, not weeks. */
export const LAB_PROMETHEUS_RETENTION = '1d';

export interface LabMonitoring {
  readonly netns: string;
  readonly address: string;
  /** Interface on the underlay bridge (inside the underlay namespace). */
  readonly uplink: string;
  /** Config, data (`data/`), and the unix socket the host-side bridge connects to. */
  readonly dir: string;
  /** http://127.0.0.1:PORT on the host, once started. */
  url?: string;
}

export function planMonitoring(s: { readonly prefix: string; readonly runDir: string }): LabMonitoring {
  return { netns: `${s.prefix}mon`, address: MONITORING_ADDRESS, uplink: 'mon0', dir: `${s.runDir}/monitoring` };
}

export function prometheusSocketPath(m: Pick<LabMonitoring, 'dir'>): string {
  return `${m.dir}/prometheus.sock`;
}

interface ScrapeJob {
  job_name: string;
  static_configs: { targets: string[]; labels?: Record<string, string> }[];
  metric_relabel_configs?: { source_labels: string[]; regex: string; action: 'drop' }[];
}

/**
 * prometheus.yml for the lab (JSON, which Prometheus' YAML loader reads as is). The agents get a
 * `node` label. When the controllers are scraped, the aggregator's copy of the ipam_* series is
 * dropped, so `sum by (ippool)` counts each address once.
 */
export function renderPrometheusConfig(o: {
  readonly nodes: readonly Pick<LabNode, 'name' | 'address'>[];
  readonly controllersAddress?: string | undefined;
  /** Nodes running a Typha replica (`lab up --typha N`): metrics on their address :9093. */
  readonly typhaNodes?: readonly Pick<LabNode, 'name' | 'address'>[];
  readonly flows: boolean;
  readonly monitoringAddress?: string;
  readonly intervalS?: number;
}): string {
  const interval = `${o.intervalS ?? LAB_SCRAPE_INTERVAL_S}s`;
  const jobs: ScrapeJob[] = [
    { job_name: 'felix_metrics', static_configs: o.nodes.map((n) => ({ targets: [`${n.address}:${LAB_AGENT_METRICS_PORT}`], labels: { node: n.name } })) },
  ];
  if ((o.typhaNodes ?? []).length > 0) {
    jobs.push({ job_name: 'typha_metrics', static_configs: (o.typhaNodes ?? []).map((n) => ({ targets: [`${n.address}:${LAB_TYPHA_METRICS_PORT}`], labels: { node: n.name } })) });
  }
  if (o.controllersAddress !== undefined) {
    jobs.push({ job_name: 'calico_kube_controllers', static_configs: [{ targets: [`${o.controllersAddress}:${LAB_CONTROLLERS_METRICS_PORT}`] }] });
  }
  if (o.flows) {
    jobs.push({
      job_name: 'tricolor_flows',
      static_configs: [{ targets: [`127.0.0.1:${LAB_FLOWS_BRIDGE_PORT}`] }],
      ...(o.controllersAddress === undefined ? {} : { metric_relabel_configs: [{ source_labels: ['__name__'], regex: 'ipam_.*', action: 'drop' as const }] }),
    });
  }
  jobs.push({ job_name: 'prometheus', static_configs: [{ targets: [`${o.monitoringAddress ?? MONITORING_ADDRESS}:${LAB_PROMETHEUS_PORT}`] }] });
  return (
    '# Written by `tricolor lab up --monitoring` (JSON is YAML).\n' +
    JSON.stringify({ global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval }, scrape_configs: jobs }, null, 2) +
    '\n'
  );
}
