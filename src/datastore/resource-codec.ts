// The one codec of stored data: a datastore key/value → a typed resource (or block affinity), or a
// named problem with the field and value at fault; and a resource → the JSON it is stored as.
// Every reader goes through it — the typed resource client (CLI, `policy explain`), the update
// sources the node agent and the service proxy consume, and a Typha client — so they all see one
// object under one name (node contract §1.2.1, §4.2 "validation filter").
//
// Reading applies, in order: JSON → object; the `projectcalico.org/metadata` annotation on policy
// kinds gives the API name (and is dropped); without it, a default-tier policy stored by Calico
// before 3.30 as `default.<name>` reads as `<name>`; validation (stored data may predate a rule or
// have been written around the API; names Calico reserves for its own writers are accepted, since
// only a controller can have stored them); the stored kind must be the kind its key names; a
// namespaced object without a namespace takes its key's; `resourceVersion` is the key's mod
// revision. A value that fails any step is a problem, never fatal: readers report it and treat
// the object as absent (as Felix does).

import {
  CALICO_API_VERSION,
  parseResourceKey,
  validateResource,
  type AnyResource,
  type KindInfo,
  type ResourceKind,
} from '../api/index.ts';
import { TricolorError, isTricolorError, quote } from '../base/index.ts';
import { formatCIDR } from '../net/index.ts';
import { parseAffinityKey } from './ipam-keys.ts';

export const POLICY_METADATA_ANNOTATION = 'projectcalico.org/metadata';

const POLICY_KINDS: ReadonlySet<ResourceKind> = new Set<ResourceKind>([
  'NetworkPolicy',
  'GlobalNetworkPolicy',
  'StagedNetworkPolicy',
  'StagedGlobalNetworkPolicy',
]);

/** The part of a stored key/value the codec reads (a KeyValue, a syncer update, a wire update). */
export interface StoredKV {
  readonly key: string;
  readonly value: string;
  readonly modRevision: number;
}

/** Where a stored resource lives: its kind and the name/namespace its key spells. */
export interface StoredResourceKey {
  readonly key: string;
  readonly info: KindInfo;
  /** The name in the key (a legacy `default.<name>` policy key keeps its prefix here). */
  readonly keyName: string;
  readonly namespace: string | undefined;
}

export type DecodedResource =
  | (StoredResourceKey & { readonly ok: true; readonly resource: AnyResource })
  | (StoredResourceKey & { readonly ok: false; readonly problem: TricolorError });

/** A block affinity as readers use it (`/calico/ipam/v2/host/<host>/ipvN/block/<cidr>`). */
export interface StoredBlockAffinity {
  readonly host: string;
  readonly cidr: string;
  /** `confirmed`, `pending`, `pendingDeletion`; '' for the legacy empty value (confirmed). */
  readonly state: string;
  readonly deleted: boolean;
}

/** Which resource a key names; undefined for a key of no registered kind. */
export function storedResourceKey(key: string): StoredResourceKey | undefined {
  const parsed = parseResourceKey(key);
  if (parsed === undefined) return undefined;
  return { key, info: parsed.info, keyName: parsed.name, namespace: parsed.namespace };
}

/** Decode one stored resource; undefined for a key that names no registered kind. */
export function decodeResource(kv: StoredKV): DecodedResource | undefined {
  const where = storedResourceKey(kv.key);
  if (where === undefined) return undefined;
  try {
    return { ...where, ok: true, resource: decodeValue(where, kv.value, kv.modRevision) };
  } catch (e) {
    if (!isTricolorError(e)) throw e; // a bug, not stored data
    return { ...where, ok: false, problem: e };
  }
}

/** Decode one stored resource or throw its problem (ERR_VALIDATION naming the key). */
export function parseStoredResource(kv: StoredKV): AnyResource {
  const d = decodeResource(kv);
  if (d === undefined) {
    throw new TricolorError('ERR_VALIDATION', `${kv.key}: not the key of a known resource kind`, { field: 'key', value: kv.key });
  }
  if (!d.ok) throw d.problem;
  return d.resource;
}

function problem(key: string, message: string, field?: string, value?: unknown, cause?: unknown): TricolorError {
  return new TricolorError('ERR_VALIDATION', `stored value at ${key}: ${message}`, {
    ...(field === undefined ? {} : { field }),
    ...(value === undefined ? {} : { value }),
    ...(cause === undefined ? {} : { cause }),
  });
}

