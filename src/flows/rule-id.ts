// Rule identity ↔ verdict-log prefix, in the grammar of Calico's NFLOG prefixes (observability
// contract §1.2) so what Felix users know carries over:
//
//   <A><O><D><index>|<id>   a rule: A = A(llow)/D(eny)/P(ass), O = P(olicy)/R(profile),
//                           D = I(ngress)/E(gress), id = <kind-short>/<ns>/<name> or
//                           <kind-short>/<name> (global) or the profile name
//   DPI|<tier>  DPE|<tier>  end of tier (deny); PPI|<tier> / PPE|<tier> when every policy in the
//                           tier is staged and the tier passes
//   DRI  DRE                no profile matched (the final default deny)
//
// The tier is not in the prefix (as in Felix): the reader resolves it through a lookup built from
// the same policies the dataplane was rendered from. Prefixes longer than 63 characters keep their
// first and last 10 characters with a hash between them, exactly 63 long, as Felix does, so a
// user-chosen name can never forge another rule's (hashed) prefix.

import { createHash } from 'node:crypto';
import type { FlowAction, HitKind, PolicyHit } from './flow.ts';

export const MAX_PREFIX_LENGTH = 63;

/** NFLOG groups: 1 = inbound (ingress rules, reporter dst), 2 = outbound (egress, reporter src). */
export const NFLOG_GROUP_INGRESS = 1;
export const NFLOG_GROUP_EGRESS = 2;

export type Direction = 'ingress' | 'egress';

export type RuleIdentity =
  | {
      readonly owner: 'policy';
      readonly action: FlowAction;
      readonly direction: Direction;
      readonly index: number;
      readonly kind: HitKind;
      readonly namespace: string;
      readonly name: string;
      /** Known from the lookup only (not encoded). */
      readonly tier?: string;
    }
  | { readonly owner: 'profile'; readonly action: FlowAction; readonly direction: Direction; readonly index: number; readonly name: string }
  | { readonly owner: 'end-of-tier'; readonly action: 'deny' | 'pass'; readonly direction: Direction; readonly tier: string }
  | { readonly owner: 'no-profile'; readonly action: 'deny'; readonly direction: Direction };

const KIND_SHORT: Readonly<Record<string, string>> = {
  NetworkPolicy: 'np',
  GlobalNetworkPolicy: 'gnp',
  StagedNetworkPolicy: 'snp',
  StagedGlobalNetworkPolicy: 'sgnp',
  StagedKubernetesNetworkPolicy: 'sknp',
  KubernetesNetworkPolicy: 'knp',
  KubernetesClusterNetworkPolicy: 'kcnp',
};
const SHORT_KIND = new Map<string, HitKind>(Object.entries(KIND_SHORT).map(([k, s]) => [s, k as HitKind]));
const GLOBAL_KINDS = new Set(['GlobalNetworkPolicy', 'StagedGlobalNetworkPolicy', 'KubernetesClusterNetworkPolicy']);

const ACTION_CHAR: Readonly<Record<FlowAction, string>> = { allow: 'A', deny: 'D', pass: 'P' };
const CHAR_ACTION: Readonly<Record<string, FlowAction>> = { A: 'allow', D: 'deny', P: 'pass' };
const DIR_CHAR: Readonly<Record<Direction, string>> = { ingress: 'I', egress: 'E' };
const CHAR_DIR: Readonly<Record<string, Direction>> = { I: 'ingress', E: 'egress' };

export function kindShortName(kind: string): string | undefined {
  return KIND_SHORT[kind];
}

/** The NFLOG group a rule of this direction logs to. */
export function nflogGroup(direction: Direction): number {
  return direction === 'ingress' ? NFLOG_GROUP_INGRESS : NFLOG_GROUP_EGRESS;
}

function capPrefix(p: string): string {
  // Hash at exactly 63 too (as Felix does): every 63-character prefix is a hashed one.
  if (p.length < MAX_PREFIX_LENGTH) return p;
  const hash = createHash('sha256').update(p).digest('base64url'); // 43 characters
  return `${p.slice(0, 10)}${hash}${p.slice(-10)}`;
}

