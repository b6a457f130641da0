// Output formats for `get` (calicoctl contract §6.5): the `ps` table with each kind's columns,
// `wide`, `custom-columns=`, `yaml` (keys sorted, as calicoctl's object→JSON→YAML conversion
// sorts them), `json` (kind first, 2-space indent) and `name`.

import { stringify } from 'yaml';
import type { AnyResource } from '../api/index.ts';
import { TricolorError } from '../base/index.ts';

type Cell = (r: AnyResource) => string;
interface KindColumns {
  readonly ps: readonly string[];
  readonly wide: readonly string[];
  readonly cells: Readonly<Record<string, Cell>>;
}

export type OutputFormat =
  | { readonly type: 'ps' }
  | { readonly type: 'wide' }
  | { readonly type: 'custom'; readonly columns: readonly string[] }
  | { readonly type: 'yaml' }
  | { readonly type: 'json' }
  | { readonly type: 'name' };

export function parseOutputFormat(value: string | undefined): OutputFormat {
  const v = value ?? 'ps';
  switch (v) {
    case 'ps':
    case '':
      return { type: 'ps' };
    case 'wide':
      return { type: 'wide' };
    case 'yaml':
    case 'yml':
      return { type: 'yaml' };
    case 'json':
      return { type: 'json' };
    case 'name':
      return { type: 'name' };
  }
  if (v.startsWith('custom-columns=')) {
    const cols = v.slice('custom-columns='.length).split(',').map((c) => c.trim()).filter((c) => c !== '');
    if (cols.length === 0) throw new TricolorError('ERR_USAGE', 'need to specify at least one column');
    return { type: 'custom', columns: cols };
  }
  if (v.startsWith('go-template')) {
    throw new TricolorError('ERR_USAGE', `output format ${JSON.stringify(v)} is not supported by tricolor (use yaml, json, wide, name or custom-columns=)`);
  }
  throw new TricolorError('ERR_USAGE', `unrecognized output format '${v}'`);
}

// ---- values --------------------------------------------------------------------------------

