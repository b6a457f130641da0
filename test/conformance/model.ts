// The network-policy conformance model, shared by the lab runner (test/conformance/run.ts) and the
// pure policy-engine tests (src/calc/explain-*.test.ts): the upstream Kubernetes e2e cluster shape
// (namespaces x, y, z labelled ns=<name>; pods a, b, c labelled pod=<name>, each serving TCP and
// UDP on 80 and 81), the scenario types (steps of policy and label changes, each with an expected
// truth table) and the expansion of a compact expectation into the full 72-pair table per probe.

export const NAMESPACES = ['x', 'y', 'z'] as const;
export const PODS = ['a', 'b', 'c'] as const;
export const PROTOCOLS = ['tcp', 'udp'] as const;
export const PORTS = [80, 81] as const;

export type Protocol = (typeof PROTOCOLS)[number];

/** One probe matrix: every pod to every other pod on one protocol and port. */
export interface Combo {
  readonly protocol: Protocol;
  readonly port: number;
}

export const COMBOS: readonly Combo[] = PROTOCOLS.flatMap((protocol) => PORTS.map((port) => ({ protocol, port })));

export function comboKey(c: Combo): string {
  return `${c.protocol}/${c.port}`;
}

/** `x/a` for every pod of the model, in a fixed order. */
export const POD_NAMES: readonly string[] = NAMESPACES.flatMap((ns) => PODS.map((p) => `${ns}/${p}`));

/** The service account each pod runs as (so service-account selectors have something to pick). */
export function serviceAccountOf(pod: string): string {
  return `sa-${pod}`;
}

export type Labels = Readonly<Record<string, string>>;

/** A label edit: a value sets the key, null removes it. */
export type LabelEdit = Readonly<Record<string, string | null>>;

// ---- expectations --------------------------------------------------------------------------------

/**
 * `[from, to, connected]`: from/to are `x/a`, `x/*` (every pod of x), `* /a` (pod a of every
 * namespace, written without the space) or `*`.
 */
export type PairRule = readonly [string, string, boolean];

/** A truth table in compact form: a default, then rules applied in order (the last match wins). */
export interface Reach {
  readonly base: boolean;
  readonly rules: readonly PairRule[];
}

export const Y = true;
export const N = false;

export function reach(base: boolean, ...rules: PairRule[]): Reach {
  return { base, rules };
}

/** Everything connects. */
export const ALL: Reach = reach(Y);

/**
 * What a step expects, per probe: keys `tcp/80` (exact), `tcp` (protocol), `80` (port) or `*`;
 * the most specific key that is present decides.
 */
export type Expectation = Readonly<Record<string, Reach>>;

export function patternMatches(pattern: string, pod: string): boolean {
  if (pattern === '*') return true;
  const [pns, pname] = pattern.split('/');
  const [ns, name] = pod.split('/');
  return (pns === '*' || pns === ns) && (pname === '*' || pname === name);
}

export function reachFor(e: Expectation, c: Combo): Reach {
  const r = e[comboKey(c)] ?? e[c.protocol] ?? e[String(c.port)] ?? e['*'];
  if (r === undefined) throw new Error(`expectation has no entry for ${comboKey(c)} (give "*" as the fallback)`);
  return r;
}

export function connectedBy(r: Reach, from: string, to: string): boolean {
  let v = r.base;
  for (const [f, t, c] of r.rules) if (patternMatches(f, from) && patternMatches(t, to)) v = c;
  return v;
}

/** Expected `from -> to` → connected for every ordered pair of distinct pods (self-traffic is never probed). */
export function truthTable(r: Reach): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const from of POD_NAMES) for (const to of POD_NAMES) if (from !== to) out.set(`${from} -> ${to}`, connectedBy(r, from, to));
  return out;
}

// ---- scenarios -----------------------------------------------------------------------------------

/** What a scenario's documents can refer to that only exists once the cluster does. */
export interface ModelEnv {
  /** The IPv4 address of pod `ns/name`. */
  ip(pod: string): string;
  /** The lab's external host (the pure model uses a documentation address). */
  readonly externalIP: string;
}

/** A resource document as `tricolor apply` takes it (apiVersion, kind, metadata, spec). */
export interface Doc {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Labels };
  readonly spec?: unknown;
}

export type Docs = readonly Doc[] | ((env: ModelEnv) => readonly Doc[]);

export type Action =
  /** Create or update (by kind, namespace and name). */
  | { readonly apply: Docs }
  /** Delete resources named like documents (`kind`, `namespace`, `name`). */
  | { readonly remove: readonly DocRef[] }
  | { readonly labelNamespace: string; readonly set: LabelEdit }
  | { readonly labelPod: string; readonly set: LabelEdit };

export interface DocRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

/** A single probe outside the pod matrix (to the external host or an address). */
export interface ExtraProbe {
  readonly from: string;
  /** `external`, a pod (`x/a`) or an IPv4 address. */
  readonly to: string;
  readonly protocol: Protocol;
  readonly port: number;
  readonly connected: boolean;
}

