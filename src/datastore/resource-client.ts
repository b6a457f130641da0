// The typed resource client: projectcalico.org/v3 (and the stored Kubernetes) resources over a
// DatastoreBackend, with the value rules of node contract §1.2.1 (resourceVersion from the mod
// revision, uid/creationTimestamp stamped on create, the `projectcalico.org/metadata`
// annotation on policy kinds, the synthetic `projectcalico-default-allow` profile) and the
// Calico-side write checks of API contract §7 (tier existence, protected tiers, reserved
// policy names, immutable IPPool fields).
//
// Batches (createMany/applyMany/replaceMany) validate every document — including the
// cross-object rules, against the store plus the other documents of the batch — before
// writing anything, and then write in one backend transaction, so a batch is all or nothing
// (Calico's calicoctl writes one by one and can half-apply a file; we deliberately do not).

import { randomUUID } from 'node:crypto';
import {
  BUILTIN_TIERS,
  CALICO_API_VERSION,
  isDeletionForbidden,
  kindInfoFor,
  resourceKey,
  resourceKeyPrefix,
  validateAgainstExisting,
  validateResource,
  type AnyResource,
  type KindInfo,
} from '../api/index.ts';
import { isTricolorError, quote, sleep, TricolorError, type ErrorCode } from '../base/index.ts';
import type { DatastoreBackend, KeyValue, TxnCompare, TxnOp } from './backend.ts';
import { encodeResource, parseStoredResource, storedForm } from './resource-codec.ts';

/** The version this build reports as `calicoVersion` (ClusterInformation) and `Client Version`. */
export const TRICOLOR_VERSION = 'v0.1.0';

export const DEFAULT_ALLOW_PROFILE = 'projectcalico-default-allow';

const POLICY_KINDS = new Set(['NetworkPolicy', 'GlobalNetworkPolicy', 'StagedNetworkPolicy', 'StagedGlobalNetworkPolicy']);
const BUILTIN_TIER_NAMES = new Set(['default', 'kube-admin', 'kube-baseline']);
/**
 * Kinds whose cross-object rules need the whole stored set of that kind. Other kinds (the
 * numerous ones: endpoints, policies, pods) are checked only against the rest of the batch,
 * so writing one workload endpoint never lists them all.
 */
const STORE_CHECKED_KINDS = new Set([
  'IPPool',
  'IPReservation',
  'Tier',
  'BGPPeer',
  'BGPFilter',
  'BGPConfiguration',
  'FelixConfiguration',
  'KubeControllersConfiguration',
  'IPAMConfiguration',
  'ClusterInformation',
]);
const MAX_ATTEMPTS = 8;

export interface SkippedValue {
  readonly key: string;
  readonly error: TricolorError;
}

export interface ResourceList {
  readonly items: AnyResource[];
  /** Store revision the list was taken at. */
  readonly revision: number;
  /** Stored values that no longer parse or validate: reported, never fatal. */
  readonly skipped: SkippedValue[];
}

export interface BatchFailure {
  /** 0-based position of the document in the batch. */
  readonly index: number;
  readonly error: TricolorError;
}

export interface BatchOptions {
  /** createMany: a document whose object already exists is left alone instead of failing. */
  readonly skipExists?: boolean;
}

export interface BatchResult {
  /** One entry per document: the object as stored, or undefined when skipped (skipExists). */
  readonly items: (AnyResource | undefined)[];
  readonly revision: number;
}

export interface ResourceClientOptions {
  readonly now?: () => Date;
  readonly calicoVersion?: string;
  readonly clusterType?: string;
}

type WriteMode = 'create' | 'apply' | 'replace';

interface Prepared {
  readonly index: number;
  readonly res: AnyResource;
  readonly info: KindInfo;
  readonly key: string;
  /** Revision the caller asked to compare against (metadata.resourceVersion), if any. */
  readonly expectedRevision: number | undefined;
}

export class ResourceClient {
  readonly backend: DatastoreBackend;
  readonly #now: () => Date;
  readonly #calicoVersion: string;
  readonly #clusterType: string | undefined;