function at(r: AnyResource, path: string): unknown {
  let v: unknown = r;
  for (const p of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

/**
 * Go's `%v` for a float64 (strconv 'g' with shortest digits): exponent form when the decimal
 * exponent is < -4 or >= 6, so 1000000 prints as `1e+06` and 1000 as `1000`.
 */
export function goFloat(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN';
  if (n === 0) return '0';
  const [mant = '0', expStr = '0'] = n.toExponential().split('e');
  const exp = Number(expStr);
  if (exp < -4 || exp >= 6) {
    return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return String(n);
}

function str(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 1e6 ? String(v) : goFloat(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function boolCell(path: string): Cell {
  return (r) => (at(r, path) === true ? 'true' : 'false');
}

function field(path: string): Cell {
  return (r) => str(at(r, path));
}

function joined(path: string, max?: number): Cell {
  return (r) => {
    const v = at(r, path);
    const s = Array.isArray(v) ? v.map(str).join(',') : '';
    return max !== undefined && s.length > max ? `${s.slice(0, max - 3)}...` : s;
  };
}

const name: Cell = (r) => r.metadata.name;
const namespace: Cell = (r) => r.metadata.namespace ?? '';
const orNever =
  (path: string): Cell =>
  (r) => {
    const s = str(at(r, path));
    return s === '' ? 'Never' : s;
  };
const orDash =
  (path: string): Cell =>
  (r) => {
    const s = str(at(r, path));
    return s === '' ? '-' : s;
  };
const policyTier: Cell = (r) => {
  const t = str(at(r, 'spec.tier'));
  return t === '' ? 'default' : t;
};
const floatCell =
  (path: string): Cell =>
  (r) => {
    const v = at(r, path);
    return typeof v === 'number' ? goFloat(v) : v === undefined ? '<nil>' : str(v);
  };
const count =
  (path: string): Cell =>
  (r) => {
    const v = at(r, path);
    return String(Array.isArray(v) ? v.length : 0);
  };

const POLICY: KindColumns = {
  ps: ['NAME', 'TIER'],
  wide: ['NAME', 'TIER', 'ORDER', 'SELECTOR'],
  cells: { NAMESPACE: namespace, NAME: name, TIER: policyTier, ORDER: floatCell('spec.order'), SELECTOR: field('spec.selector') },
};
const NETSET: KindColumns = {
  ps: ['NAME'],
  wide: ['NAME', 'NETS'],
  cells: { NAMESPACE: namespace, NAME: name, NETS: joined('spec.nets', 80) },
};

const COLUMNS: Readonly<Record<string, KindColumns>> = {
  IPPool: {
    ps: ['NAME', 'CIDR', 'SELECTOR'],
    wide: ['NAME', 'CIDR', 'NAT', 'IPIPMODE', 'VXLANMODE', 'DISABLED', 'DISABLEBGPEXPORT', 'SELECTOR', 'ASSIGNMENTMODE'],
    cells: {
      NAME: name,
      CIDR: field('spec.cidr'),
      NAT: boolCell('spec.natOutgoing'),
      IPIPMODE: orNever('spec.ipipMode'),
      VXLANMODE: orNever('spec.vxlanMode'),
      DISABLED: boolCell('spec.disabled'),
      DISABLEBGPEXPORT: boolCell('spec.disableBGPExport'),
      SELECTOR: field('spec.nodeSelector'),
      ASSIGNMENTMODE: field('spec.assignmentMode'),
    },
  },
  IPReservation: { ps: ['NAME'], wide: ['NAME', 'CIDRS'], cells: { NAME: name, CIDRS: joined('spec.reservedCIDRs', 80) } },
  Tier: { ps: ['NAME', 'ORDER'], wide: ['NAME', 'ORDER'], cells: { NAME: name, ORDER: floatCell('spec.order') } },
  NetworkPolicy: POLICY,
  GlobalNetworkPolicy: POLICY,
  StagedNetworkPolicy: POLICY,
  StagedGlobalNetworkPolicy: POLICY,
  StagedKubernetesNetworkPolicy: {
    ps: ['NAME'],
    wide: ['NAME', 'PODSELECTOR'],
    cells: { NAMESPACE: namespace, NAME: name, PODSELECTOR: (r) => str(at(r, 'spec.podSelector')) },
  },
  NetworkSet: NETSET,
  GlobalNetworkSet: NETSET,
  HostEndpoint: {
    ps: ['NAME', 'NODE'],
    wide: ['NAME', 'NODE', 'INTERFACE', 'IPS', 'PROFILES'],
    cells: {
      NAME: name,
      NODE: field('spec.node'),
      INTERFACE: field('spec.interfaceName'),
      IPS: joined('spec.expectedIPs'),
      PROFILES: joined('spec.profiles'),
    },
  },
  Profile: {
    ps: ['NAME'],
    wide: ['NAME', 'LABELS'],
    cells: {
      NAME: name,
      LABELS: (r) => {
        const l = at(r, 'spec.labelsToApply');
        if (l === null || typeof l !== 'object') return '';
        return Object.entries(l as Record<string, unknown>)
          .map(([k, v]) => `${k}=${str(v)}`)
          .sort()
          .join(',');
      },
    },
  },
  Node: {
    ps: ['NAME'],
    wide: ['NAME', 'ASN', 'IPV4', 'IPV6'],
    cells: {
      NAME: name,
      ASN: (r) => {
        const bgp = at(r, 'spec.bgp');
        if (bgp === undefined || bgp === null) return '';
        const asn = at(r, 'spec.bgp.asNumber');
        return asn === undefined ? '(64512)' : str(asn);
      },
      IPV4: field('spec.bgp.ipv4Address'),
      IPV6: field('spec.bgp.ipv6Address'),
    },
  },
  WorkloadEndpoint: {
    ps: ['WORKLOAD', 'NODE', 'NETWORKS', 'INTERFACE'],
    wide: ['NAME', 'WORKLOAD', 'NODE', 'NETWORKS', 'INTERFACE', 'PROFILES', 'NATS'],
    cells: {
      NAMESPACE: namespace,
      NAME: name,
      WORKLOAD: (r) => str(at(r, 'spec.workload')) || str(at(r, 'spec.pod')),
      NODE: field('spec.node'),
      NETWORKS: joined('spec.ipNetworks'),
      INTERFACE: field('spec.interfaceName'),
      PROFILES: joined('spec.profiles'),
      NATS: (r) => {
        const v = at(r, 'spec.ipNATs');
        return Array.isArray(v) ? v.map((n: { internalIP?: string; externalIP?: string }) => `${n.internalIP ?? ''}:${n.externalIP ?? ''}`).join(',') : '';
      },
    },
  },
  BGPPeer: {
    ps: ['NAME', 'PEERIP', 'NODE', 'ASN'],
    wide: ['NAME', 'PEERIP', 'NODE', 'ASN'],
    cells: {
      NAME: name,
      PEERIP: field('spec.peerIP'),
      NODE: (r) => str(at(r, 'spec.node')) || str(at(r, 'spec.nodeSelector')) || '(global)',
      ASN: field('spec.asNumber'),
    },
  },
  BGPConfiguration: {
    ps: ['NAME', 'LOGSEVERITY', 'MESHENABLED', 'ASNUMBER'],
    wide: ['NAME', 'LOGSEVERITY', 'MESHENABLED', 'ASNUMBER'],
    cells: {
      NAME: name,
      LOGSEVERITY: field('spec.logSeverityScreen'),
      MESHENABLED: orDash('spec.nodeToNodeMeshEnabled'),
      ASNUMBER: orDash('spec.asNumber'),
    },
  },
  BGPFilter: {
    ps: ['NAME', 'NUMEXPORTV4', 'NUMIMPORTV4', 'NUMEXPORTV6', 'NUMIMPORTV6'],
    wide: ['NAME', 'NUMEXPORTV4', 'NUMIMPORTV4', 'NUMEXPORTV6', 'NUMIMPORTV6'],
    cells: {
      NAME: name,
      NUMEXPORTV4: count('spec.exportV4'),
      NUMIMPORTV4: count('spec.importV4'),
      NUMEXPORTV6: count('spec.exportV6'),
      NUMIMPORTV6: count('spec.importV6'),
    },
  },
  ClusterInformation: {
    ps: ['NAME', 'CLUSTERGUID', 'CLUSTERTYPE', 'CALICOVERSION', 'DATASTOREREADY'],
    wide: ['NAME', 'CLUSTERGUID', 'CLUSTERTYPE', 'CALICOVERSION', 'DATASTOREREADY'],
    cells: {
      NAME: name,
      CLUSTERGUID: field('spec.clusterGUID'),
      CLUSTERTYPE: field('spec.clusterType'),
      CALICOVERSION: field('spec.calicoVersion'),
      DATASTOREREADY: (r) => {
        const v = at(r, 'spec.datastoreReady');
        return v === undefined ? '<nil>' : str(v);
      },
    },
  },
  IPAMConfiguration: {
    ps: ['NAME', 'STRICTAFFINITY', 'AUTOALLOCATEBLOCKS'],
    wide: ['NAME', 'STRICTAFFINITY', 'AUTOALLOCATEBLOCKS', 'MAXBLOCKSPERHOST'],
    cells: {
      NAME: name,
      STRICTAFFINITY: boolCell('spec.strictAffinity'),
      AUTOALLOCATEBLOCKS: boolCell('spec.autoAllocateBlocks'),
      MAXBLOCKSPERHOST: (r) => str(at(r, 'spec.maxBlocksPerHost') ?? 0),
    },
  },
  CalicoNodeStatus: {
    ps: ['NAME', 'NODE'],
    wide: ['NAME', 'NODE', 'CLASSES'],
    cells: { NAME: name, NODE: field('spec.node'), CLASSES: joined('spec.classes') },
  },
};

const NAMESPACED_DEFAULT: KindColumns = { ps: ['NAME'], wide: ['NAME'], cells: { NAMESPACE: namespace, NAME: name } };

function columnsFor(kind: string, apiVersion: string): KindColumns {
  if (apiVersion !== 'projectcalico.org/v3') return NAMESPACED_DEFAULT;
  return COLUMNS[kind] ?? NAMESPACED_DEFAULT;
}

// ---- rendering -----------------------------------------------------------------------------

/**
 * One table (calicoctl prints one per result object: a list is one table). Cells are padded to
 * the widest cell + 3 (at least 5), the last column too, as Go's tabwriter with minwidth 5 and
 * padding 3 does; a blank line follows.
 */
export function renderTable(
  items: readonly AnyResource[],
  kind: string,
  apiVersion: string,
  format: OutputFormat,
  showNamespace: boolean,
): string {
  const cols = columnsFor(kind, apiVersion);
  let headings: string[];
  if (format.type === 'custom') {
    const valid = Object.keys(cols.cells);
    for (const c of format.columns) {
      if (cols.cells[c] === undefined) throw new TricolorError('ERR_USAGE', `unknown heading ${c}, valid values are: ${valid.join(', ')}`);
    }
    headings = [...format.columns];
  } else {
    headings = [...(format.type === 'wide' ? cols.wide : cols.ps)];
    if (showNamespace && cols.cells['NAMESPACE'] !== undefined) headings.unshift('NAMESPACE');
  }
  const rows: string[][] = [headings];
  for (const r of items) rows.push(headings.map((h) => (cols.cells[h] ?? (() => ''))(r)));
  const widths = headings.map((_, i) => Math.max(5, ...rows.map((row) => [...(row[i] ?? '')].length + 3)));
  const lines = rows.map((row) => row.map((c, i) => c + ' '.repeat((widths[i] ?? 5) - [...c].length)).join(''));
  return `${lines.join('\n')}\n\n`;
}

/** Deep copy with object keys sorted, as Go's map-based YAML marshalling emits them. */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o).sort()) out[k] = sortKeys(o[k]);
    return out;
  }
  return v;
}

/** JSON field order: kind, apiVersion, metadata, spec, status, then the rest (Go struct order). */
function jsonOrder(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(jsonOrder);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (!('kind' in o)) return o;
    const out: Record<string, unknown> = {};
    for (const k of ['kind', 'apiVersion', 'metadata', 'spec', 'status', 'items']) if (k in o) out[k] = k === 'items' ? jsonOrder(o[k]) : o[k];
    for (const k of Object.keys(o)) if (!(k in out)) out[k] = o[k];
    return out;
  }
  return v;
}

export function renderYaml(value: unknown): string {
  return stringify(sortKeys(value), { lineWidth: 0, aliasDuplicateObjects: false });
}

export function renderJson(value: unknown): string {
  return `${JSON.stringify(jsonOrder(value), null, 2)}\n`;
}

/** `-o name`: `<kind>.<group>/<name>`, as kubectl prints it. */
export function renderName(r: AnyResource): string {
  const slash = r.apiVersion.indexOf('/');
  const group = slash < 0 ? '' : `.${r.apiVersion.slice(0, slash)}`;
  return `${r.kind.toLowerCase()}${group}/${r.metadata.name}\n`;
}
