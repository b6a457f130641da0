// Names that must match Calico exactly (node contract §3.3, §3.5, §3.8): the host-side
// interface `cali` + 11 hex of SHA-1("<namespace>.<pod>") — the node agent derives the same name
// from the WorkloadEndpoint — the WorkloadEndpoint name with its doubled dashes, and the IPAM
// handles.

import { createHash } from 'node:crypto';
import { TricolorError, quote } from '../base/index.ts';

export const DEFAULT_INTERFACE_PREFIX = 'cali';

/** First entry of FELIX_INTERFACEPREFIX (a comma list), else `cali`. */
export function interfacePrefix(env: NodeJS.ProcessEnv): string {
  const first = (env.FELIX_INTERFACEPREFIX ?? '').split(',')[0]?.trim() ?? '';
  return first === '' ? DEFAULT_INTERFACE_PREFIX : first;
}

/** Host-side interface of a Kubernetes pod: prefix + first 11 hex chars of SHA-1("ns.pod"). */
export function podHostIfName(namespace: string, pod: string, prefix = DEFAULT_INTERFACE_PREFIX): string {
  const hex = createHash('sha1').update(`${namespace}.${pod}`).digest('hex');
  return `${prefix}${hex.slice(0, 11)}`;
}

/** Host-side interface for a plain-CNI workload: prefix + first 11 chars of the container ID. */
export function containerHostIfName(containerId: string, prefix = DEFAULT_INTERFACE_PREFIX): string {
  return `${prefix}${containerId.slice(0, 11)}`;
}

function escapeSegment(s: string): string {
  return s.replace(/-/g, '--');
}

export interface WepIdentifiers {
  readonly node: string;
  readonly orchestrator: string;
  /** Pod name (k8s) or container ID (cni) or workload name. */
  readonly workload: string;
  readonly endpoint: string;
}

/**
 * `<node>-<orch>-<workload>-<endpoint>`, each segment's dashes doubled. A segment may not
 * start or end with '-' (the name would not parse back).
 */
export function wepName(id: WepIdentifiers): string {
  return `${wepNamePrefix(id)}${checkSegment('endpoint', id.endpoint)}`;
}

/** Everything up to and including the dash before the endpoint segment (for prefix lookups). */
export function wepNamePrefix(id: Omit<WepIdentifiers, 'endpoint'>): string {
  return [
    checkSegment('node', id.node),
    checkSegment('orchestrator', id.orchestrator),
    checkSegment('workload', id.workload),
  ].join('-') + '-';
}

function checkSegment(field: string, s: string): string {
  if (s === '' || s.startsWith('-') || s.endsWith('-')) {
    throw new TricolorError('ERR_VALIDATION', `WorkloadEndpoint name: ${field} ${quote(s)} must be non-empty and not start or end with "-"`, {
      field,
      value: s,
    });
  }
  return escapeSegment(s);
}

/** Split a WEP name on single dashes and un-double `--`; undefined if it is not 4 segments. */
export function parseWepName(name: string): WepIdentifiers | undefined {
  const segments: string[] = [];
  let cur = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (c === '-') {
      if (name[i + 1] === '-') {
        cur += '-';
        i++;
      } else {
        segments.push(cur);
        cur = '';
      }
    } else {
      cur += c;
    }
  }
  segments.push(cur);
  if (segments.length !== 4 || segments.some((s) => s === '')) return undefined;
  const [node = '', orchestrator = '', workload = '', endpoint = ''] = segments;
  return { node, orchestrator, workload, endpoint };
}

/** The IPAM handle of one attachment: `<network>.<containerID>`. */
export function containerHandleId(network: string, containerId: string): string {
  return `${network}.${containerId}`;
}

/** Calico's legacy workload handle: `<namespace>.<pod>` (k8s) or the container ID. */
export function workloadHandleId(k8s: { namespace: string; pod: string } | undefined, containerId: string): string {
  return k8s === undefined ? containerId : `${k8s.namespace}.${k8s.pod}`;
}