export interface Step {
  readonly what: string;
  readonly actions: readonly Action[];
  readonly expect: Expectation;
  readonly extra?: readonly ExtraProbe[];
}

export interface Scenario {
  readonly name: string;
  /** Where it comes from: the upstream e2e test it restates, or the Calico feature. */
  readonly source: 'k8s' | 'calico';
  readonly steps: readonly Step[];
}

export function refOf(d: Doc): DocRef {
  return { apiVersion: d.apiVersion, kind: d.kind, name: d.metadata.name, ...(d.metadata.namespace === undefined ? {} : { namespace: d.metadata.namespace }) };
}

export function refKey(r: DocRef): string {
  return `${r.kind}/${r.namespace ?? ''}/${r.name}`;
}

export function docsOf(d: Docs, env: ModelEnv): readonly Doc[] {
  return typeof d === 'function' ? d(env) : d;
}

/** `a.b.c.d/len` with the host bits cleared (a valid CIDR for any validator). */
export function cidrOf(ip: string, len: number): string {
  const n = ip.split('.').reduce((acc, o) => (acc << 8) + Number(o), 0) >>> 0;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  const net = (n & mask) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.')}/${len}`;
}

// ---- the world a scenario changes ----------------------------------------------------------------

/**
 * The model's mutable state: namespace and pod labels and the resources scenarios created or
 * changed. Both runners keep one: the lab runner to know what to undo between scenarios, the
 * pure runner to build the policy engine's input.
 */
export class World {
  readonly nsLabels = new Map<string, Record<string, string>>();
  readonly podLabels = new Map<string, Record<string, string>>();
  /** Resources applied by scenarios, by refKey. */
  readonly docs = new Map<string, Doc>();
  /** The model's own resources that scenarios may overwrite (service accounts), by refKey. */
  readonly base = new Map<string, Doc>();

  constructor() {
    for (const ns of NAMESPACES) {
      this.nsLabels.set(ns, baseNamespaceLabels(ns));
      for (const p of PODS) {
        this.podLabels.set(`${ns}/${p}`, basePodLabels(p));
        const sa = serviceAccountDoc(ns, serviceAccountOf(p), {});
        this.base.set(refKey(refOf(sa)), sa);
      }
    }
  }

  /** Record an action's effect (documents already resolved against the env). */
  record(action: Action, env: ModelEnv): void {
    if ('apply' in action) {
      for (const d of docsOf(action.apply, env)) this.docs.set(refKey(refOf(d)), d);
    } else if ('remove' in action) {
      for (const r of action.remove) this.docs.delete(refKey(r));
    } else if ('labelNamespace' in action) {
      this.nsLabels.set(action.labelNamespace, applyEdit(this.nsLabels.get(action.labelNamespace) ?? {}, action.set));
    } else {
      this.podLabels.set(action.labelPod, applyEdit(this.podLabels.get(action.labelPod) ?? {}, action.set));
    }
  }

  /** The documents in force: base service accounts unless a scenario replaced them, then the rest. */
  resources(): Doc[] {
    const out: Doc[] = [];
    for (const [k, d] of this.base) if (!this.docs.has(k)) out.push(d);
    out.push(...this.docs.values());
    return out;
  }
}

export function baseNamespaceLabels(ns: string): Record<string, string> {
  return { ns };
}

export function basePodLabels(pod: string): Record<string, string> {
  return { pod };
}

export function applyEdit(labels: Readonly<Record<string, string>>, edit: LabelEdit): Record<string, string> {
  const out = { ...labels };
  for (const [k, v] of Object.entries(edit)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** The edit that turns `from` into `to`. */
export function labelDiff(from: Readonly<Record<string, string>>, to: Readonly<Record<string, string>>): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const k of Object.keys(from)) if (!(k in to)) out[k] = null;
  for (const [k, v] of Object.entries(to)) if (from[k] !== v) out[k] = v;
  return out;
}

// ---- document builders ---------------------------------------------------------------------------

export function serviceAccountDoc(ns: string, name: string, labels: Labels): Doc {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns, labels } };
}

/** A Kubernetes NetworkPolicy. */
export function knp(ns: string, name: string, spec: Record<string, unknown>): Doc {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec };
}

/** A Calico (namespaced) NetworkPolicy. */
export function cnp(ns: string, name: string, spec: Record<string, unknown>): Doc {
  return { apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec };
}

export function gnp(name: string, spec: Record<string, unknown>, kind = 'GlobalNetworkPolicy'): Doc {
  return { apiVersion: 'projectcalico.org/v3', kind, metadata: { name }, spec };
}

export function tierDoc(name: string, order: number, defaultAction: 'Deny' | 'Pass' = 'Deny'): Doc {
  return { apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name }, spec: { order, defaultAction } };
}

export function gnsDoc(name: string, nets: readonly string[], labels: Labels): Doc {
  return { apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkSet', metadata: { name, labels }, spec: { nets } };
}

export function nsetDoc(ns: string, name: string, nets: readonly string[], labels: Labels): Doc {
  return { apiVersion: 'projectcalico.org/v3', kind: 'NetworkSet', metadata: { name, namespace: ns, labels }, spec: { nets } };
}
