// Rule IR → interpreter ops for the eBPF dataplane (docs/design/bpf.md "Policy as data").
// A policy (or profile) direction compiles to a *block* that ends in RET; an endpoint direction
// compiles to a small *program* that CALLs the blocks tier by tier, exactly in the order and with
// the verdicts of the nftables endpoint chains (docs/design/dataplane.md "Verdict encoding"):
// Allow/Deny end the walk, Pass leaves the tier, Log counts and continues, a tier whose policies
// gave no verdict ends in Deny (unless its default action is Pass), profiles follow, then Deny.
//
// Every test op has an `ok` and a `fail` target, so AND, OR and NOT are all just wiring: the
// terms of a rule are chained on `ok`, a term's failure jumps to the next rule; an OR (a CIDR
// list, a port list with named ports) tries alternatives on `fail`; a negated term swaps them.
// Targets are relative while compiling and made absolute by `place()` once a region is chosen.

import type { EntityMatch, RuleIR, TierInfo } from '../../calc/index.ts';
import { OP, cidrWords } from './encoding.ts';
import type { RuleOp } from './encoding.ts';

/** A relative op: targets are indexes into the same block; `END` = one past the last op. */
export interface RelOp {
  readonly code: number;
  readonly ok: number;
  readonly fail: number;
  readonly a: number;
  readonly b: number;
}

/** Resolves ids to the numbers the program uses; undefined = not programmed (empty / absent). */
export interface CompileContext {
  setId(ipSetId: string): number | undefined;
}

const isV4 = (cidr: string): boolean => !cidr.includes(':');

class BlockBuilder {
  readonly ops: { code: number; ok: number | Label; fail: number | Label; a: number; b: number }[] = [];
  private labels: number[] = [];

  label(): Label {
    this.labels.push(-1);
    return { label: this.labels.length - 1 };
  }
  bind(l: Label): void {
    this.labels[l.label] = this.ops.length;
  }
  get here(): number {
    return this.ops.length;
  }
  emit(code: number, ok: number | Label, fail: number | Label, a = 0, b = 0): void {
    this.ops.push({ code, ok, fail, a, b });
  }
  resolve(): RelOp[] {
    const r = (t: number | Label): number => (typeof t === 'number' ? t : (this.labels[t.label] ?? -1));
    return this.ops.map((o) => ({ code: o.code, ok: r(o.ok), fail: r(o.fail), a: o.a, b: o.b }));
  }
}

interface Label {
  readonly label: number;
}

/** The op index right after the one being emitted (a term's success continues there). */
const NEXT = (bb: BlockBuilder): number => bb.here + 1;

/** Emit an OR of alternatives: each is [code, a, b]; on any match go to `next op after group`. */
function orGroup(bb: BlockBuilder, alts: readonly (readonly [number, number, number])[], failTo: Label, negate: boolean): void {
  if (alts.length === 0) return;
  const after = bb.label();
  alts.forEach(([code, a, b], i) => {
    const last = i === alts.length - 1;
    if (!negate) bb.emit(code, after, last ? failTo : NEXT(bb), a, b);
    else bb.emit(code, failTo, last ? after : NEXT(bb), a, b);
  });
  bb.bind(after);
}

function side(bb: BlockBuilder, e: EntityMatch, src: boolean, ctx: CompileContext, failTo: Label): boolean {
  const NET = src ? OP.SRC_NET : OP.DST_NET;
  const SET = src ? OP.SRC_SET : OP.DST_SET;
  const PORT = src ? OP.SRC_PORT : OP.DST_PORT;
  const NAMED = src ? OP.SRC_NAMED : OP.DST_NAMED;
  if (e.nets.length > 0) {
    const v4 = e.nets.filter(isV4);
    if (v4.length === 0) return false; // only IPv6 CIDRs: never matches an IPv4 packet
    orGroup(
      bb,
      v4.map((n) => {
        const w = cidrWords(n);
        return [NET, w.net, w.mask] as const;
      }),
      failTo,
      false,
    );
  }
  for (const n of e.notNets.filter(isV4)) {
    const w = cidrWords(n);
    orGroup(bb, [[NET, w.net, w.mask]], failTo, true);
  }
  for (const id of e.ipSetIds) {
    const s = ctx.setId(id);
    if (s === undefined) return false; // an empty / unknown set never matches
    orGroup(bb, [[SET, s, 0]], failTo, false);
  }
  for (const id of e.notIpSetIds) {
    const s = ctx.setId(id);
    if (s !== undefined) orGroup(bb, [[SET, s, 0]], failTo, true);
  }
  const portAlts: (readonly [number, number, number])[] = e.ports.map((p) => [PORT, p.min, p.max] as const);
  for (const id of e.namedPortIpSetIds) {
    const s = ctx.setId(id);
    if (s !== undefined) portAlts.push([NAMED, s, 0]);
  }
  if (e.ports.length + e.namedPortIpSetIds.length > 0) {
    if (portAlts.length === 0) return false; // only named ports, none programmed
    orGroup(bb, portAlts, failTo, false);
  }
  const notPortAlts: (readonly [number, number, number])[] = e.notPorts.map((p) => [PORT, p.min, p.max] as const);
  for (const id of e.notNamedPortIpSetIds) {
    const s = ctx.setId(id);
    if (s !== undefined) notPortAlts.push([NAMED, s, 0]);
  }
  orGroup(bb, notPortAlts, failTo, true);
  return true;
}