  constructor(backend: DatastoreBackend, options: ResourceClientOptions = {}) {
    this.backend = backend;
    this.#now = options.now ?? (() => new Date());
    this.#calicoVersion = options.calicoVersion ?? TRICOLOR_VERSION;
    this.#clusterType = options.clusterType;
  }

  /**
   * Create what a fresh datastore must hold (contract §4.5): the built-in tiers and
   * ClusterInformation `default`. Idempotent; concurrent callers race safely because every
   * write is create-if-absent and "already exists" is success.
   */
  async initialise(): Promise<void> {
    const wanted: { key: string; make: () => AnyResource }[] = [];
    for (const tier of BUILTIN_TIERS) {
      const info = infoFor(tier);
      wanted.push({ key: resourceKey(info, tier.metadata.name), make: () => structuredClone(tier) });
    }
    const ciInfo = kindInfoFor(CALICO_API_VERSION, 'ClusterInformation');
    if (ciInfo !== undefined) {
      wanted.push({
        key: resourceKey(ciInfo, 'default'),
        make: () => ({
          apiVersion: CALICO_API_VERSION,
          kind: 'ClusterInformation',
          metadata: { name: 'default' },
          spec: {
            clusterGUID: randomUUID().replaceAll('-', ''),
            calicoVersion: this.#calicoVersion,
            datastoreReady: true,
            ...(this.#clusterType === undefined ? {} : { clusterType: this.#clusterType }),
          },
        }),
      });
    }
    for (const w of wanted) {
      if ((await this.backend.get(w.key)) !== undefined) continue;
      try {
        await this.backend.create(w.key, this.#storedValue(this.#stamp(w.make())));
      } catch (e) {
        if (!isTricolorError(e, 'ERR_ALREADY_EXISTS')) throw e;
      }
    }
  }

  // ---- single-object operations -----------------------------------------------------------

  async create(doc: unknown): Promise<AnyResource> {
    return single(await this.#writeBatch([doc], 'create', {}));
  }

  /**
   * Update an existing object. With metadata.resourceVersion: compare-and-swap on it (a stale
   * version is ERR_UPDATE_CONFLICT). Without: read-modify-write, retried on conflict.
   */
  async update(doc: unknown): Promise<AnyResource> {
    return single(await this.#writeBatch([doc], 'replace', {}));
  }

  /** Create or update (Calico's apply); retried on conflict. */
  async apply(doc: unknown): Promise<AnyResource> {
    return single(await this.#writeBatch([doc], 'apply', {}));
  }

  async get(info: KindInfo, name: string, namespace?: string): Promise<AnyResource> {
    const ns = effectiveNamespace(info, namespace);
    if (info.kind === 'Profile' && info.apiVersion === CALICO_API_VERSION && name === DEFAULT_ALLOW_PROFILE) {
      return defaultAllowProfile(await this.backend.revision());
    }
    const key = resourceKey(info, name, ns);
    const kv = await this.backend.get(key);
    if (kv === undefined) throw notFound(info, name, ns);
    return this.#decode(kv);
  }

  /** `namespace` undefined lists every namespace of a namespaced kind. */
  async list(info: KindInfo, namespace?: string): Promise<ResourceList> {
    const prefix = resourceKeyPrefix(info, info.namespaced ? namespace : undefined);
    const listed = await this.backend.list(prefix);
    const items: AnyResource[] = [];
    const skipped: SkippedValue[] = [];
    for (const kv of listed.items) {
      // a namespaced prefix without a namespace also matches nothing but `<ns>/<name>` keys;
      // guard against stray deeper keys all the same
      const rest = kv.key.slice(info.keyPrefix.length).split('/');
      if (rest.length !== (info.namespaced ? 2 : 1)) continue;
      try {
        items.push(this.#decode(kv));
      } catch (e) {
        skipped.push({ key: kv.key, error: asTricolorError(e) }); // the codec's message names the key
      }
    }
    if (info.kind === 'Profile' && info.apiVersion === CALICO_API_VERSION) {
      items.push(defaultAllowProfile(listed.revision));
    }
    return { items, revision: listed.revision, skipped };
  }

  /** Delete; with `resourceVersion`, only if it is still current. Returns the deleted object. */
  async delete(info: KindInfo, name: string, namespace?: string, resourceVersion?: string): Promise<AnyResource> {
    const ns = effectiveNamespace(info, namespace);
    const id = identifier(info, name, ns);
    if (info.kind === 'Profile' && info.apiVersion === CALICO_API_VERSION && name === DEFAULT_ALLOW_PROFILE) {
      throw new TricolorError('ERR_FORBIDDEN', `operation delete is not supported on ${id}: the profile is built in`);
    }
    if (info.kind === 'ClusterInformation' && info.apiVersion === CALICO_API_VERSION) {
      throw new TricolorError('ERR_FORBIDDEN', `operation delete is not supported on ${id}: the resource is readonly`);
    }
    const key = resourceKey(info, name, ns);
    const expected = resourceVersion === undefined || resourceVersion === '' ? undefined : parseRevision(resourceVersion);
    const kv = await this.backend.get(key);
    if (kv === undefined) throw notFound(info, name, ns);
    let res: AnyResource | undefined;
    try {
      res = this.#decode(kv);
    } catch {
      // an object that no longer validates can still be deleted
      res = undefined;
    }
    if (info.kind === 'Tier' && info.apiVersion === CALICO_API_VERSION) await this.#checkTierDeletable(name, res);
    else if (res !== undefined) {
      const why = isDeletionForbidden(res);
      if (why !== undefined) throw forbiddenDelete(id, why);
    }
    try {
      const deleted = await this.backend.delete(key, expected);
      const out = res ?? minimalObject(info, name, ns);
      out.metadata.resourceVersion = String(deleted.modRevision);
      return out;
    } catch (e) {
      throw relabel(e, info, name, ns);
    }
  }

  // ---- batches ------------------------------------------------------------------------------

  /** Create every document or none. ERR_ALREADY_EXISTS for an existing object unless skipExists. */
  async createMany(docs: readonly unknown[], options: BatchOptions = {}): Promise<BatchResult> {
    return this.#writeBatch(docs, 'create', options);
  }

  /** Create-or-update every document or none; retried on conflicts. */
  async applyMany(docs: readonly unknown[]): Promise<BatchResult> {
    return this.#writeBatch(docs, 'apply', {});
  }

  /** Update every document (all must exist) or none. */
  async replaceMany(docs: readonly unknown[]): Promise<BatchResult> {
    return this.#writeBatch(docs, 'replace', {});
  }

  // ---- internals ----------------------------------------------------------------------------

  async #writeBatch(docs: readonly unknown[], mode: WriteMode, options: BatchOptions): Promise<BatchResult> {
    // 1. every document on its own
    const prepared: Prepared[] = [];
    const failures: BatchFailure[] = [];
    const seen = new Map<string, number>();
    docs.forEach((doc, index) => {
      try {
        const p = prepare(doc, index);
        const dup = seen.get(p.key);
        if (dup !== undefined) {
          throw new TricolorError(
            'ERR_VALIDATION',
            `${describe(p.res)}: the same object is also document ${dup + 1} of this batch`,
            { field: 'metadata.name', value: p.res.metadata.name },
          );
        }
        seen.set(p.key, index);
        prepared.push(p);
      } catch (e) {
        failures.push({ index, error: asTricolorError(e) });
      }
    });
    if (failures.length > 0) throw batchError(failures, docs.length);

    // 2. against the store and each other, then one transaction; re-run on a lost race
    for (let attempt = 1; ; attempt++) {
      const state = await this.#readState(prepared);
      const compares: TxnCompare[] = [];
      const ops: TxnOp[] = [];
      const results: (AnyResource | undefined)[] = new Array<AnyResource | undefined>(docs.length).fill(undefined);
      const toWrite: { p: Prepared; stored: AnyResource }[] = [];
      for (const p of prepared) {
        try {
          const current = state.current.get(p.key);
          if (mode === 'create' && p.expectedRevision !== undefined) {
            throw new TricolorError(
              'ERR_VALIDATION',
              `${describe(p.res)}: metadata.resourceVersion: ${quote(String(p.expectedRevision))} must not be set on create`,
              { field: 'metadata.resourceVersion', value: String(p.expectedRevision) },
            );
          }
          if (mode === 'create' && current !== undefined) {
            if (options.skipExists === true) continue;
            throw alreadyExists(p.info, p.res.metadata.name, p.res.metadata.namespace);
          }
          if (mode === 'replace' && current === undefined) {
            throw notFound(p.info, p.res.metadata.name, p.res.metadata.namespace);
          }
          if (p.expectedRevision !== undefined && current !== undefined && current.modRevision !== p.expectedRevision) {
            throw conflict(p.info, p.res.metadata.name, p.res.metadata.namespace, p.expectedRevision, current.modRevision);
          }
          const currentRes = current === undefined ? undefined : state.decoded.get(p.key);
          this.#writeChecks(p, currentRes, state, prepared);
          toWrite.push({ p, stored: this.#stamp(merged(p.res, currentRes)) });
          compares.push({ key: p.key, modRevision: current?.modRevision ?? 0 });
        } catch (e) {
          failures.push({ index: p.index, error: asTricolorError(e) });
        }
      }
      if (failures.length > 0) throw batchError(failures, docs.length);

      if (toWrite.length === 0) return { items: results, revision: state.revision };
      // ONE transaction, whatever the size: the backend keeps it atomic (etcd: nested
      // transactions past --max-txn-ops, see EtcdBackend.largeTxn), so a batch is never half
      // written, by a lost compare or by a crash
      for (const w of toWrite) ops.push({ op: 'put', key: w.p.key, value: this.#storedValue(w.stored) });
      const r = await this.backend.txn(compares, ops);
      if (r.succeeded) {
        for (const w of toWrite) results[w.p.index] = this.#readBack(w.stored, r.revision);
        return { items: results, revision: r.revision };
      }
      if (attempt >= MAX_ATTEMPTS) {
        throw new TricolorError('ERR_UPDATE_CONFLICT', `update conflict: gave up after ${attempt} attempts; the objects keep changing`);
      }
      // create and compare-on-resourceVersion re-run the checks, which now report the winner;
      // apply and read-modify-write simply go again
      await sleep(Math.floor(Math.random() * 20 * attempt));
    }
  }

  async #readState(prepared: readonly Prepared[]): Promise<BatchState> {
    const current = new Map<string, KeyValue>();
    const decoded = new Map<string, AnyResource>();
    const sameKind = new Map<string, AnyResource[]>();
    let revision = 0;
    const listedKinds = new Set<string>();
    const kinds = new Map<string, KindInfo>();
    for (const p of prepared) kinds.set(kindId(p.info), p.info);
    const needTiers = prepared.some((p) => isPolicy(p.res));
    const tierInfo = kindInfoFor(CALICO_API_VERSION, 'Tier');
    if (needTiers && tierInfo !== undefined) kinds.set(kindId(tierInfo), tierInfo);
    for (const [id, info] of kinds) {
      if (!STORE_CHECKED_KINDS.has(info.kind) || info.apiVersion !== CALICO_API_VERSION) continue;
      listedKinds.add(id);
      const listed = await this.backend.list(info.keyPrefix);
      revision = Math.max(revision, listed.revision);
      const items: AnyResource[] = [];
      for (const kv of listed.items) {
        current.set(kv.key, kv);
        try {
          const r = this.#decode(kv);
          decoded.set(kv.key, r);
          items.push(r);
        } catch {
          // skipped here as list() skips it; overwriting it is how it gets repaired
        }
      }
      sameKind.set(id, items);
    }
    for (const p of prepared) {
      if (listedKinds.has(kindId(p.info))) continue;
      const kv = await this.backend.get(p.key);
      if (kv === undefined) continue;
      current.set(p.key, kv);
      revision = Math.max(revision, kv.modRevision);
      try {
        decoded.set(p.key, this.#decode(kv));
      } catch {
        // overwriting a value that no longer validates is how it gets repaired
      }
    }
    return { current, decoded, sameKind, revision };
  }

  #writeChecks(p: Prepared, currentRes: AnyResource | undefined, state: BatchState, batch: readonly Prepared[]): void {
    const res = p.res;
    const id = kindId(p.info);
    if (res.apiVersion === CALICO_API_VERSION && res.kind === 'ClusterInformation' && res.metadata.name !== 'default') {
      throw new TricolorError('ERR_VALIDATION', `${describe(res)}: metadata.name: ${quote(res.metadata.name)} must be "default"`, {
        field: 'metadata.name',
        value: res.metadata.name,
      });
    }
    if (isPolicy(res)) {
      if (res.kind === 'NetworkPolicy' && res.metadata.name.startsWith('knp.default.')) {
        throw new TricolorError(
          'ERR_VALIDATION',
          `${describe(res)}: metadata.name: ${quote(res.metadata.name)}: kubernetes network policies must be managed through the kubernetes API`,
          { field: 'metadata.name', value: res.metadata.name },
        );
      }
      const tier = policyTier(res);
      const tierKnown =
        [...state.decoded.values()].some((r) => r.kind === 'Tier' && r.apiVersion === CALICO_API_VERSION && r.metadata.name === tier) ||
        batch.some((b) => b.res.kind === 'Tier' && b.res.apiVersion === CALICO_API_VERSION && b.res.metadata.name === tier) ||
        // a store without its built-in tiers (never initialised) still accepts default-tier policies
        (BUILTIN_TIER_NAMES.has(tier) && BUILTIN_TIERS.length === 0);
      if (!tierKnown) {
        throw new TricolorError('ERR_VALIDATION', `${describe(res)}: spec.tier: ${quote(tier)} is not an existing tier`, {
          field: 'spec.tier',
          value: tier,
        });
      }
    }
    if (res.apiVersion === CALICO_API_VERSION && res.kind === 'IPPool' && currentRes !== undefined) {
      const now = res.spec as Record<string, unknown> | undefined;
      const was = currentRes.spec as Record<string, unknown> | undefined;
      for (const field of ['cidr', 'blockSize'] as const) {
        if (was?.[field] !== undefined && now?.[field] !== was[field]) {
          throw new TricolorError(
            'ERR_VALIDATION',
            `${describe(res)}: spec.${field}: ${quote(now?.[field])} cannot be changed from ${quote(was[field])}; create a new pool instead`,
            { field: `spec.${field}`, value: now?.[field] },
          );
        }
      }
    }
    // cross-object rules: the stored objects of this kind (those the batch rewrites replaced
    // by their new versions) plus the rest of the batch
    const others: AnyResource[] = [];
    const batchKeys = new Set(batch.map((b) => b.key));
    for (const r of state.sameKind.get(id) ?? []) {
      if (!batchKeys.has(resourceKey(p.info, r.metadata.name, r.metadata.namespace))) others.push(r);
    }
    for (const b of batch) if (b !== p && kindId(b.info) === id) others.push(b.res);
    validateAgainstExisting(res, others);
  }

  async #checkTierDeletable(name: string, res: AnyResource | undefined): Promise<void> {
    const id = `Tier(${name})`;
    if (BUILTIN_TIER_NAMES.has(name)) {
      throw new TricolorError('ERR_FORBIDDEN', `operation delete is not supported on ${id}: Cannot delete ${name} tier`);
    }
    if (res !== undefined) {
      const why = isDeletionForbidden(res);
      if (why !== undefined) throw forbiddenDelete(id, why);
    }
    for (const kind of POLICY_KINDS) {
      const info = kindInfoFor(CALICO_API_VERSION, kind);
      if (info === undefined) continue;
      const listed = await this.backend.list(info.keyPrefix);
      for (const kv of listed.items) {
        let tier: string;
        try {
          tier = policyTier(JSON.parse(kv.value) as AnyResource);
        } catch {
          continue;
        }
        if (tier === name) {
          throw new TricolorError('ERR_FORBIDDEN', `operation delete is not supported on ${id}: Cannot delete a non-empty tier`, {
            detail: { policyKey: kv.key },
          });
        }
      }
    }
  }

  /** uid and creationTimestamp for an object that has none yet (a create). */
  #stamp(res: AnyResource): AnyResource {
    res.metadata.uid ??= randomUUID();
    res.metadata.creationTimestamp ??= rfc3339(this.#now());
    return res;
  }

  /** The JSON stored for an object (the codec's encoding). */
  #storedValue(res: AnyResource): string {
    return encodeResource(res);
  }

  /** What a reader gets back for an object just written (as the codec decodes it). */
  #readBack(stored: AnyResource, revision: number): AnyResource {
    return storedForm(stored, revision);
  }

  /** Stored KV → validated object with resourceVersion (the one codec). Throws its problem. */
  #decode(kv: Pick<KeyValue, 'key' | 'value' | 'modRevision'>): AnyResource {
    return parseStoredResource(kv);
  }
}

interface BatchState {
  readonly current: Map<string, KeyValue>;
  readonly decoded: Map<string, AnyResource>;
  readonly sameKind: Map<string, AnyResource[]>;
  readonly revision: number;
}

// ---- helpers ------------------------------------------------------------------------------

function prepare(doc: unknown, index: number): Prepared {
  let rv: unknown;
  let input = doc;
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
    const md = (doc as Record<string, unknown>)['metadata'];
    if (md !== null && typeof md === 'object' && !Array.isArray(md) && 'resourceVersion' in md) {
      // the revision is ours to compare, not part of the object being validated
      const copy = structuredClone(doc) as Record<string, unknown>;
      const m = copy['metadata'] as Record<string, unknown>;
      rv = m['resourceVersion'];
      delete m['resourceVersion'];
      input = copy;
    }
  }
  const res = validateResource(input);
  const info = infoFor(res);
  if (info.namespaced && (res.metadata.namespace === undefined || res.metadata.namespace === '')) {
    res.metadata.namespace = 'default';
  }
  const key = resourceKey(info, res.metadata.name, info.namespaced ? res.metadata.namespace : undefined);
  let expectedRevision: number | undefined;
  if (rv !== undefined && rv !== null && rv !== '') {
    if (typeof rv !== 'string' && typeof rv !== 'number') {
      throw new TricolorError('ERR_VALIDATION', `${describe(res)}: metadata.resourceVersion: ${quote(rv)} is not a revision`, {
        field: 'metadata.resourceVersion',
        value: rv,
      });
    }
    expectedRevision = parseRevision(String(rv), res);
  }
  return { index, res, info, key, expectedRevision };
}

function single(r: BatchResult): AnyResource {
  const v = r.items[0];
  if (v === undefined) throw new TricolorError('ERR_INTERNAL', 'single write produced no object');
  return v;
}

/** Metadata merge on update (calicoctl replace): server fields from the stored object. */
function merged(res: AnyResource, current: AnyResource | undefined): AnyResource {
  const out = structuredClone(res);
  if (current === undefined) {
    return out;
  }
  if (current.metadata.uid !== undefined) out.metadata.uid = current.metadata.uid;
  if (current.metadata.creationTimestamp !== undefined) out.metadata.creationTimestamp = current.metadata.creationTimestamp;
  delete out.metadata.resourceVersion;
  return out;
}

function isPolicy(res: { apiVersion?: unknown; kind?: unknown }): boolean {
  return res.apiVersion === CALICO_API_VERSION && typeof res.kind === 'string' && POLICY_KINDS.has(res.kind);
}

function policyTier(res: AnyResource): string {
  const spec = res.spec as { tier?: unknown } | undefined;
  return typeof spec?.tier === 'string' && spec.tier !== '' ? spec.tier : 'default';
}

function infoFor(res: AnyResource): KindInfo {
  const info = kindInfoFor(res.apiVersion, res.kind);
  if (info === undefined) {
    throw new TricolorError('ERR_UNKNOWN_KIND', `unknown resource type (${res.kind}) and/or version (${res.apiVersion})`, {
      value: res.kind,
    });
  }
  return info;
}

function kindId(info: KindInfo): string {
  return `${info.apiVersion}/${info.kind}`;
}

function effectiveNamespace(info: KindInfo, namespace: string | undefined): string | undefined {
  if (!info.namespaced) return undefined;
  return namespace === undefined || namespace === '' ? 'default' : namespace;
}

/** Calico's identifier form in messages: `Kind(name)` or `Kind(ns/name)`. */
export function identifier(info: KindInfo, name: string, namespace?: string): string {
  return info.namespaced && namespace !== undefined ? `${info.kind}(${namespace}/${name})` : `${info.kind}(${name})`;
}

function describe(res: AnyResource): string {
  const ns = res.metadata.namespace;
  return `${res.kind} ${quote(ns !== undefined && ns !== '' ? `${ns}/${res.metadata.name}` : res.metadata.name)}`;
}

function notFound(info: KindInfo, name: string, namespace?: string): TricolorError {
  return new TricolorError('ERR_NOT_FOUND', `resource does not exist: ${identifier(info, name, namespace)}`, { value: name });
}

function alreadyExists(info: KindInfo, name: string, namespace?: string): TricolorError {
  return new TricolorError('ERR_ALREADY_EXISTS', `resource already exists: ${identifier(info, name, namespace)}`, { value: name });
}

function conflict(info: KindInfo, name: string, namespace: string | undefined, expected: number, actual: number): TricolorError {
  return new TricolorError(
    'ERR_UPDATE_CONFLICT',
    `update conflict: ${identifier(info, name, namespace)}: resourceVersion ${quote(String(expected))} is out of date (current ${quote(String(actual))})`,
    { field: 'metadata.resourceVersion', value: String(expected) },
  );
}

function relabel(e: unknown, info: KindInfo, name: string, namespace?: string): unknown {
  if (isTricolorError(e, 'ERR_NOT_FOUND')) return notFound(info, name, namespace);
  if (isTricolorError(e, 'ERR_UPDATE_CONFLICT')) {
    const cur = e.detail as KeyValue | undefined;
    return new TricolorError('ERR_UPDATE_CONFLICT', `update conflict: ${identifier(info, name, namespace)}: the resourceVersion is out of date`, {
      detail: cur,
    });
  }
  return e;
}

function parseRevision(rv: string, res?: AnyResource): number {
  if (!/^[0-9]+$/.test(rv) || !Number.isSafeInteger(Number(rv))) {
    const prefix = res === undefined ? '' : `${describe(res)}: `;
    throw new TricolorError('ERR_VALIDATION', `${prefix}metadata.resourceVersion: ${quote(rv)} is not a valid revision`, {
      field: 'metadata.resourceVersion',
      value: rv,
    });
  }
  return Number(rv);
}

function asTricolorError(e: unknown, key?: string): TricolorError {
  if (e instanceof TricolorError) {
    if (key === undefined) return e;
    return new TricolorError(e.code, `${key}: ${e.message}`, { field: e.field ?? '', value: e.value, cause: e });
  }
  if (e instanceof Error && key !== undefined) {
    return new TricolorError('ERR_VALIDATION', `${key}: ${e.message}`, { cause: e });
  }
  throw e;
}

function batchError(failures: readonly BatchFailure[], total: number): TricolorError {
  const first = failures[0];
  if (first === undefined) return new TricolorError('ERR_INTERNAL', 'empty batch failure');
  if (total === 1) return first.error;
  const code: ErrorCode = first.error.code;
  const lines = failures.map((f) => `document ${f.index + 1}: ${f.error.message}`);
  return new TricolorError(code, `${failures.length} of ${total} documents refused, nothing written:\n${lines.join('\n')}`, {
    detail: { failures },
    ...(first.error.field === undefined ? {} : { field: first.error.field }),
  });
}

function minimalObject(info: KindInfo, name: string, namespace: string | undefined): AnyResource {
  return {
    apiVersion: info.apiVersion,
    kind: info.kind,
    metadata: { name, ...(namespace === undefined ? {} : { namespace }) },
  } as AnyResource;
}

function defaultAllowProfile(revision: number): AnyResource {
  return {
    apiVersion: CALICO_API_VERSION,
    kind: 'Profile',
    metadata: { name: DEFAULT_ALLOW_PROFILE, resourceVersion: String(revision) },
    spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] },
  };
}

/** RFC 3339 in UTC without fractional seconds, as Kubernetes metav1.Time marshals. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}


function forbiddenDelete(id: string, why: string): TricolorError {
  return new TricolorError('ERR_FORBIDDEN', why.startsWith('operation ') ? why : `operation delete is not supported on ${id}: ${why}`);
}

/** The failures inside a batch error (empty for any other error). */
export function batchFailures(e: unknown): readonly BatchFailure[] {
  if (!(e instanceof TricolorError)) return [];
  const d = e.detail as { failures?: unknown } | undefined;
  return Array.isArray(d?.failures) ? (d.failures as BatchFailure[]) : [];
}