function decodeValue(where: StoredResourceKey, value: string, modRevision: number): AnyResource {
  const { key, info } = where;
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch (e) {
    throw problem(key, `not valid JSON: ${(e as Error).message}`, undefined, undefined, e);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw problem(key, 'not an object');
  const obj = raw as Record<string, unknown>;
  if (obj['kind'] !== info.kind || obj['apiVersion'] !== info.apiVersion) {
    throw problem(key, `holds ${quote(obj['apiVersion'])} ${quote(obj['kind'])} under a ${info.apiVersion} ${info.kind} key`, 'kind', obj['kind']);
  }
  consumePolicyMetadata(obj);
  let res: AnyResource;
  try {
    res = validateResource(obj, { allowReservedNames: true });
  } catch (e) {
    if (!isTricolorError(e)) throw e;
    throw new TricolorError(e.code, `stored value at ${key}: ${e.message}`, {
      ...(e.field === undefined ? {} : { field: e.field }),
      value: e.value,
      detail: e.detail,
      cause: e,
    });
  }
  if (info.namespaced && (res.metadata.namespace === undefined || res.metadata.namespace === '') && where.namespace !== undefined) {
    res.metadata.namespace = where.namespace;
  }
  res.metadata.resourceVersion = String(modRevision);
  return res;
}

/** Policy kinds keep their API name in an annotation; readers take the name from it and drop it. */
function consumePolicyMetadata(raw: Record<string, unknown>): void {
  if (raw['apiVersion'] !== CALICO_API_VERSION || !POLICY_KINDS.has(raw['kind'] as ResourceKind)) return;
  const md = raw['metadata'];
  if (md === null || typeof md !== 'object' || Array.isArray(md)) return;
  const m = md as Record<string, unknown>;
  const ann = m['annotations'];
  if (ann !== null && typeof ann === 'object' && !Array.isArray(ann) && POLICY_METADATA_ANNOTATION in ann) {
    const a = ann as Record<string, unknown>;
    const meta = a[POLICY_METADATA_ANNOTATION];
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
    return;
  }
  // Calico before 3.30 stored default-tier policies as `default.<name>`; the API name is `<name>`
  const spec = raw['spec'] as { tier?: unknown } | undefined;
  const tier = typeof spec?.tier === 'string' && spec.tier !== '' ? spec.tier : 'default';
  const name = m['name'];
  if (tier === 'default' && typeof name === 'string' && name.startsWith('default.') && name.length > 'default.'.length) {
    m['name'] = name.slice('default.'.length);
  }
}

/** The JSON stored for a resource: no resourceVersion; policy kinds carry the metadata annotation. */
export function encodeResource(res: AnyResource): string {
  const out = structuredClone(res);
  const md = out.metadata;
  delete md.resourceVersion;
  if (out.apiVersion === CALICO_API_VERSION && POLICY_KINDS.has(out.kind)) {
    md.annotations = { ...md.annotations, [POLICY_METADATA_ANNOTATION]: JSON.stringify({ name: md.name }) };
  }
  return JSON.stringify(out);
}

/**
 * What a reader will decode for an object the caller validated and is storing now at `revision`:
 * the decode steps without validating again (the writer's shortcut; same result as decoding).
 */
export function storedForm(res: AnyResource, revision: number): AnyResource {
  const raw = JSON.parse(encodeResource(res)) as Record<string, unknown>;
  consumePolicyMetadata(raw);
  const out = raw as unknown as AnyResource;
  out.metadata.resourceVersion = String(revision);
  return out;
}

/**
 * A block-affinity key/value as readers use it; undefined for any other key. An unreadable value
 * reads as the legacy empty (confirmed) value, as Calico's decoder does for "".
 */
export function decodeBlockAffinity(key: string, value: string): StoredBlockAffinity | undefined {
  const k = affinityKeyOf(key);
  if (k === undefined) return undefined;
  let state = '';
  let deleted = false;
  try {
    const raw = value.trim() === '' ? {} : (JSON.parse(value) as unknown);
    if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
      const r = raw as Record<string, unknown>;
      if (typeof r['state'] === 'string') state = r['state'];
      deleted = r['deleted'] === true;
    }
  } catch {
    // the legacy empty value
  }
  return { host: k.host, cidr: formatCIDR(k.cidr), state, deleted };
}

/** Whether a key is a block affinity's. */
export function isBlockAffinityKey(key: string): boolean {
  return affinityKeyOf(key) !== undefined;
}

function affinityKeyOf(key: string): ReturnType<typeof parseAffinityKey> {
  try {
    return parseAffinityKey(key);
  } catch {
    return undefined; // an affinity key whose CIDR does not parse names no block
  }
}