/** Compile one rule into `bb`; a rule that can never match an IPv4 packet emits nothing. */
function compileRule(bb: BlockBuilder, rule: RuleIR, ctx: CompileContext): void {
  if (rule.unsupported || rule.ipVersion === 6 || rule.protocol === 58) return;
  const start = bb.here;
  const nextRule = bb.label();
  if (rule.protocol !== undefined) orGroup(bb, [[OP.PROTO, rule.protocol, 0]], nextRule, false);
  if (rule.notProtocol !== undefined) orGroup(bb, [[OP.PROTO, rule.notProtocol, 0]], nextRule, true);
  if (rule.icmp !== undefined) orGroup(bb, [[OP.ICMP, rule.icmp.type, rule.icmp.code ?? 0xffff]], nextRule, false);
  if (rule.notICMP !== undefined) {
    // As nft's `icmp type != N`: the match itself requires an ICMP packet.
    orGroup(bb, [[OP.PROTO, 1, 0]], nextRule, false);
    orGroup(bb, [[OP.ICMP, rule.notICMP.type, rule.notICMP.code ?? 0xffff]], nextRule, true);
  }
  const ok = side(bb, rule.source, true, ctx, nextRule) && side(bb, rule.destination, false, ctx, nextRule);
  if (!ok) {
    bb.ops.length = start; // drop the partial rule: it can never match
    bb.bind(nextRule);
    return;
  }
  switch (rule.action) {
    case 'allow':
      bb.emit(OP.ALLOW, 0, 0);
      break;
    case 'deny':
      bb.emit(OP.DENY, 0, 0);
      break;
    case 'pass':
      bb.emit(OP.PASS, 0, 0);
      break;
    case 'log':
      bb.emit(OP.LOG, NEXT(bb), NEXT(bb));
      break;
  }
  bb.bind(nextRule);
}

/** A policy or profile direction → a block ending in RET. */
export function compileBlock(rules: readonly RuleIR[], ctx: CompileContext): RelOp[] {
  const bb = new BlockBuilder();
  for (const r of rules) compileRule(bb, r, ctx);
  bb.emit(OP.RET, 0, 0);
  return bb.resolve();
}

/** How an endpoint program refers to blocks; undefined = not programmed. */
export interface EndpointContext {
  policySlot(key: string, dir: 'in' | 'out'): number | undefined;
  profileSlot(name: string, dir: 'in' | 'out'): number | undefined;
}

/**
 * A workload endpoint direction → its program: per tier with policies this way, CALL each
 * policy (a Pass jumps past the tier's end), then the end-of-tier deny; profiles; final deny.
 */
export function compileEndpoint(tiers: readonly TierInfo[], profileIds: readonly string[], dir: 'in' | 'out', ctx: EndpointContext): RelOp[] {
  const bb = new BlockBuilder();
  for (const t of tiers) {
    const keys = dir === 'in' ? t.ingressPolicies : t.egressPolicies;
    if (keys.length === 0) continue;
    const afterTier = bb.label();
    for (const k of keys) {
      const slot = ctx.policySlot(k, dir);
      // Fail closed: an endpoint naming a policy we do not hold gets nothing through this tier.
      if (slot === undefined) bb.emit(OP.DENY, 0, 0);
      else bb.emit(OP.CALL, NEXT(bb), afterTier, slot);
    }
    if (t.defaultAction === 'Deny') bb.emit(OP.DENY, 0, 0);
    bb.bind(afterTier);
  }
  for (const p of profileIds) {
    const slot = ctx.profileSlot(p, dir);
    if (slot !== undefined) bb.emit(OP.CALL, NEXT(bb), NEXT(bb), slot);
  }
  bb.emit(OP.DENY, 0, 0);
  return bb.resolve();
}

/** Make a compiled block absolute at rule index `base`. */
export function place(ops: readonly RelOp[], base: number): RuleOp[] {
  return ops.map((o) => ({ code: o.code, ok: o.ok + base, fail: o.fail + base, a: o.a, b: o.b, c: 0 }));
}