/** The prefix text for a rule identity (at most 63 characters). */
export function encodeRuleId(id: RuleIdentity): string {
  const d = DIR_CHAR[id.direction];
  switch (id.owner) {
    case 'policy': {
      const short = KIND_SHORT[id.kind];
      if (short === undefined) throw new Error(`rule-id: kind ${JSON.stringify(id.kind)} has no short name`);
      const ref = GLOBAL_KINDS.has(id.kind) || id.namespace === '' ? `${short}/${id.name}` : `${short}/${id.namespace}/${id.name}`;
      return capPrefix(`${ACTION_CHAR[id.action]}P${d}${id.index}|${ref}`);
    }
    case 'profile':
      return capPrefix(`${ACTION_CHAR[id.action]}R${d}${id.index}|${id.name}`);
    case 'end-of-tier':
      return capPrefix(`${ACTION_CHAR[id.action]}P${d}|${id.tier}`);
    case 'no-profile':
      return `DR${d}`;
  }
}

const RULE_RE = /^([ADP])([PR])([IE])(\d+)\|(.+)$/;
const EOT_RE = /^([DP])P([IE])\|(.+)$/;
const NOPROF_RE = /^DR([IE])$/;

/**
 * Decode a prefix without a lookup. Undefined for hashed or malformed prefixes (those need the
 * lookup) — a parse never guesses.
 */
export function tryDecodeRuleId(prefix: string): RuleIdentity | undefined {
  let m = NOPROF_RE.exec(prefix);
  if (m !== null) return { owner: 'no-profile', action: 'deny', direction: CHAR_DIR[m[1] ?? ''] ?? 'ingress' };
  if (prefix.length >= MAX_PREFIX_LENGTH) return undefined;
  m = RULE_RE.exec(prefix);
  if (m !== null) {
    const action = CHAR_ACTION[m[1] ?? ''];
    const direction = CHAR_DIR[m[3] ?? ''];
    const index = Number(m[4]);
    const ref = m[5] ?? '';
    if (action === undefined || direction === undefined) return undefined;
    if (m[2] === 'R') return { owner: 'profile', action, direction, index, name: ref };
    const parts = ref.split('/');
    const kind = SHORT_KIND.get(parts[0] ?? '');
    if (kind === undefined) return undefined;
    if (parts.length === 2) return { owner: 'policy', action, direction, index, kind, namespace: '', name: parts[1] ?? '' };
    if (parts.length === 3) return { owner: 'policy', action, direction, index, kind, namespace: parts[1] ?? '', name: parts[2] ?? '' };
    return undefined;
  }
  m = EOT_RE.exec(prefix);
  if (m !== null) {
    const direction = CHAR_DIR[m[2] ?? ''];
    if (direction === undefined) return undefined;
    return { owner: 'end-of-tier', action: m[1] === 'P' ? 'pass' : 'deny', direction, tier: m[3] ?? '' };
  }
  return undefined;
}

/**
 * Prefix → identity with the tier filled in: the equivalent of Felix's PolicyLookupsCache. Built
 * from the identities the dataplane rendered; rebuilt when policies change.
 */
export class RuleIdLookup {
  private readonly byPrefix = new Map<string, RuleIdentity>();

  /** Register an identity; returns its prefix. */
  add(id: RuleIdentity): string {
    const p = encodeRuleId(id);
    this.byPrefix.set(p, id);
    return p;
  }

  resolve(prefix: string): RuleIdentity | undefined {
    return this.byPrefix.get(prefix) ?? tryDecodeRuleId(prefix);
  }

  get size(): number {
    return this.byPrefix.size;
  }
}

/**
 * The hit of one logged verdict, for the enforced trace. `policyIndex` is the position of the
 * hit in the trace (Felix numbers the enforced policies an endpoint evaluated; the log only tells
 * us the ones that decided something, so the trace position is what we can know).
 */
export function hitOf(id: RuleIdentity, policyIndex: number, trigger?: PolicyHit['trigger']): PolicyHit {
  switch (id.owner) {
    case 'policy':
      return { kind: id.kind, namespace: id.namespace, name: id.name, tier: id.tier ?? 'default', action: id.action, policyIndex, ruleIndex: id.index };
    case 'profile':
      return { kind: 'Profile', namespace: '', name: id.name, tier: '__PROFILE__', action: id.action, policyIndex, ruleIndex: id.index };
    case 'end-of-tier':
      return {
        kind: 'EndOfTier',
        namespace: '',
        name: '__NO_MATCH__',
        tier: id.tier,
        action: id.action,
        policyIndex,
        ruleIndex: -1,
        ...(trigger === undefined ? {} : { trigger }),
      };
    case 'no-profile':
      return { kind: 'Profile', namespace: '', name: '__NO_MATCH__', tier: '__PROFILE__', action: 'deny', policyIndex, ruleIndex: -1 };
  }
}
