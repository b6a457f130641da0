// Datastore key/value → typed resource for the agent (node contract §4.2 "validation filter"):
// the key names the kind and object; the value is decoded and validated again, because stored
// data may predate a rule or have been written around the API. A value that does not validate
// is reported with its key and treated as absent (as Felix does), never fatal.

import { kindInfoFor, parseResourceKey, validateResource } from '../api/index.ts';
import type { AnyResource, KindInfo } from '../api/index.ts';
import type { CalcUpdate } from '../calc/index.ts';
import { POLICY_METADATA_ANNOTATION } from '../datastore/index.ts';
import type { SyncUpdate } from '../datastore/index.ts';
import { CALC_KINDS } from '../calc/index.ts';
import { HOST_PREFIX, parseAffinityKey } from '../ipam/index.ts';
import { formatCIDR } from '../net/index.ts';
import type { BlockAffinityEntry } from './routing-plan.ts';


/** [apiVersion, kind] the agent itself consumes (dataplane configuration, cluster counts). */
export const CONFIG_KINDS: ReadonlyArray<readonly [string, string]> = [
  ['projectcalico.org/v3', 'IPPool'],
  ['projectcalico.org/v3', 'FelixConfiguration'],
  ['projectcalico.org/v3', 'Node'],
  ['projectcalico.org/v3', 'BGPConfiguration'],
  ['projectcalico.org/v3', 'BGPPeer'],
  ['projectcalico.org/v3', 'BGPFilter'],
];

function infos(list: ReadonlyArray<readonly [string, string]>): KindInfo[] {
  return list.map(([v, k]) => {
    const info = kindInfoFor(v, k);
    if (info === undefined) throw new Error(`agent: kind ${v} ${k} is not registered`); // a bug, not user input
    return info;
  });
}

/**
 * Every key prefix the agent's syncer watches: the calc and config kinds, and every node's IPAM
 * block affinities (this node's feed BIRD and the blackholes; the others, VXLAN routes).
 */
export function agentPrefixes(): string[] {
  return [...infos(CALC_KINDS), ...infos(CONFIG_KINDS)].map((i) => i.keyPrefix).concat(HOST_PREFIX);
}

/** A block-affinity key/value as the agent uses it; undefined for any other key. */
export function decodeAffinityUpdate(u: SyncUpdate): BlockAffinityEntry | 'deleted' | undefined {
  const k = parseAffinityKey(u.key);
  if (k === undefined) return undefined;
  if (u.value === undefined) return 'deleted';
  let state = '';
  let deleted = false;
  try {
    const raw = u.value.trim() === '' ? {} : (JSON.parse(u.value) as unknown);
    if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
      const r = raw as Record<string, unknown>;
      if (typeof r['state'] === 'string') state = r['state'];
      deleted = r['deleted'] === true;
    }
  } catch {
    // an unreadable affinity: read as the legacy empty (confirmed) value, as Calico's decoder does for ""
  }
  return { host: k.host, cidr: formatCIDR(k.cidr), state, deleted };
}

const CALC_SET = new Set(CALC_KINDS.map(([v, k]) => `${v} ${k}`));

export interface DecodedUpdate {
  readonly key: string;
  readonly info: KindInfo;
  readonly name: string;
  readonly namespace: string | undefined;
  /** undefined: deleted, or present but invalid (see `problem`). */
  readonly value: AnyResource | undefined;
  /** Why a present value is treated as absent. */
  readonly problem?: string;
  /** Whether the calc graph consumes this kind (else it is agent configuration). */
  readonly forCalc: boolean;
}

/** Decode one syncer update; undefined for a key that names no known kind. */
export function decodeSyncUpdate(u: SyncUpdate): DecodedUpdate | undefined {
  const parsed = parseResourceKey(u.key);
  if (parsed === undefined) return undefined;
  const { info, name } = parsed;
  const namespace = parsed.namespace;
  const forCalc = CALC_SET.has(`${info.apiVersion} ${info.kind}`);
  const base = { key: u.key, info, name, namespace, forCalc };
  if (u.value === undefined) return { ...base, value: undefined };
  let raw: unknown;
  try {
    raw = JSON.parse(u.value);
  } catch (e) {
    return { ...base, value: undefined, problem: `stored value is not valid JSON: ${(e as Error).message}` };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ...base, value: undefined, problem: 'stored value is not an object' };
  }
  stripPolicyMetadata(raw as Record<string, unknown>);
  try {
    const value = validateResource(raw, { allowReservedNames: true });
    if (value.kind !== info.kind || value.apiVersion !== info.apiVersion) {
      return { ...base, value: undefined, problem: `stored ${value.apiVersion} ${value.kind} under a ${info.kind} key` };
    }
    return { ...base, value };
  } catch (e) {
    return { ...base, value: undefined, problem: (e as Error).message };
  }
}

/** The resource client stores a policy's API name in an annotation; readers drop it. */
function stripPolicyMetadata(raw: Record<string, unknown>): void {
  const md = raw['metadata'];
  if (md === null || typeof md !== 'object' || Array.isArray(md)) return;
  const m = md as Record<string, unknown>;
  const ann = m['annotations'];
  if (ann === null || typeof ann !== 'object' || Array.isArray(ann)) return;
  const a = ann as Record<string, unknown>;
  const meta = a[POLICY_METADATA_ANNOTATION];
  if (meta === undefined) return;
  delete a[POLICY_METADATA_ANNOTATION];
  if (Object.keys(a).length === 0) delete m['annotations'];
  if (typeof meta === 'string') {
    try {
      const parsed = JSON.parse(meta) as { name?: unknown };
      if (typeof parsed.name === 'string' && parsed.name !== '') m['name'] = parsed.name;
    } catch {
      // a damaged annotation: keep the stored name
    }
  }
}

/** The calc-graph input for a decoded update (absent values become deletions). */
export function calcUpdateOf(d: DecodedUpdate): CalcUpdate {
  const u: { kind: string; apiVersion: string; name: string; namespace?: string; value: AnyResource | undefined } = {
    kind: d.info.kind,
    apiVersion: d.info.apiVersion,
    name: d.value?.metadata.name ?? d.name,
    value: d.value,
  };
  const ns = d.value?.metadata.namespace ?? d.namespace;
  if (ns !== undefined) u.namespace = ns;
  return u;
}
